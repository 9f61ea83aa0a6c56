"""The two ways in for submissions: the nbgrader exchange, and a zip file downloaded from an LMS."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from .common import CourseError, last_error, nbgrader


def collect_exchange(root: Path, assignment: str) -> None:
    """``nbgrader collect``: fetch the latest submission of every student from the exchange."""
    proc = nbgrader(root, "collect", assignment, "--update", in_process=True)
    if proc.returncode != 0:
        raise CourseError(f"Innsamlingen fra utvekslingsmappen feilet: {last_error(proc)}")


def check_zip(archive: Path) -> Path:
    """The archive's absolute path, or a Norwegian error when it is missing or not a zip file."""
    archive = Path(archive).resolve()
    if not archive.is_file():
        raise CourseError(f"Fant ikke zip-filen {archive}.")
    if not zipfile.is_zipfile(archive):
        raise CourseError(f"{archive} er ikke en zip-fil. Last ned innleveringene som én zip-fil fra læringsplattformen.")
    return archive


def collect_zip(root: Path, assignment: str, archive: Path) -> None:
    """``nbgrader zip_collect``: import an LMS download (the file-name pattern is in nbgrader_config.py)."""
    archive = check_zip(archive)
    target = root / "downloaded" / assignment / "archive"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy(archive, target / archive.name)
    proc = nbgrader(root, "zip_collect", assignment, "--force", in_process=True)
    if proc.returncode != 0:
        raise CourseError(f"Importen av zip-filen feilet: {last_error(proc)}")
    skipped = [line for line in (proc.stdout + proc.stderr).splitlines() if "did not match" in line]
    for line in skipped:
        name = line.rsplit("/", 1)[-1].strip()
        print(f"Advarsel: Filen «{name}» har et navn som ikke passer mønsteret for innleveringer, og ble hoppet over.")


def submitted_students(root: Path, assignment: str) -> list[str]:
    """Every student with a collected submission of ``assignment`` in submitted/."""
    folder = root / "submitted"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir())
