"""Autograde a batch of submissions: sandboxed, bounded, in parallel, with one writer to the gradebook.

``autograde_submissions`` is what ``course grade`` calls. For every student it
ends with nbgrader's autograded notebook and grades in the gradebook, or with an
:class:`Outcome` that says in Norwegian why not ("failed") or what a human
should look at ("review"). One student's submission never stops the batch or
touches another student's result.

How a batch runs:

1. **Check** (main process): each submission is read and copied into a private
   staging folder. Unreadable notebooks (empty, not UTF-8, not JSON) and missing
   or renamed ones end here as "failed", before any kernel starts. Duplicated
   cell ids are repaired, symbolic links are left out (nbgrader would copy the
   file they point to, say a solution, into the student's folder), and locked
   cells that differ from the released exercise, and code that tampers with the
   kernel's error reporting, are noted for review.
2. **Execute** (``workers`` processes in parallel): nbgrader's own ``Autograde``
   converter runs on the staged copy with :class:`~course.instructor.sandbox.SandboxedExecute`
   (bubblewrap, memory and time caps, output bytes capped). Each worker works on
   its own SQLite copy of what nbgrader reads from the gradebook while grading:
   the assignment, its notebooks and their cells (the locked cells and tests to
   restore), and the students of the batch. The main process builds that copy
   from the real gradebook (SQLite or PostgreSQL, wherever nbgrader's
   ``CourseDirectory.db_url`` points) with nbgrader's Gradebook API before the
   workers start; whatever a worker writes there is thrown away.
3. **Record** (main process, one student at a time): nbgrader's ``Autograde``
   runs again on the executed notebook without a kernel, only its gradebook
   preprocessors (``SaveAutoGrades``, ``AssignLatePenalties``), into the real
   gradebook and ``autograded/``. A single process writes the gradebook, so no
   row is lost or written twice, and nbgrader's own code decides every score.

A gradebook that cannot be reached stops the batch before any kernel starts,
with a Norwegian :class:`~course.instructor.common.CourseError` saying what to
check.
"""

from __future__ import annotations

import copy
import io
import logging
import json
import multiprocessing
import os
import re
import shutil
import tempfile
import time
import traceback
import uuid
import warnings
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from course.instructor import sandbox
from course.instructor.malform import released_version, submitted_version
from course.malform import nynorsk_file, set_malform
from course.instructor.common import gradebook_url, nbgrader_config, new_gradebook, open_gradebook

CELL_TIMEOUT = 30  # seconds per cell, as in nbgrader_config.py
STALL_MARGIN = 120  # seconds beyond the notebook cap before a silent worker counts as hung


@dataclass
class Outcome:
    """How one student's submission ended."""

    student: str
    status: str  # "ok" | "review" | "failed"
    reason: str = ""  # Norwegian, empty when ok
    score: float | None = None
    max_score: float | None = None
    notes: list[str] = field(default_factory=list, repr=False)  # every reason, when there are several
    log: str = field(default="", repr=False)  # nbgrader's log for this student, for the instructor


# Names that only code meddling with the kernel's error reporting needs. A hit does
# not change the score; it asks a human to look.
SUSPICIOUS = re.compile(
    r"showtraceback|_showtraceback|excepthook|set_custom_exc|run_cell|InteractiveShell|get_ipython|"
    r"__builtins__|import\s+builtins|sys\.modules|ctypes|signal\.|os\._exit|os\.kill|sys\.exit"
)


def _worker_gradebook(main, path: Path, assignment: str, students: list[str]) -> None:
    """Build the workers' SQLite gradebook at ``path`` from the main gradebook ``main`` (any backend).

    Only what nbgrader's ``Autograde`` reads while executing a submission is
    copied, with nbgrader's Gradebook API: the assignment (with its due date),
    its notebooks (with their kernelspecs), each notebook's grade, solution,
    task and source cells, and the students of the batch.
    """
    source = main.find_assignment(assignment)
    with new_gradebook(f"sqlite:///{path}", main.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's SAWarnings from inside nbgrader's gradebook
        gb.add_assignment(source.name, duedate=source.duedate)
        for nb in source.notebooks:
            gb.add_notebook(nb.name, source.name, kernelspec=nb.kernelspec)
            for cell in nb.source_cells:
                gb.add_source_cell(cell.name, nb.name, source.name, cell_type=cell.cell_type, locked=cell.locked,
                                   source=cell.source, checksum=cell.checksum)
            for cell in nb.grade_cells:
                gb.add_grade_cell(cell.name, nb.name, source.name, max_score=cell.max_score, cell_type=cell.cell_type)
            for cell in nb.solution_cells:
                gb.add_solution_cell(cell.name, nb.name, source.name)
            for cell in nb.task_cells:
                gb.add_task_cell(cell.name, nb.name, source.name, max_score=cell.max_score, cell_type=cell.cell_type)
        for student in students:
            known = main.find_student(student)
            gb.add_student(student, first_name=known.first_name, last_name=known.last_name, email=known.email,
                           lms_user_id=known.lms_user_id)


# ---------------------------------------------------------------------------
# 1. Check and stage (main process)


def _read_notebook(path: Path):
    """The notebook at ``path``, or a Norwegian reason why it cannot be read."""
    import nbformat

    raw = path.read_bytes()
    if not raw.strip():
        return None, "uleselig notatbok: filen er tom"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "uleselig notatbok: filen er ikke UTF-8-tekst"
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None, "uleselig notatbok: filen er ikke gyldig JSON"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns about (and repairs) duplicated cell ids
            nb = nbformat.reads(text, as_version=4)
        if not isinstance(data, dict) or not isinstance(nb.get("cells"), list):
            raise ValueError("no cells")
    except Exception:
        return None, "uleselig notatbok: filen er ikke en Jupyter-notatbok"
    ids = [c.get("id") for c in data.get("cells", []) if isinstance(c, dict) and c.get("id")]
    nb.metadata["_duplicate_ids"] = len(ids) != len(set(ids))
    return nb, ""


def _repair_cell_ids(nb) -> bool:
    """Give duplicated or missing cell ids fresh values. True when something changed."""
    seen: set[str] = set()
    changed = False
    for cell in nb.cells:
        cid = cell.get("id")
        if nb.nbformat_minor >= 5 and (not cid or cid in seen):
            cell["id"] = uuid.uuid4().hex[:8]
            changed = True
        seen.add(cell.get("id", ""))
    return changed


def _locked_cells(nb) -> dict[str, object]:
    return {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("locked") and c.metadata["nbgrader"].get("grade_id")
    }


FLAGS = ("solution", "grade", "locked", "task", "points")


def _tampered_cells(nb, released) -> list[str]:
    """grade_ids of locked cells of the released exercise that the student changed, retyped or deleted."""
    mine: dict[str, list] = {}
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid:
            mine.setdefault(gid, []).append(c)
    changed = []
    for gid, orig in _locked_cells(released).items():
        cells = mine.get(gid, [])
        if len(cells) != 1:
            changed.append(gid)
            continue
        cell = cells[0]
        meta, orig_meta = cell.metadata.get("nbgrader", {}), orig.metadata["nbgrader"]
        if (
            cell.cell_type != orig.cell_type
            or cell.source.strip() != orig.source.strip()
            or any(meta.get(k) != orig_meta.get(k) for k in FLAGS)
        ):
            changed.append(gid)
    return changed


def _restore_locked(nb, released, grade_ids: list[str]) -> None:
    """Put the released version of the given locked cells back where the student had them.

    nbgrader restores a locked cell's source, but stops with "Inconsistent
    checksums" when a test cell was retyped (say, into an answer cell), and that
    student would get no grade at all. Deleted cells nbgrader adds back itself.
    """
    originals = _locked_cells(released)
    for gid in grade_ids:
        places = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == gid]
        if not places:
            continue
        restored = copy.deepcopy(originals[gid])
        restored["id"] = nb.cells[places[0]].get("id", restored.get("id"))
        nb.cells[places[0]] = restored
        for i in reversed(places[1:]):
            del nb.cells[i]


def _suspicious_code(nb) -> list[str]:
    hits = []
    for c in nb.cells:
        if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("locked"):
            hits += SUSPICIOUS.findall(c.source)
    return sorted(set(hits))


def _copy_submission(src: Path, dest: Path) -> list[str]:
    """Copy a submission folder without symbolic links; the names of the links left out."""
    skipped = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_symlink():
            skipped.append(str(rel))
        elif path.is_dir():
            (dest / rel).mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest / rel)
    return skipped


def _stage(course_root: Path, cfg, assignment: str, student: str, notebooks: list[str], inbox: Path):
    """Copy one submission into the staging inbox; a failed Outcome, or the notes for review."""
    import nbformat

    submitted = course_root / cfg.CourseDirectory.get("submitted_directory", "submitted") / student / assignment
    if not submitted.is_dir() or submitted.is_symlink():
        return Outcome(student, "failed", "fant ingen innlevering"), []
    release = course_root / cfg.CourseDirectory.get("release_directory", "release") / assignment
    versions = {}  # notebook -> (path, målform, note): the version the student answered in (malform.py)
    for name in notebooks:
        path, malform, note = submitted_version(submitted, name, release)
        if path is not None and path.is_file() and not path.is_symlink():
            versions[name] = (path, malform, note)
    present = [nb for nb in notebooks if nb in versions]
    if not present:
        others = sorted(p.name for p in submitted.glob("*.ipynb"))
        expected = ", ".join(f"{nb}.ipynb" for nb in notebooks)
        reason = f"notatboken mangler: fant ikke {expected}"
        if others:
            reason += f" (fant {', '.join(others)}: har den fått nytt navn?)"
        return Outcome(student, "failed", reason), []
    notes = []
    if len(present) < len(notebooks):
        notes.append("notatbok mangler: " + ", ".join(sorted(set(notebooks) - set(present))) + " (gir 0 poeng)")
    dest = inbox / student / assignment
    dest.mkdir(parents=True)
    skipped = _copy_submission(submitted, dest)
    if skipped:
        notes.append("symbolske lenker ble ikke tatt med: " + ", ".join(skipped))
    for name in present:
        path, malform, note = versions[name]
        if note:
            notes.append(note)
        (dest / nynorsk_file(f"{name}.ipynb")).unlink(missing_ok=True)  # nbgrader grades one notebook per name
        nb, problem = _read_notebook(path)
        if nb is None:
            shutil.rmtree(inbox / student)
            return Outcome(student, "failed", problem), []
        set_malform(nb, malform)
        if _repair_cell_ids(nb) or nb.metadata.pop("_duplicate_ids", False):
            notes.append(f"{name}.ipynb hadde like celle-id-er (rettet)")
        released_path = released_version(release, name, malform)
        if released_path.is_file():
            released = nbformat.read(released_path, as_version=4)
            changed = _tampered_cells(nb, released)
            if changed:
                _restore_locked(nb, released, changed)
                notes.append("låste celler er endret eller slettet (originalen ble brukt): " + ", ".join(changed))
        hits = _suspicious_code(nb)
        if hits:
            notes.append("mistenkelig kode som kan skjule feil: " + ", ".join(hits))
        nbformat.write(nb, dest / f"{name}.ipynb")
    return None, notes


# ---------------------------------------------------------------------------
# 2. Execute (worker processes)

_WORKER: dict = {}


def _worker_init(course_root: str, assignment: str, template_db: str, staging: str, limits: dict) -> None:
    logging.basicConfig(level=logging.CRITICAL)
    # Kernels inherit the worker's stdout and stderr: keep their start-up chatter out of the instructor's terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    wdir = Path(tempfile.mkdtemp(prefix="arbeider-", dir=staging))
    db = wdir / "gradebook.db"
    shutil.copyfile(template_db, db)  # built by the main process before any worker starts, never written after
    _WORKER.update(course_root=Path(course_root), assignment=assignment, db=db, staging=Path(staging), limits=limits)


def _execute(student: str) -> dict:
    """Run nbgrader's Autograde on the staged submission of ``student`` in the sandbox."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import IgnorePattern, LimitOutput

    w = _WORKER
    limits = w["limits"]
    cfg = nbgrader_config(w["course_root"])
    cfg.CourseDirectory.root = str(w["course_root"])
    cfg.CourseDirectory.submitted_directory = str(w["staging"] / "inn")
    cfg.CourseDirectory.autograded_directory = str(w["staging"] / "kjort")
    cfg.CourseDirectory.db_url = f"sqlite:///{w['db']}"
    cfg.CourseDirectory.assignment_id = w["assignment"]
    cfg.CourseDirectory.student_id = student
    cfg.Autograde.autograde_preprocessors = [sandbox.SandboxedExecute, IgnorePattern, LimitOutput]
    cfg.Autograde.force = True
    cfg.SandboxedExecute.timeout = limits["cell_timeout"]
    cfg.SandboxedExecute.shutdown_kernel = "immediate"
    cfg.SandboxedKernelManager.time_limit = limits["time_limit"]
    cfg.SandboxedKernelManager.memory_limit = limits["memory_limit"]

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setLevel(logging.INFO)
    start = time.monotonic()
    try:
        app = Autograde(coursedir=CourseDirectory(config=cfg), config=cfg)
        app.log.addHandler(handler)
        app.log.setLevel(logging.INFO)
        app.start()
        ok = True
    except BaseException:  # nbgrader raises after logging; we classify from the log
        ok = False
        log.write(traceback.format_exc())
    elapsed = time.monotonic() - start
    return {"student": student, "ok": ok, "log": log.getvalue(), "elapsed": elapsed}


def _failure_reason(result: dict, limits: dict) -> str:
    log = result["log"]
    if "CellTimeoutError" in log:
        # nbgrader interrupted a cell after the cell timeout, and the kernel did not answer.
        return f"tidsavbrudd: en celle stoppet ikke etter {limits['cell_timeout']} sekunder, heller ikke da den ble avbrutt"
    if "DeadKernelError" in log or "Kernel died" in log or "kernel became unresponsive" in log:
        if result["elapsed"] >= limits["time_limit"]:
            return f"tidsavbrudd: notatboken brukte mer enn {limits['time_limit']:g} sekunder"
        return "kjernen stoppet under kjøringen"
    if "Kernel didn't respond" in log:
        return "kjernen startet ikke"
    last = [line for line in log.strip().splitlines() if line.strip()][-1:] or ["ukjent feil"]
    return f"feil under retting: {last[0][:200]}"


# ---------------------------------------------------------------------------
# 3. Record (main process, one student at a time)


def _record(course_root: Path, assignment: str, student: str, staging: Path, db_url: str) -> tuple[bool, str]:
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

    cfg = nbgrader_config(course_root)
    cfg.CourseDirectory.root = str(course_root)
    cfg.CourseDirectory.db_url = db_url
    cfg.CourseDirectory.submitted_directory = str(staging / "kjort")
    cfg.CourseDirectory.assignment_id = assignment
    cfg.CourseDirectory.student_id = student
    # The worker already checked the cell metadata (nbgrader's CheckCellMetadata, a slow
    # JSON-schema check per cell) on this very notebook; here only the gradebook is written.
    cfg.Autograde.sanitize_preprocessors = []
    cfg.Autograde.autograde_preprocessors = [SaveAutoGrades, AssignLatePenalties]
    cfg.Autograde.force = True
    log = io.StringIO()
    try:
        app = Autograde(coursedir=CourseDirectory(config=cfg), config=cfg)
        app.log.addHandler(logging.StreamHandler(log))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy's SAWarnings from inside nbgrader's gradebook
            app.start()
        return True, ""
    except BaseException:
        return False, log.getvalue() + traceback.format_exc()


def _timed_out_cells(executed_dir: Path) -> int:
    import nbformat

    count = 0
    for path in executed_dir.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            count += any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", []))
    return count


def _finish(outcome: Outcome, notes: list[str]) -> Outcome:
    outcome.notes = ([outcome.reason] if outcome.reason else []) + notes + outcome.notes
    if outcome.status == "ok" and outcome.notes:
        outcome.status = "review"
    outcome.reason = "; ".join(outcome.notes) if outcome.status != "ok" else ""
    return outcome


def autograde_submissions(
    course_root: Path,
    assignment: str,
    students: list[str],
    *,
    workers: int = 1,
    progress: Callable[[Outcome], None] | None = None,
    time_limit: float | None = None,
    cell_timeout: int | None = None,
    memory_limit: int | None = None,
) -> list[Outcome]:
    """Autograde ``students``' collected submissions of ``assignment``; one Outcome per student, in order.

    ``time_limit`` caps a whole notebook (seconds), ``cell_timeout`` one cell
    (default: ``Execute.timeout`` from nbgrader_config.py), ``memory_limit`` the
    kernel's address space (bytes).
    """
    from nbgrader import api as nbgrader_api

    course_root = Path(course_root).resolve()
    sandbox.bwrap_path()  # fail early, in Norwegian, without bubblewrap
    cfg = nbgrader_config(course_root)
    limits = {
        "time_limit": float(time_limit or sandbox.TIME_LIMIT),
        "cell_timeout": int(cell_timeout or cfg.get("Execute", {}).get("timeout", CELL_TIMEOUT)),
        "memory_limit": int(memory_limit or sandbox.MEMORY_LIMIT),
    }
    db_url = gradebook_url(course_root, cfg)
    with open_gradebook(course_root, db_url) as gb:
        notebooks = [nb.name for nb in gb.find_assignment(assignment).notebooks]
        # Every student in the batch is known to the gradebook, also one whose
        # submission cannot be graded: exports and reports then list them.
        for student in dict.fromkeys(students):
            if gb.db.query(nbgrader_api.Student).filter_by(id=student).first() is None:
                gb.add_student(student)
    autograded_root = course_root / cfg.CourseDirectory.get("autograded_directory", "autograded")

    outcomes: dict[str, Outcome] = {}
    notes: dict[str, list[str]] = {}

    def done(outcome: Outcome) -> None:
        outcomes[outcome.student] = _finish(outcome, notes.get(outcome.student, []))
        if progress:
            progress(outcomes[outcome.student])

    with tempfile.TemporaryDirectory(prefix="retting-") as tmp:
        staging = Path(tmp)
        (staging / "inn").mkdir()
        (staging / "kjort").mkdir()
        to_run = []
        for student in dict.fromkeys(students):
            try:
                failed, notes[student] = _stage(course_root, cfg, assignment, student, notebooks, staging / "inn")
            except Exception as exc:  # an odd submission must not stop the batch
                failed = Outcome(student, "failed", f"kunne ikke lese innleveringen: {exc.__class__.__name__}")
            if failed:
                done(failed)
            else:
                to_run.append(student)

        def record(result: dict) -> None:
            student = result["student"]
            if not result["ok"]:
                shutil.rmtree(autograded_root / student / assignment, ignore_errors=True)
                return done(Outcome(student, "failed", _failure_reason(result, limits), log=result["log"]))
            ok, log = _record(course_root, assignment, student, staging, db_url)
            if not ok:
                shutil.rmtree(autograded_root / student / assignment, ignore_errors=True)
                return done(Outcome(student, "failed", _failure_reason({**result, "log": log}, limits)))
            timeouts = _timed_out_cells(staging / "kjort" / student / assignment)
            with open_gradebook(course_root, db_url) as gb:
                sub = gb.find_submission(assignment, student)
                outcome = Outcome(student, "ok", score=sub.score, max_score=sub.max_score, log=result["log"])
            if timeouts:
                outcome.notes.append(
                    f"{timeouts} celle(r) brukte mer enn {limits['cell_timeout']} sekunder og ble avbrutt (0 poeng for testene som feilet)"
                )
            done(outcome)

        # The workers' gradebook, from the real one (one writer: the workers never touch the real gradebook).
        template_db = staging / "arbeidernes-karakterbok.db"
        if to_run:
            with open_gradebook(course_root, db_url) as gb:
                _worker_gradebook(gb, template_db, assignment, to_run)

        pending = list(to_run)
        attempts: Counter[str] = Counter()
        while pending:
            context = multiprocessing.get_context("spawn")
            args = (str(course_root), assignment, str(template_db), str(staging), limits)
            n = max(1, min(workers, len(pending)))
            with ProcessPoolExecutor(n, mp_context=context, initializer=_worker_init, initargs=args) as pool:
                futures = {pool.submit(_execute, s): s for s in pending}
                pending = []
                while futures:
                    # No student takes longer than the notebook cap plus nbgrader's own work; if
                    # nothing finishes for much longer, a worker hangs: stop the workers, and the
                    # students they had are tried once more.
                    finished, _ = wait(futures, timeout=limits["time_limit"] + STALL_MARGIN, return_when=FIRST_COMPLETED)
                    if not finished:
                        for proc in list(getattr(pool, "_processes", {}).values()):
                            proc.kill()
                        finished, _ = wait(futures, timeout=30, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        student = futures.pop(fut)
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            # A worker died (never from student code, which runs in the sandbox): try again.
                            pending.append(student)
                            continue
                        except Exception as exc:
                            result = {"student": student, "ok": False, "log": repr(exc), "elapsed": 0.0}
                        try:
                            record(result)
                        except Exception as exc:
                            done(Outcome(student, "failed", f"feil under lagring: {exc.__class__.__name__}"))
            # Students whose worker died are tried once more, in a fresh pool; a second time they fail.
            attempts.update(pending)
            for s in [s for s in pending if attempts[s] > 1]:
                pending.remove(s)
                done(Outcome(s, "failed", "feil under retting: rettingsprosessen stoppet"))

    return [outcomes[s] for s in dict.fromkeys(students)]
