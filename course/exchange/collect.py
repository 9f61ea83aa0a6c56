"""The grader's collect: only each student's own folder, checked for changes, and measured against their own deadline."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import pwd
import shutil
import stat
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.utils import check_mode, ignore_patterns, parse_utc
from traitlets import Float

from course import frister

from .timecheck import describe_all, describe_rejected, inspect_submission, parse_time, submission_time

RECORDS = "innleveringskontroll"  # in the course root, beside submitted/ (gitignored)


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
        if parse_time(timestamp) is None or not _safe_name(student):
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
        changes, recorded, trusted = inspect_submission(src, name_timestamp, self.grace_seconds)
        findings.extend(changes)
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
