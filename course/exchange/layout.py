"""The exchange's folders and modes: made by an administrator (``python -m course.exchange``), checked by release."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

ROOT_MODE = 0o1777  # sticky, writable by all (nbgrader requires that every account can write to the root)
COURSE_MODE = 0o755
OUTBOUND_MODE = 0o755
INBOUND_MODE = 0o3733  # setgid (the grader's group), sticky, -wx for others
FEEDBACK_MODE = 0o711
SUBMISSION_DIR_MODE = 0o750
SUBMISSION_FILE_MODE = 0o640
FEEDBACK_FILE_MODE = 0o644


class ExchangeLayoutError(Exception):
    """The exchange folder cannot be made safe; the message is Norwegian and says what to do."""


def _mode(path: Path | str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)




def prepare_exchange(root: str | os.PathLike, course_id: str, grader_user: str) -> Path:
    """Create (or repair) the exchange for ``course_id``; return the course's folder in it.

    Run as root on a shared server: the root becomes root-owned 1777, the
    course folder and everything in it belong to ``grader_user`` (``inbound/``
    to the grader's primary group, setgid). Run as the grader itself (one
    machine), the same modes are set and nothing is chowned.
    """
    root = Path(root).absolute()
    try:
        grader = pwd.getpwnam(grader_user)
    except KeyError:
        raise ExchangeLayoutError(f"Fant ingen bruker som heter «{grader_user}». Opprett brukeren for retteren først.") from None
    if not course_id or "/" in course_id or course_id in (".", ".."):
        raise ExchangeLayoutError(f"Ugyldig kurs-ID «{course_id}»: bruk bokstaver, sifre, - og _.")
    as_root = os.geteuid() == 0
    if not as_root and os.geteuid() != grader.pw_uid:
        raise ExchangeLayoutError(
            f"Utvekslingsmappen settes opp av administrator (root) eller av retteren «{grader_user}» selv."
        )
    for parent in root.parents:
        if parent.exists() and not _mode(parent) & stat.S_IXOTH:
            raise ExchangeLayoutError(
                f"Studentene kommer ikke fram til {root}: {parent} er lukket for andre. "
                f"Velg en annen plassering, eller åpne den med chmod o+x {parent}."
            )

    def ensure(path: Path, mode: int, uid: int, gid: int) -> None:
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise ExchangeLayoutError(f"{path} finnes, men er ikke en mappe. Flytt den bort og prøv igjen.")
        path.mkdir(exist_ok=True)
        if as_root:
            os.chown(path, uid, gid)
        elif os.lstat(path).st_uid != os.geteuid():
            raise ExchangeLayoutError(f"{path} eies av en annen bruker. Be administratoren kjøre oppsettet som root.")
        os.chmod(path, mode)  # after chown, which clears setgid

    root.parent.mkdir(parents=True, exist_ok=True)
    ensure(root, ROOT_MODE, 0, 0)
    course = root / course_id
    uid, gid = grader.pw_uid, grader.pw_gid
    ensure(course, COURSE_MODE, uid, gid)
    ensure(course / "outbound", OUTBOUND_MODE, uid, gid)
    ensure(course / "inbound", INBOUND_MODE, uid, gid)
    ensure(course / "feedback", FEEDBACK_MODE, uid, gid)
    return course


def others_can_write(st: os.stat_result) -> bool:
    return bool(st.st_mode & (stat.S_IWOTH | stat.S_IWGRP))


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m course.exchange",
        description="Setter opp nbgraders utvekslingsmappe for et kurs på en delt server, slik at ingen student "
                    "kan lese, endre, gi nytt navn til eller slette en annens innlevering. Kjøres av root.",
    )
    parser.add_argument("mappe", help="utvekslingsmappen, for eksempel /srv/nbgrader/exchange")
    parser.add_argument("kurs", help="kurs-ID-en, for eksempel samskaping")
    parser.add_argument("retter", help="brukeren som legger ut, samler inn og retter oppgavene")
    args = parser.parse_args(argv)
    try:
        course = prepare_exchange(args.mappe, args.kurs, args.retter)
    except ExchangeLayoutError as error:
        print(f"Feil: {error}", file=sys.stderr)
        return 1
    group = grp.getgrgid(pwd.getpwnam(args.retter).pw_gid).gr_name
    print(f"Utvekslingsmappen er klar: {course} (eies av {args.retter}, innleveringer i gruppen {group}).")
    return 0
