"""Shared helpers for the instructor tooling: the course root, nbgrader subprocesses, notebooks."""

from __future__ import annotations

import copy
import logging
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import nbformat

BIN = Path(sys.executable).parent
HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
MARK_SCHEME = re.compile(r"=== BEGIN MARK SCHEME ===.*?=== END MARK SCHEME ===\n?", re.S)
SOLUTION = re.compile(r"### BEGIN SOLUTION.*?### END SOLUTION\n?", re.S)


class CourseError(Exception):
    """An error the instructor can act on; the message is Norwegian and says what to do."""


def find_root(start: Path | None = None) -> Path:
    """The course root: the nearest folder (from ``start`` upwards) holding nbgrader_config.py and solutions/."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir():
            return folder
    raise CourseError(
        f"Fant ikke kursmappen fra {here}: Ingen mappe over den har både nbgrader_config.py og solutions/. "
        "Gå til kursmappen, eller oppgi den med --kurs."
    )


def assignments(root: Path) -> list[str]:
    """The exercise ids: every solutions/oppgave_* folder that holds a notebook of the same name."""
    return sorted(p.name for p in (root / "solutions").glob("oppgave_*") if (p / f"{p.name}.ipynb").is_file())


def check_assignment(root: Path, assignment: str) -> None:
    if assignment not in assignments(root):
        known = ", ".join(assignments(root)) or "ingen"
        raise CourseError(f"Oppgaven «{assignment}» finnes ikke i solutions/. Kjente oppgaver: {known}.")


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader subprocesses: this environment's bin/ first (nbgrader calls alembic)."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "JUPYTER_PLATFORM_DIRS": "1",
    }


def nbgrader(root: Path, *args: str, timeout: float | None = 900, in_process: bool = False) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course root; never raises on a non-zero exit (the caller decides).

    ``in_process`` runs it in this process (no timeout; all output in ``stdout``):
    for commands that run no student code, such as generating and validating
    the course's own notebooks, collecting, and writing feedback.
    """
    if in_process:
        return nbgrader_in_process(list(args), root, nbgrader_env())
    return subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=root,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def nbgrader_in_process(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in this process, with its own folder and environment for the time it runs.

    Written here because nbgrader has no public call for it (its own tests use
    ``nbgrader.tests.run_nbgrader``), and a new process costs about two seconds
    of imports per command: `course check` runs three commands per exercise.

    Follows ``nbgrader.tests.run_nbgrader``: the application is a singleton, so
    it is reset afterwards (logging, sub-applications, the instance), and the
    working folder and environment are restored even when the command fails.
    """
    import contextlib
    import io
    import traceback

    from jupyter_core.application import NoStart

    from nbgrader.apps import NbGraderApp
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.validator import Validator

    old_env, old_cwd = dict(os.environ), os.getcwd()
    out = io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    app = NbGraderApp.instance()
    code: int | str | None = 0
    old_stream = Validator.stream
    Validator.stream = out
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            app.initialize(args)
            app.start()
    except NoStart:  # how a sub-command says it has finished
        code = 0
    except SystemExit as exit:
        code = exit.code
    except Exception:  # a crash: report it like a failed command, with the traceback
        out.write(traceback.format_exc())
        code = 1
    finally:
        Validator.stream = old_stream
        app.reset()
        NbGrader.clear_instance()
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(["nbgrader", *args], returncode, out.getvalue(), "")


def last_error(proc: subprocess.CompletedProcess) -> str:
    """The most telling line of a failed nbgrader run (its last ERROR line, or its last line)."""
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return (errors or lines or ["(ingen utdata)"])[-1][:300]


def nbgrader_config(root: Path):
    """The configuration an nbgrader command run in the course folder ``root`` uses (a traitlets ``Config``).

    Loaded by nbgrader's own application code (``nbgrader.apps.baseapp.NbGrader``):
    ``nbgrader_config.py`` from Jupyter's config path (the environment's
    ``<env>/etc/jupyter``, which the class server installs, the user's and the
    system's folders), then the course folder's ``nbgrader_config.py`` on top,
    in nbgrader's order and with nbgrader's environment (see ``nbgrader_env``).
    """
    from nbgrader.apps.baseapp import NbGrader

    class _ConfigOnly(NbGrader):
        load_cwd_config = False  # the course folder is loaded as nbgrader's root instead

        def init_syspath(self) -> None:  # nbgrader puts the working folder on sys.path; not needed here
            pass

    saved = os.environ.get("JUPYTER_PLATFORM_DIRS")
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"  # as in nbgrader_env(): the folders nbgrader's own runs search
    try:
        app = _ConfigOnly(log_level=logging.ERROR)
        app.initialize([], root=str(Path(root).resolve()))
    finally:
        if saved is None:
            os.environ.pop("JUPYTER_PLATFORM_DIRS", None)
        else:
            os.environ["JUPYTER_PLATFORM_DIRS"] = saved
    # The course directory's own traits (root, db_url's default) are resolved as nbgrader resolves them.
    config = copy.deepcopy(app.config)
    config.CourseDirectory.db_url = app.coursedir.db_url
    config.CourseDirectory.course_id = app.coursedir.course_id
    config.CourseDirectory.root = app.coursedir.root
    return config


def gradebook_url(root: Path, config=None) -> str:
    """The gradebook's database URL that nbgrader itself uses for the course folder ``root``.

    nbgrader's ``CourseDirectory.db_url``, from the same configuration files
    nbgrader reads (see ``nbgrader_config``; pass ``config`` when it is loaded
    already); when none sets it, ``sqlite:///<root>/gradebook.db``. On the
    class server the course's nbgrader_config.py takes it from
    ``NBGRADER_DB_URL`` (PostgreSQL). Every gradebook the course's tools open
    is found here.
    """
    return (config or nbgrader_config(root)).CourseDirectory.db_url


def shown_url(url: str) -> str:
    """The database URL for messages, with any password hidden."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return url
    return url if parsed.password is None else parsed.render_as_string(hide_password=True)


def gradebook_error(url: str, error: BaseException) -> CourseError:
    """A Norwegian message for a gradebook database that cannot be used: what to check, no traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, OperationalError

    try:
        backend = make_url(url).get_backend_name()
    except Exception:
        backend = ""
    if not backend or isinstance(error, ArgumentError):
        return CourseError(
            f"Adressen til karakterdatabasen er ugyldig ({url}): Sjekk CourseDirectory.db_url i nbgrader_config.py "
            "og miljøvariabelen NBGRADER_DB_URL (for eksempel sqlite:////sti/til/gradebook.db eller "
            "postgresql+psycopg2://@/gradebook?host=/run/postgresql)."
        )
    if isinstance(error, ModuleNotFoundError):
        hint = ("Bruk driveren psycopg2, som kurset installerer: en adresse som begynner med postgresql+psycopg2://."
                if backend == "postgresql" else "Bruk SQLite eller PostgreSQL (postgresql+psycopg2://).")
        return CourseError(
            f"Kan ikke koble til karakterdatabasen ({shown_url(url)}): Databasedriveren {error.name} er ikke "
            f"installert i dette Python-miljøet. {hint}"
        )
    if backend == "sqlite":
        check = "Sjekk at mappen finnes, og at kontoen din kan lese og skrive der."
    elif backend == "postgresql":
        check = ("Sjekk at PostgreSQL kjører, og at kontoen din har tilgang: en rolle med samme navn som kontoen "
                 "og en database med navnet i adressen (se deploy/setup-gradebook.sh).")
    else:
        check = "Sjekk at databasetjeneren kjører, og at kontoen din har tilgang."
    lead = "Fant ikke karakterdatabasen" if isinstance(error, OperationalError) else "Karakterdatabasen svarte med en feil"
    detail = [line.strip() for line in str(getattr(error, "orig", None) or error).splitlines() if line.strip()]
    reason = f" (Feilmelding fra databasen: {detail[0][:300]})" if detail else ""
    return CourseError(f"{lead} ({shown_url(url)}): {check}{reason}")


def new_gradebook(url: str, course_id: str):
    """nbgrader's ``Gradebook(url, course_id)``, with this environment's bin/ on PATH while it opens.

    nbgrader runs the ``alembic`` command when it creates the tables of a new
    database (an empty PostgreSQL database, a new SQLite file), and finds it on PATH.
    """
    from nbgrader.api import Gradebook

    saved = os.environ.get("PATH")
    os.environ["PATH"] = nbgrader_env()["PATH"]
    try:
        return Gradebook(url, course_id)
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved


@contextmanager
def open_gradebook(root: Path, url: str | None = None) -> Iterator:
    """nbgrader's ``Gradebook`` for the course in ``root``, at ``url`` (default: ``gradebook_url(root)``).

    A database that cannot be reached, at the start or while in use, ends in a
    :class:`CourseError` that says in Norwegian what to check.
    """
    import warnings

    from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SAWarning

    config = nbgrader_config(root)
    url = url or gradebook_url(root, config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # SQLAlchemy's warnings about nbgrader's own models
        try:
            gb = new_gradebook(url, config.CourseDirectory.course_id)
        except (DBAPIError, ArgumentError, ModuleNotFoundError) as error:
            raise gradebook_error(url, error) from None
        try:
            yield gb
        except OperationalError as error:  # the connection was lost on the way
            raise gradebook_error(url, error) from None
        finally:
            gb.close()


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def submitted_notebook(root: Path, assignment: str, student: str) -> Path:
    return root / "submitted" / student / assignment / f"{assignment}.ipynb"
