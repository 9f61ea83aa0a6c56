"""A shared nbgrader exchange that students cannot tamper with.

nbgrader's own filesystem exchange (``nbgrader.exchange.default``) is made for
one trusted machine. On a server shared by a class it lets any student read,
change, rename or delete another student's submission once the folder name is
known: release makes the exchange root 0777 and ``inbound/`` 2733 (no sticky
bit), and submit makes each submission folder 0777 with its files 0644
(nbgrader issues #978, #1104, #1225). The folder name
(``student+assignment+timestamp+random``) is the only protection, and
``timestamp.txt`` is written by the student's own process, so a student can
change it, or the notebook, after the deadline.

This module keeps nbgrader's exchange and replaces only what needs replacing,
through nbgrader's pluggable ``ExchangeFactory`` (set in ``nbgrader_config.py``
and ``deploy/nbgrader_config.py``):

``SecureExchangeReleaseAssignment`` (the grader)
    checks the layout before releasing, and fixes what the grader owns:
    a world-writable exchange root needs the sticky bit; ``inbound/`` becomes
    3733 (setgid, sticky, ``-wx`` for others).
``SecureExchangeSubmit`` (a student)
    builds the submission in a private 0700 staging folder inside ``inbound/``
    and moves it into place when it is complete: the folder 0750 and its files
    0640, in the grader's group (inherited from ``inbound/``'s setgid bit).
    Only the student and the grader can read it.
``SecureExchangeCollect`` (the grader)
    collects only folders owned by the student they are named after (or by the
    grader), never follows symbolic links, skips what it cannot read instead of
    failing the whole collection, and compares the change time (``st_ctime``,
    which no user can set) of the folder and of everything in it with the time
    in its ``timestamp.txt``. What it finds is written to
    ``<course root>/innleveringskontroll/`` and reported by ``course grade``.
``SecureExchangeReleaseFeedback`` (the grader)
    keeps ``feedback/`` at 0711 and makes each released feedback file 0644
    (readable whatever the grader's umask, found only by its name).

The layout, made by :func:`prepare_exchange` (as root, once per course)::

    <root>                       root:root   1777  sticky: nobody renames or deletes another's entry
    <root>/<course>              grader      0755
    <root>/<course>/outbound     grader      0755  released exercises, readable by all
    <root>/<course>/inbound      grader:grp  3733  setgid + sticky, -wx for others: create, never list
    <root>/<course>/feedback     grader      0711  enter, never list; files named by a secret hash

The root is sticky and writable by everyone, like ``/tmp``, rather than 0755:
nbgrader checks that every account can write to it before any exchange
command (``Exchange.ensure_root``), also for the fetch and list commands this
module does not replace.

Feedback: ``release_feedback`` names each file ``md5(submission secret +
notebook name).html``. The 128-character secret is drawn by the student's
submit and lies only in the student's submission (0640 here, 0644 in a 0777
folder with nbgrader's classes) and in the nbgrader cache in the student's home
(0700). ``fetch_feedback`` computes the names from the student's own cache.
Since ``feedback/`` cannot be listed, a student can fetch only their own
feedback.

What remains possible (said in docs/utveksling.md as well):

- A student owns their own submission folder until it is collected: they can
  change, add or delete files in it, and edit ``timestamp.txt``. The collected
  copy is what is graded; a change made before collection is caught by the
  change-time check, since writing a file, renaming it, or changing its mode
  or group sets its ``st_ctime`` to the real time. A change made after the
  collection does not reach the graded copy.
- A student can chmod their own folder open (only exposing their own work), or
  make it unreadable for the grader (then it is reported, not collected).
- A student can create entries in the exchange root and in ``inbound/``; they
  are never collected unless they are the student's own submission.
- The administrator (root) and the grader can read every submission.
- The check trusts the server's clock: on a network filesystem the change time
  comes from the file server's clock, so keep the clocks synchronised (NTP).

On one machine with one user (``make lab``, a local exchange inside the course
folder), nothing here needs root or special groups: the user owns everything.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import grp
import json
import os
import pwd
import secrets
import shutil
import stat
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.exchange.abc.exchange import ExchangeError
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import check_mode, ignore_patterns, parse_utc
from traitlets import Float

from course import frister
from course.malform import NYNORSK, SOURCE_DIR, bokmal_file, choose, nynorsk_file, set_malform

ROOT_MODE = 0o1777  # sticky, writable by all (nbgrader requires that every account can write to the root)
COURSE_MODE = 0o755
OUTBOUND_MODE = 0o755
INBOUND_MODE = 0o3733  # setgid (the grader's group), sticky, -wx for others
FEEDBACK_MODE = 0o711
SUBMISSION_DIR_MODE = 0o750
SUBMISSION_FILE_MODE = 0o640
FEEDBACK_FILE_MODE = 0o644

RECORDS = "innleveringskontroll"  # in the course root, beside submitted/ (gitignored)


class ExchangeLayoutError(Exception):
    """The exchange folder cannot be made safe; the message is Norwegian and says what to do."""


def _mode(path: Path | str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# ---------------------------------------------------------------------------
# Layout: made by an administrator, checked by release


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


def _others_can_write(st: os.stat_result) -> bool:
    return bool(st.st_mode & (stat.S_IWOTH | stat.S_IWGRP))


# ---------------------------------------------------------------------------
# Release


class SecureExchangeReleaseAssignment(ExchangeReleaseAssignment):
    """Release, after checking (and where the grader owns it, fixing) the exchange's layout."""

    def ensure_root(self):
        """The root must exist and be sticky if others can write to it; nbgrader would chmod it to 0777."""
        root = self.root
        if not os.path.exists(root):
            # One machine, first release: the user makes it (a class server's is made by prepare_exchange).
            self.log.warning("Lager utvekslingsmappen %s", root)
            try:
                os.makedirs(root)
                os.chmod(root, ROOT_MODE)
            except PermissionError:
                self.fail(f"Kunne ikke lage utvekslingsmappen {root}: ingen tilgang. "
                          "Be administratoren sette den opp (python -m course.exchange).")
            return
        st = os.stat(root)
        if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
            if st.st_uid == os.geteuid():
                os.chmod(root, stat.S_IMODE(st.st_mode) | stat.S_ISVTX)
                self.log.warning("La til sticky-biten på utvekslingsmappen %s", root)
            else:
                self.fail(f"Alle kan gi nytt navn til eller slette kursmappene i {root} (mappen mangler "
                          "sticky-biten). Be administratoren sette opp utvekslingsmappen med "
                          f"python -m course.exchange {root} {self.coursedir.course_id} RETTER.")
        if not check_mode(root, write=True, execute=True):
            self.fail(f"Du kan ikke skrive til utvekslingsmappen {root}. Be administratoren sette den opp "
                      "med python -m course.exchange.")

    def init_src(self):
        """nbgrader's, and then: an exercise with a nynorsk source is released in both målformer, or not at all.

        ``nbgrader generate_assignment --force`` alone removes the nynorsk student
        version (it empties the release folder); ``course generate`` makes both.
        """
        super().init_src()
        nynorsk = Path(self.coursedir.root) / SOURCE_DIR / self.coursedir.assignment_id
        for source in sorted(nynorsk.glob("*.ipynb")):
            released = Path(self.src_path) / nynorsk_file(source.name)
            if not released.is_file():
                self.fail(f"Nynorskversjonen av {self.coursedir.assignment_id} mangler i {self.src_path} "
                          f"({released.name}). Lag studentversjonene med `course generate "
                          f"{self.coursedir.assignment_id}` (ikke bare nbgrader generate_assignment), og legg ut på nytt.")

    def init_dest(self):
        course_path = os.path.join(self.root, self.coursedir.course_id)
        if self.coursedir.course_id and os.path.lexists(course_path):
            st = os.lstat(course_path)
            if not stat.S_ISDIR(st.st_mode) or (st.st_uid != os.geteuid() and not self.coursedir.groupshared):
                self.fail(f"Kursmappen {course_path} eies ikke av deg. Den kan være laget av noen andre; be "
                          "administratoren sjekke den og sette opp utvekslingsmappen med python -m course.exchange.")
        super().init_dest()
        me = os.geteuid()
        expected = {
            self.course_path: COURSE_MODE,
            self.outbound_path: OUTBOUND_MODE,
            self.inbound_path: INBOUND_MODE | (stat.S_IRGRP if self.coursedir.groupshared else 0),
        }
        feedback = os.path.join(self.course_path, "feedback")
        if os.path.isdir(feedback):
            expected[feedback] = FEEDBACK_MODE
        for path, mode in expected.items():
            st = os.lstat(path)
            if self.coursedir.groupshared:
                mode |= stat.S_IMODE(st.st_mode) & (stat.S_ISGID | stat.S_IRWXG)
            if stat.S_IMODE(st.st_mode) == mode:
                continue
            if st.st_uid != me:
                if _others_can_write(st) and not (st.st_mode & stat.S_ISVTX):
                    self.fail(f"{path} har feil tilganger ({oct(stat.S_IMODE(st.st_mode))}, skal være "
                              f"{oct(mode)}). Be administratoren kjøre python -m course.exchange.")
                continue
            os.chmod(path, mode)
            self.log.info("Tilganger for %s satt til %s", path, oct(mode))


# ---------------------------------------------------------------------------
# Submit


class MalformError(ExchangeError):
    """A student answered in both målformer of an exercise: nothing is submitted, and they are told why."""


def hand_in_one_malform(folder: str | os.PathLike, release: str | os.PathLike) -> None:
    """Leave one version of each notebook in a submission being built: the one the student answered.

    An exercise is released in bokmål (``oppgave_01.ipynb``) and nynorsk
    (``oppgave_01_nynorsk.ipynb``); nbgrader's gradebook knows the first name
    only. The version with answers is handed in under that name, marked with its
    målform (``metadata.kurs.målform``), and the other is left out of the
    submission (it stays in the student's own folder). Answers in both: nothing
    is guessed; ``MalformError`` says in both målformer what to do.
    """
    import nbformat

    folder, release = Path(folder), Path(release)
    for released in sorted(release.glob("*.ipynb")):
        name = released.name
        if bokmal_file(name) is not None or not (folder / nynorsk_file(name)).is_file():
            continue
        choice = choose(folder, name, release)
        if choice.both:
            raise MalformError(choice.message)
        if choice.malform == NYNORSK:
            nb = nbformat.read(choice.path, as_version=4)
            set_malform(nb, NYNORSK)
            nbformat.write(nb, folder / name)
        (folder / nynorsk_file(name)).unlink()


class LateError(ExchangeError):
    """The student's deadline has passed and the course refuses late work: nothing is submitted."""


class SecureExchangeSubmit(ExchangeSubmit):
    """Submit into a folder only the student and the grader can read (0750, files 0640).

    The submission is built in a private staging folder in ``inbound/`` (0700,
    its name starts with a dot, so collect never picks it up) and moved into
    place complete, with its final permissions, in one rename.
    """

    def init_dest(self):
        super().init_dest()
        self.check_deadline()

    def check_deadline(self) -> None:
        """Refuse (policy 'avvis') or warn about a submission after the student's own deadline.

        The student's side only tells the student at once; the deadline is kept
        where submissions are collected, which trusts no time the student's
        process wrote. When the deadline cannot be learnt (the service does not
        answer), the submission goes in, and collect decides.
        """
        from nbgrader.utils import get_username

        student = self.coursedir.student_id if self.coursedir.student_id != "*" else get_username()
        try:
            info = frister.own_deadline(self.coursedir.assignment_id, student, self.coursedir.root, self.config)
        except frister.DeadlineError as error:
            self.log.warning("Fristene kunne ikke leses: %s", error)
            return
        except (OSError, ValueError, KeyError) as error:
            self.log.warning("Fristtjenesten svarte ikke (%s); innsamlingen sjekker fristen.", error)
            return
        message = frister.late_message(info) if info else None
        if message is None:
            return
        if info["regel"]["sen_innlevering"] == frister.REFUSE:
            self.log.fatal(message)
            raise LateError(message)
        self.log.warning(message)

    def one_malform(self, folder: str) -> None:
        try:
            hand_in_one_malform(folder, self.release_path)
        except MalformError as error:
            self.log.fatal(str(error))  # the command line shows the log; JupyterLab shows the exception
            raise

    def copy_files(self):
        self.init_release()
        submission_secret = secrets.token_hex(64)
        dest_path = os.path.join(self.inbound_path, self.assignment_filename)
        if self.add_random_string:
            cache_path = os.path.join(self.cache_path, self.assignment_filename.rsplit("+", 1)[0])
        else:
            cache_path = os.path.join(self.cache_path, self.assignment_filename)

        self.log.info("Source: {}".format(self.src_path))
        self.log.info("Destination: {}".format(dest_path))
        self.check_filename_diff()

        # 0700 and the student's; in inbound/'s group (setgid), like everything created in it.
        staging = tempfile.mkdtemp(prefix=".innlevering-", dir=self.inbound_path)
        try:
            work = os.path.join(staging, self.assignment_filename)
            # Written first: copytree ends by copying the source folder's mode, which drops the setgid
            # bit (the student is not in the grader's group), so a file made afterwards would get the
            # student's group. A rename keeps the file's group.
            extra = (("timestamp.txt", self.timestamp), ("submission_secret.txt", submission_secret))
            for name, text in extra:
                with open(os.path.join(staging, name), "w") as fh:
                    fh.write(text)
            self.do_copy(self.src_path, work)
            self.one_malform(work)
            for name, _ in extra:
                os.replace(os.path.join(staging, name), os.path.join(work, name))
            self.set_perms(work, fileperms=SUBMISSION_FILE_MODE, dirperms=SUBMISSION_DIR_MODE)
            os.rename(work, dest_path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

        # The student's own copy (in the home folder), as nbgrader keeps it: list and fetch_feedback read it.
        if not os.path.isdir(self.cache_path):
            os.makedirs(self.cache_path)
        self.do_copy(self.src_path, cache_path)
        self.one_malform(cache_path)
        with open(os.path.join(cache_path, "timestamp.txt"), "w") as fh:
            fh.write(self.timestamp)
        with open(os.path.join(cache_path, "submission_secret.txt"), "w") as fh:
            fh.write(submission_secret)

        self.log.info("Submitted as: {} {} {}".format(
            self.coursedir.course_id, self.coursedir.assignment_id, str(self.timestamp)))


# ---------------------------------------------------------------------------
# Collect: the change-time check


def _utc_epoch(value: dt.datetime) -> float:
    """A naive UTC datetime (as nbgrader's parse_utc returns) as seconds since the epoch."""
    return value.replace(tzinfo=dt.timezone.utc).timestamp()


def _parse_time(text: str) -> dt.datetime | None:
    try:
        return parse_utc(text.strip()) if text.strip() else None
    except (ValueError, OverflowError, TypeError):
        return None


def check_submission(folder: str | os.PathLike, name_timestamp: str, grace: float) -> tuple[list[dict], dt.datetime | None]:
    """Compare the change time of ``folder`` and of everything in it with its recorded submission time.

    ``st_ctime`` is set by the kernel whenever a file's content, name, mode or
    owner changes, and no user can set it back. The recorded time is the later
    of the time in ``timestamp.txt`` and the time in the folder's name (both
    written by nbgrader's submit, from the same clock reading): an entry that
    changed more than ``grace`` seconds after it was changed after submitting.
    A student who moves ``timestamp.txt`` back changes it (and the two times
    then differ); one who moves the time forward, or renames the folder, is
    caught by the times no longer matching the change times of the files.

    Returns the findings (dicts with a ``kind``; see :func:`describe`) and the
    time the grader should use: the time in timestamp.txt, or the time in the
    folder's name when timestamp.txt is missing or unreadable (then reported).
    """
    folder = Path(folder)
    findings: list[dict] = []
    name_time = _parse_time(name_timestamp)
    text = _read_small(folder / "timestamp.txt")
    recorded = _parse_time(text) if text is not None else None
    if recorded is None:
        findings.append({"kind": "uleselig_tid"})
        recorded = name_time
        if recorded is None:
            return findings, None
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
    return findings, recorded


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


def submission_time(folder: str | os.PathLike, name_timestamp: str, grace: float) -> dt.datetime | None:
    """The time (aware UTC) a submission counts as handed in: see :func:`course.frister.trusted_time`."""
    folder = Path(folder)
    text = _read_small(folder / "timestamp.txt")
    claimed = [t for t in (_parse_time(text) if text is not None else None, _parse_time(name_timestamp))
               if t is not None]
    if not claimed:
        return None
    latest_claim = max(claimed).replace(tzinfo=dt.timezone.utc)
    return frister.trusted_time(latest_claim, [st.st_ctime for _, st in _entries(folder)], grace)


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


def records_folder(course_root: str | os.PathLike, assignment: str) -> Path:
    return Path(course_root) / RECORDS / assignment


def read_records(course_root: str | os.PathLike, assignment: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """What the last collections of ``assignment`` found, in Norwegian.

    Returns ``(changed, rejected)``: for each student, the changes found in
    their collected submission, and the folders claiming to be theirs that were
    not collected.
    """
    folder = records_folder(course_root, assignment)
    changed: dict[str, list[str]] = {}
    rejected: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            changed[path.stem] = ["kontrollen av innleveringen kunne ikke leses (slett filen og samle inn på nytt)"]
            continue
        if record.get("findings"):
            changed[record.get("student", path.stem)] = describe_all(record["findings"])
    rejected_path = folder.with_name(f"{assignment}.avvist.json")
    if rejected_path.is_file():
        try:
            entries = json.loads(rejected_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = []
        for entry in entries:
            rejected.setdefault(entry.get("claimed", "?"), []).append(describe_rejected(entry))
    return changed, rejected


def _safe_name(name: str) -> bool:
    return bool(name) and not name.startswith(".") and "/" not in name and "\0" not in name


class SecureExchangeCollect(ExchangeCollect):
    """Collect only genuine submissions, without following links, and check them for changes after submitting."""

    grace_seconds = Float(
        30.0,
        help="How many seconds after the time in timestamp.txt a file in a submission may have changed "
             "before it is reported. Submitting takes milliseconds; 30 seconds allows for a heavily loaded "
             "server and a little clock skew between a network filesystem and its clients.",
    ).tag(config=True)

    def _split_name(self, filename: str) -> tuple[str, str] | None:
        """(student, timestamp) from ``student+assignment+timestamp[+random]``, or None if it is not valid."""
        parts = filename.rsplit("+", 3)
        if len(parts) < 3 or parts[1] != self.coursedir.assignment_id:
            return None
        student, timestamp = parts[0], parts[2]
        if _parse_time(timestamp) is None or not _safe_name(student):
            return None
        return student, timestamp

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail("Course not found: {}".format(self.inbound_path))
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail("You don't have read permissions for the directory: {}".format(self.inbound_path))
        student_id = self.coursedir.student_id if self.coursedir.student_id else "*"
        pattern = "{}+{}+*".format(student_id, self.coursedir.assignment_id)

        me = os.geteuid()
        self._rejected: list[dict] = []
        self._scope_all = student_id == "*"
        self._checked: dict[str, dict] = {}
        records = []
        for filename in sorted(os.listdir(self.inbound_path)):
            if filename.startswith(".") or not fnmatch.fnmatchcase(filename, pattern):
                continue
            path = os.path.join(self.inbound_path, filename)
            claimed = filename.split("+", 1)[0]
            split = self._split_name(filename)
            st = os.lstat(path)
            if split is None:
                self._reject(filename, claimed, st, "navn")
                continue
            if not stat.S_ISDIR(st.st_mode):
                self._reject(filename, split[0], st, "ikke_mappe")
                continue
            owner = _user_name(st.st_uid)
            if st.st_uid != me and owner != split[0]:
                self._reject(filename, split[0], st, "eier")
                continue
            records.append({"username": split[0], "filename": filename, "timestamp": parse_utc(split[1])})

        self._late_refused: list[dict] = []
        policy = frister.DeadlinePolicy(config=self.config)
        try:
            plan = frister.read_plan(self.coursedir.root, file=policy.file)
        except frister.DeadlineError as error:
            self.fail(f"{error}\nRett fristfilen (se «course frister»), og samle inn på nytt.")
        usergroups = groupby(records, lambda item: item["username"])
        self.src_records = []
        if self.coursedir.assignment_id in plan.deadlines:
            for student, items in usergroups.items():
                chosen = self._choose(items, plan.deadline_for(self.coursedir.assignment_id, student), policy)
                if chosen is not None:
                    self.src_records.append(chosen)
            return
        # No deadline in the course's file: nbgrader's own rule (its gradebook's due date and --before-duedate).
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        for items in usergroups.values():
            items = self._sort_by_timestamp(items)
            if self.duedate is not None and self.before_duedate:
                before = [r for r in items if r["timestamp"] <= self.duedate]
                self.src_records.append((before or items)[0])
            else:
                self.src_records.append(items[0])

    def _choose(self, items: list[dict], deadline: frister.Deadline, policy: frister.DeadlinePolicy) -> dict | None:
        """The submission to collect from one student's, measured against their own deadline.

        Accepting late work: the latest submission (nbgrader's rule); its time,
        as far as it can be trusted, goes into the collected copy, where
        nbgrader's late penalty reads it. Refusing late work: the latest one
        handed in on time, or none; the late ones are recorded for the report.
        """
        items = self._sort_by_timestamp(items)
        if policy.late == frister.ACCEPT:
            return items[0]
        for item in items:
            path = os.path.join(self.inbound_path, item["filename"])
            when = submission_time(path, item["filename"].rsplit("+", 3)[2], self.grace_seconds)
            if when is not None and deadline.late_by(when) == 0:
                return item
            self._late_refused.append({
                "student": item["username"], "folder": item["filename"],
                "submitted": when.isoformat() if when else None, "deadline": deadline.end.isoformat(),
                "extended": deadline.student is not None,
                "seconds_late": round(deadline.late_by(when), 1) if when else None,
            })
        return None

    def _reject(self, filename: str, claimed: str, st: os.stat_result, reason: str) -> None:
        owner = _user_name(st.st_uid)
        self.log.warning("Not collected (%s): %s, owned by %s", reason, filename, owner)
        self._rejected.append({"folder": filename, "claimed": claimed, "owner": owner, "reason": reason})

    def do_copy(self, src, dest):
        """Copy one submission without following links; then check it for changes after submitting."""
        filename = os.path.basename(src)
        student, name_timestamp = self._split_name(filename)
        findings: list[dict] = []

        def skip_links(folder, names):
            skipped = set()
            for name in names:
                try:
                    mode = os.lstat(os.path.join(folder, name)).st_mode
                except OSError:
                    continue
                rel = os.path.relpath(os.path.join(folder, name), src)
                if stat.S_ISLNK(mode):
                    findings.append({"kind": "lenke", "path": rel})
                    skipped.add(name)
                elif not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                    findings.append({"kind": "spesialfil", "path": rel})
                    skipped.add(name)
            return skipped

        nbgrader_ignore = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                          max_file_size=self.coursedir.max_file_size, log=self.log)

        def ignore(folder, names):
            skipped = skip_links(folder, names)
            return skipped | set(nbgrader_ignore(folder, [n for n in names if n not in skipped]))

        try:
            if self.get_size(src) > 1000 * self.coursedir.max_dir_size:
                findings.append({"kind": "for_stor"})
                os.makedirs(dest, exist_ok=True)
            else:
                shutil.copytree(src, dest, symlinks=True, ignore=ignore)
        except shutil.Error as error:
            for failed_src, _, _ in error.args[0]:
                findings.append({"kind": "uleselig_fil", "path": os.path.relpath(failed_src, src)})
        except OSError:
            findings.append({"kind": "uleselig"})
            os.makedirs(dest, exist_ok=True)

        # After the copy: a change made before the copy finished has an earlier change time than this check.
        changes, recorded = check_submission(src, name_timestamp, self.grace_seconds)
        findings.extend(changes)
        trusted = submission_time(src, name_timestamp, self.grace_seconds)
        if trusted is not None and (recorded is None or any(f["kind"] == "uleselig_tid" for f in findings)
                                    or trusted != recorded.replace(tzinfo=dt.timezone.utc)):
            # nbgrader reads timestamp.txt in submitted/ for --update and for late penalties (and stops at
            # an unreadable one): the graded copy gets the time the submission can be trusted to have.
            target = os.path.join(dest, "timestamp.txt")
            if os.path.lexists(target):
                os.remove(target)
            with open(target, "w") as fh:
                fh.write(trusted.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        self._checked[student] = {"submission": filename, "findings": findings}

    def copy_files(self):
        super().copy_files()
        self._write_records()

    def _write_records(self) -> None:
        folder = records_folder(os.path.abspath(self.coursedir.root), self.coursedir.assignment_id)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        for student, result in self._checked.items():
            path = folder / f"{student}.json"
            if result["findings"]:
                folder.mkdir(parents=True, exist_ok=True)
                record = {"student": student, "assignment": self.coursedir.assignment_id,
                          "checked": now, "grace_seconds": self.grace_seconds, **result}
                path.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
                self.log.warning("Changed after submitting: %s (%s)", student,
                                 "; ".join(describe_all(result["findings"])))
            elif path.exists():
                path.unlink()
        self._write_late_refused(folder)
        rejected_path = folder.with_name(f"{self.coursedir.assignment_id}.avvist.json")
        entries = self._rejected
        if not self._scope_all and rejected_path.is_file():
            claimed_now = {self.coursedir.student_id}
            try:
                old = json.loads(rejected_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = []
            entries = [e for e in old if e.get("claimed") not in claimed_now] + entries
        if entries:
            folder.mkdir(parents=True, exist_ok=True)
            rejected_path.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
        elif rejected_path.exists():
            rejected_path.unlink()


    def _write_late_refused(self, folder: Path) -> None:
        """Submissions not collected because they came after the student's deadline (policy 'avvis')."""
        path = folder.with_name(f"{self.coursedir.assignment_id}.sene.json")
        entries = self._late_refused
        if not self._scope_all and path.is_file():
            try:
                old = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = []
            entries = [e for e in old if e.get("student") != self.coursedir.student_id] + entries
        for entry in self._late_refused:
            self.log.warning("Not collected, handed in after the deadline: %s", entry["folder"])
        if entries:
            folder.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
        elif path.exists():
            path.unlink()


def read_late_refused(course_root: str | os.PathLike, assignment: str) -> dict[str, list[dict]]:
    """For each student, their submissions the last collection left out for being late (policy 'avvis')."""
    path = records_folder(course_root, assignment).with_name(f"{assignment}.sene.json")
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found: dict[str, list[dict]] = {}
    for entry in entries:
        found.setdefault(entry.get("student", "?"), []).append(entry)
    return found


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


# ---------------------------------------------------------------------------
# Feedback


class SecureExchangeReleaseFeedback(ExchangeReleaseFeedback):
    """Release feedback into a folder nobody else can list (0711), each file readable by name (0644)."""

    def init_dest(self):
        super().init_dest()
        path = self.outbound_feedback_path
        st = os.lstat(path)
        if not self.coursedir.groupshared and st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) != FEEDBACK_MODE:
            os.chmod(path, FEEDBACK_MODE)

    def copy_files(self):
        super().copy_files()
        me = os.geteuid()
        with os.scandir(self.dest_path) as entries:
            for entry in entries:
                if entry.name.endswith(".html") and entry.is_file(follow_symlinks=False) \
                        and entry.stat(follow_symlinks=False).st_uid == me:
                    os.chmod(entry.path, FEEDBACK_FILE_MODE)


# ---------------------------------------------------------------------------
# Command line (an administrator's set-up)


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


if __name__ == "__main__":
    raise SystemExit(main())
