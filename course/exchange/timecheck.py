"""The change-time check: was a submission changed after the time it names, and when can it be trusted to be from?"""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

from nbgrader.utils import parse_utc

from course import frister


def _utc_epoch(value: dt.datetime) -> float:
    """A naive UTC datetime (as nbgrader's parse_utc returns) as seconds since the epoch."""
    return value.replace(tzinfo=dt.timezone.utc).timestamp()


def parse_time(text: str) -> dt.datetime | None:
    try:
        return parse_utc(text.strip()) if text.strip() else None
    except (ValueError, OverflowError, TypeError):
        return None


def check_submission(folder: str | os.PathLike, name_timestamp: str, grace: float) -> tuple[list[dict], dt.datetime | None]:
    """The findings and the recorded time of :func:`inspect_submission`."""
    findings, recorded, _ = inspect_submission(folder, name_timestamp, grace)
    return findings, recorded


def submission_time(folder: str | os.PathLike, name_timestamp: str, grace: float) -> dt.datetime | None:
    """The time (aware UTC) a submission counts as handed in: see :func:`course.frister.trusted_time`."""
    return inspect_submission(folder, name_timestamp, grace)[2]


def inspect_submission(folder: str | os.PathLike, name_timestamp: str,
                       grace: float) -> tuple[list[dict], dt.datetime | None, dt.datetime | None]:
    """Compare the change time of ``folder`` and of everything in it with its recorded submission time.

    ``st_ctime`` is set by the kernel whenever a file's content, name, mode or
    owner changes, and no user can set it back. The recorded time is the later
    of the time in ``timestamp.txt`` and the time in the folder's name (both
    written by nbgrader's submit, from the same clock reading): an entry that
    changed more than ``grace`` seconds after it was changed after submitting.
    A student who moves ``timestamp.txt`` back changes it (and the two times
    then differ); one who moves the time forward, or renames the folder, is
    caught by the times no longer matching the change times of the files.

    Returns the findings (dicts with a ``kind``; see :func:`describe`), the
    recorded time: the time in timestamp.txt, or the time in the folder's name
    when timestamp.txt is missing or unreadable (then reported), and the time
    the submission can be trusted to be from (:func:`course.frister.trusted_time`),
    all from one walk of the folder.
    """
    folder = Path(folder)
    findings: list[dict] = []
    name_time = parse_time(name_timestamp)
    text = _read_small(folder / "timestamp.txt")
    recorded = parse_time(text) if text is not None else None
    if recorded is None:
        findings.append({"kind": "uleselig_tid"})
        recorded = name_time
        if recorded is None:
            return findings, None, None
    elif name_time is not None and abs(_utc_epoch(recorded) - _utc_epoch(name_time)) > 0.001:
        findings.append({"kind": "ulik_tid", "timestamp": text.strip()[:60], "name": name_timestamp})

    latest_claim = max(_utc_epoch(t) for t in (recorded, name_time) if t is not None)
    entries = _entries(folder)
    for rel, st in entries:
        late = st.st_ctime - latest_claim
        if late > grace:
            findings.append({"kind": "endret", "path": rel, "seconds": round(late, 1)})
    earliest = min((st.st_ctime for _, st in entries), default=None)
    if earliest is not None and latest_claim - earliest > grace:
        findings.append({"kind": "tid_senere", "seconds": round(latest_claim - earliest, 1)})
    claim = max(t for t in (recorded, name_time) if t is not None).replace(tzinfo=dt.timezone.utc)
    trusted = frister.trusted_time(claim, [st.st_ctime for _, st in entries], grace)
    return findings, recorded, trusted


def _entries(folder: Path) -> list[tuple[str, os.stat_result]]:
    """The folder and everything in it, with their ``lstat``; what cannot be read is left out (the copy reports it)."""
    entries: list[tuple[str, os.stat_result]] = []
    try:
        entries.append((".", os.lstat(folder)))
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                entries.append((os.path.relpath(path, folder), os.lstat(path)))
    except OSError:
        pass
    return entries


def _read_small(path: Path, limit: int = 200) -> str | None:
    """A short regular file's text, or None: never follows a link, never blocks on a pipe, never reads much."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            return fh.read(limit).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        n = max(1, round(seconds))
        return f"{n} sekund" if n == 1 else f"{n} sekunder"
    if seconds < 120 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} timer"
    return f"{round(seconds / 86400)} døgn"


def describe(finding: dict) -> str:
    """One finding in Norwegian, for the grader."""
    kind = finding.get("kind")
    path = finding.get("path", "")
    what = "innleveringsmappen" if path in ("", ".") else path
    if kind == "endret":
        return f"{what} endret {_duration(finding['seconds'])} etter registrert innleveringstid"
    if kind == "tid_senere":
        return (f"registrert innleveringstid ligger {_duration(finding['seconds'])} etter at filene "
                "ble levert")
    if kind == "ulik_tid":
        return (f"timestamp.txt ({finding.get('timestamp', '')}) har en annen tid enn mappenavnet "
                f"({finding.get('name', '')})")
    if kind == "uleselig_tid":
        return "timestamp.txt mangler eller kan ikke leses (tiden i mappenavnet er brukt)"
    if kind == "lenke":
        return f"{what} er en symbolsk lenke og ble ikke samlet inn"
    if kind == "spesialfil":
        return f"{what} er ikke en vanlig fil og ble ikke samlet inn"
    if kind == "uleselig_fil":
        return f"{what} kunne ikke leses av retteren og ble ikke samlet inn"
    if kind == "uleselig":
        return "innleveringen kunne ikke leses av retteren og ble ikke samlet inn"
    if kind == "for_stor":
        return "innleveringen er større enn tillatt og ble ikke samlet inn"
    return str(finding)


def describe_all(findings: list[dict], most: int = 4) -> list[str]:
    """The findings in Norwegian; many changed files are summed up after the first few."""
    changed = [f for f in findings if f.get("kind") == "endret"]
    other = [f for f in findings if f.get("kind") != "endret"]
    changed.sort(key=lambda f: (f.get("path") not in ("timestamp.txt", "."), -f.get("seconds", 0)))
    lines = [describe(f) for f in changed[:most]]
    if len(changed) > most:
        lines.append(f"og {len(changed) - most} filer til")
    return lines + [describe(f) for f in other]


def describe_rejected(entry: dict) -> str:
    folder = entry.get("folder", "")
    if entry.get("reason") == "eier":
        return f"mappen «{folder}» eies av brukeren {entry.get('owner')}, ikke av studenten"
    if entry.get("reason") == "ikke_mappe":
        return f"«{folder}» er ikke en mappe (men for eksempel en symbolsk lenke)"
    return f"mappen «{folder}» har et navn nbgrader ikke kan lese"
