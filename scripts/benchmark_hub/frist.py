"""The deadline (``--scenario frist``): N students log in, fetch and submit through the hub at once.

1. The instructor releases oppgave_01 through Formgrader's API.
2. The deadline: N threads wait at a barrier, then each student, as a browser
   would: logs in on the hub's login form, is sent to /hub/spawn, follows the
   spawn-pending page's progress stream until the server is ready, opens
   JupyterLab (the OAuth round trip to the hub and the API calls JupyterLab
   makes when it starts), opens the assignment list and fetches, writes an
   answer with a marker of their own in the reflection (the contents API), and
   submits. A request that fails (no connection, a timeout, 5xx, 429, a spawn
   that failed or is still pending, nbgrader answering "success": false) is
   retried with a growing pause, as a student clicking again would; every retry
   is counted, and a step still failing after ten minutes is a failure.
3. Memory (psutil, RSS, USS and PSS): the hub, the proxy, Formgrader, each
   student's server, and one server with a kernel that has run a lesson.
4. `course grade oppgave_01` as the grading account (PostgreSQL gradebook), then
   the checks: every submission collected, none lost or mixed up (each collected
   notebook holds its own student's marker and no one else's), each
   timestamp.txt inside that student's own submit request, the gradebook's
   submission time equal to it, no change-time finding, and every student with
   the full automatic score in `course report`'s export.

It prints the figures and what one machine of this size holds, writes them as
JSON, and exits 1 if a check failed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import pwd
import re
import secrets
import statistics
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
from sqlalchemy.engine import make_url

from answers import answer_like_the_solution, points
from postgres import PG_BIN
from test_hub import _release

from . import ROOT
from .browser import Aborted, Browser, Permanent, Student, Transient
from .klasse import ASSIGNMENT, COURSE_ID, LESSON, BenchClass
from .measure import (GIB, MIB, Sampler, check_routes, cpu_seconds, free_m, hub_and_proxy, kernels_of, memory,
                      processes_of, servers_of, tree_memory)
from .report import _count, _reason, capacity, print_report, stats

TIMESTAMP_TOLERANCE = 0.001  # seconds: timestamp.txt has microseconds, both clocks are this machine's
MARKER = re.compile(r"MERKE-[a-z0-9]+-[0-9a-f]{8}")


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--reserve-gib", type=float, default=4.0, metavar="GIB",
                       help="minne som holdes av til operativsystemet, huben, proxyen, Formgrader, PostgreSQL og "
                            "rettingen når kapasiteten regnes ut (standard 4)")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Nothing to check beyond the shared options."""


@dataclass
class DeadlineStudent(Student):
    marker: str = ""
    submit_window: tuple[float, float] = (0.0, 0.0)


class DeadlineBrowser(Browser):
    """A student at the deadline: after log-in, spawn and JupyterLab, the assignment list, fetch, answer, submit."""

    student: DeadlineStudent

    def fetch(self) -> None:
        """Open the assignment list, and fetch: the list that comes back must show the exercise fetched."""
        listing = self.api("GET", f"assignments?course_id={COURSE_ID}").json()
        if not listing.get("success"):
            raise Transient(f"assignment list: {str(listing.get('value'))[-200:]}")
        reply = self.api("POST", "assignments/fetch", data={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
        if "fetched" not in _statuses(reply.json()):
            raise Transient(f"fetch did not fetch: {json.dumps(reply.json())[:300]}")

    def answer(self, solution: Path) -> None:
        path = f"api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        nb = nbformat.from_dict(self.api("GET", f"{path}?content=1").json()["content"])
        nb = answer_like_the_solution(nb, solution, f"Refleksjonen min om frivilligsentralen. {self.student.marker}")
        self.api("PUT", path, json={"type": "notebook", "format": "json", "content": nb})

    def submit(self) -> None:
        reply = self.api("POST", "assignments/submit", data={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
        result = reply.json()
        if not result.get("success"):
            raise Transient(f"nbgrader submit: {str(result.get('value'))[-300:]}")
        if "submitted" not in _statuses(result):
            raise Transient(f"submit: not listed as submitted: {json.dumps(result)[:300]}")

    def run(self, barrier: threading.Barrier, solution: Path) -> None:
        s = self.student
        try:
            barrier.wait()
            s.started = time.time()
            self.timed("login", self.log_in)
            self.timed("spawn", self.spawn)
            self.timed("open", self.open_lab)
            self.timed("fetch", self.fetch)
            self.timed("answer", lambda: self.answer(solution))
            first = time.time()
            self.timed("submit", self.submit)
            s.submit_window = (first, time.time())
            s.finished = s.submit_window[1]
        except Aborted:
            s.error = s.error or "aborted"
        except Permanent as error:
            s.error = str(error)
        except Exception as error:  # a bug in this script must not hang the barrier's other side
            s.error = f"{type(error).__name__}: {error}"


def _statuses(listing: dict) -> set[str]:
    """The exercise's statuses in an assignment list (nbgrader lists the fetched copy and each submission apart)."""
    return {item.get("status") for item in listing.get("value") or []
            if isinstance(item, dict) and item.get("assignment_id") == ASSIGNMENT and item.get("course_id") == COURSE_ID}


def run_kernel(browser: Browser, lesson: Path) -> str:
    """Start a kernel on the student's server through its API and run a lesson's code cells in it, over the websocket."""
    kernel = browser.api("POST", "api/kernels", json={"name": "python3"}).json()
    ws = browser.kernel_websocket(kernel["id"], timeout=180)
    session = uuid.uuid4().hex
    code = "\n".join(cell.source for cell in nbformat.read(lesson, as_version=4).cells if cell.cell_type == "code")
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": browser.name, "session": session, "msg_type": "execute_request",
                   "version": "5.3", "date": dt.datetime.now(dt.timezone.utc).isoformat()},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    while True:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") == msg_id and msg["header"]["msg_type"] == "execute_reply":
            ws.close()
            status = msg["content"]["status"]
            if status != "ok":
                raise RuntimeError(f"the lesson's code failed in the kernel: {msg['content'].get('evalue')}")
            return kernel["id"]


# --- The scenario -------------------------------------------------------------------------


def run(klasse: BenchClass, args: argparse.Namespace, stop: threading.Event, result: dict, failures: list[str],
        log_marks: dict[str, int]) -> None:
    """Release, the deadline, memory with every server up, grading, the checks: figures into ``result``."""
    hub, proxy = hub_and_proxy(klasse)
    result["memory_before"] = {"hub": memory(hub), "proxy": memory(proxy)}
    cpu_before = {"hub": cpu_seconds(hub), "proxy": cpu_seconds(proxy)}

    t = time.monotonic()
    _release(klasse)
    result["release_seconds"] = time.monotonic() - t

    # --- The deadline ---
    solution = klasse.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    students = [DeadlineStudent(name, marker=f"MERKE-{name}-{secrets.token_hex(4)}") for name in klasse.students]
    browsers = [DeadlineBrowser(klasse.hub.url, s, stop) for s in students]
    barrier = threading.Barrier(len(browsers))
    threads = [threading.Thread(target=b.run, args=(barrier, solution), daemon=True) for b in browsers]
    sampler = Sampler()
    sampler.start()
    vm_before = psutil.virtual_memory()
    load_before = os.getloadavg()
    me = psutil.Process()
    client_cpu = me.cpu_times().user + me.cpu_times().system
    log_marks["deadline"] = klasse.hub.log_path.stat().st_size
    print(f"Fristen: {len(threads)} studenter logger inn, starter serveren, henter, svarer og leverer samtidig ...")
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=1.0)
    log_marks["after the deadline"] = klasse.hub.log_path.stat().st_size
    # The students' browsers (this process's threads) run on the same machine and take CPU from it too.
    client_cpu = me.cpu_times().user + me.cpu_times().system - client_cpu
    done = [s for s in students if s.error is None]
    for s in students:
        if s.error:
            failures.append(f"{s.name}: {s.error}")
    first = min(s.started for s in students)
    last = max((s.finished for s in done), default=first)
    result["deadline"] = {
        "first_request_to_last_submission_s": last - first,
        "completed": len(done),
        "failed_students": [f"{s.name}: {s.error}" for s in students if s.error],
        "requests": sum(s.requests for s in students),
        "retries": sum(len(s.retries) for s in students),
        "retry_reasons": _count(f"{phase}: {_reason(reason)}" for s in students for phase, reason in s.retries),
        "students_with_retries": sum(1 for s in students if s.retries),
        "phases": {p: stats([s.phases[p] for s in students if p in s.phases])
                   for p in ("login", "spawn", "open", "fetch", "answer", "submit")},
        "load_before": load_before, "load_after": os.getloadavg(), "client_cpu_s": client_cpu,
    }
    ready = sorted(s.ready for s in students if s.ready)
    spawn_start = min((s.spawn_requested for s in students if s.spawn_requested), default=first)
    if ready:
        span = ready[-1] - spawn_start
        result["deadline"]["spawn_span_s"] = span
        result["deadline"]["spawns_per_minute"] = len(ready) / span * 60 if span > 0 else None
    starts = sorted(s.submit_window[0] for s in done)
    if starts:
        # How close together the submissions came: the exchange's concurrency is tested only if they overlap.
        result["deadline"]["submits_within_s"] = starts[-1] - starts[0]
        result["deadline"]["most_submits_in_one_second"] = max(
            sum(1 for x in starts if a <= x < a + 1) for a in starts)
    window = sampler.between(first, last)
    if window:
        result["deadline"]["cpu_percent_mean"] = statistics.mean(x["cpu"] for x in window)
        result["deadline"]["load1_max"] = max(x["load1"] for x in window)
        result["deadline"]["memory_used_peak_gib"] = max(x["used"] for x in window) / GIB

    # --- Memory, with every student's server running (idle after submitting) ---
    uids = {pwd.getpwnam(s).pw_uid: s for s in klasse.students}
    servers = servers_of(set(uids))
    per_server = {uids[uid]: tree_memory(p) for uid, p in servers.items()}
    grader_uid = pwd.getpwnam(klasse.grader).pw_uid
    formgrader = servers_of({grader_uid}).get(grader_uid)
    pg = processes_of(pwd.getpwnam(klasse.postgres.owner).pw_uid)
    vm_after = psutil.virtual_memory()
    result["memory"] = {
        "hub": memory(hub), "proxy": memory(proxy),
        "formgrader": tree_memory(formgrader) if formgrader else None,
        "postgresql": {k: sum(memory(p)[k] for p in pg) for k in ("rss", "uss", "pss")},
        "servers_running": len(servers),
        "server": {k: stats([m[k] for m in per_server.values()]) for k in ("rss", "uss", "pss")},
        "servers_total": {k: sum(m[k] for m in per_server.values()) for k in ("rss", "uss", "pss")},
        "used_before_gib": vm_before.used / GIB, "used_after_gib": vm_after.used / GIB,
        "used_per_student_mib": (vm_after.used - vm_before.used) / len(servers) / MIB if servers else None,
    }
    result["free_with_servers"] = free_m()
    result["cpu"] = {
        "hub_s": cpu_seconds(hub) - cpu_before["hub"], "proxy_s": cpu_seconds(proxy) - cpu_before["proxy"],
        "server_s": stats([cpu_seconds(p) for p in servers.values()]),
    }
    result["cpu"]["per_student_s"] = (result["cpu"]["hub_s"] + result["cpu"]["proxy_s"]) / max(1, len(servers)) \
        + result["cpu"]["server_s"].get("median", 0)

    result["routes"] = check_routes(proxy, servers, uids)
    for problem in result["routes"]["problems"]:
        failures.append(f"proxy route: {problem}")

    # One student working in a lesson: a kernel that has run a lesson's code.
    first_student = next((b for b in browsers if b.student.error is None), None)
    if first_student:
        run_kernel(first_student, ROOT / "lessons" / LESSON)
        proc = servers[pwd.getpwnam(first_student.name).pw_uid]
        kernels = kernels_of(proc)
        result["memory"]["server_with_kernel"] = tree_memory(proc)
        result["memory"]["kernel"] = {k: sum(memory(p)[k] for p in kernels) for k in ("rss", "uss", "pss")}
        result["memory"]["server_alone"] = per_server[first_student.name]

    # --- Grading, as the grading account (PostgreSQL gradebook) ---
    grader_peak = {"rss": 0.0}
    halt = threading.Event()
    formgrader_pids = {formgrader.pid, *(c.pid for c in formgrader.children(recursive=True))} if formgrader else set()

    def watch_grader() -> None:
        while not halt.wait(0.5):
            total = 0.0
            for p in processes_of(grader_uid):
                if p.pid not in formgrader_pids:
                    try:
                        total += p.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            grader_peak["rss"] = max(grader_peak["rss"], total)

    watcher = threading.Thread(target=watch_grader, daemon=True)
    watcher.start()
    t = time.monotonic()
    graded = klasse.as_grader("course", "grade", ASSIGNMENT, "--uten-fremdrift", check=False)
    result["grade_seconds"] = time.monotonic() - t
    halt.set()
    result["grade_peak_rss_gib"] = grader_peak["rss"] / GIB
    result["grade_output"] = (graded.stdout + graded.stderr)[-6000:]
    sampler.halt.set()
    failures += verify(klasse, students, solution, graded, result)


def report(result: dict, args: argparse.Namespace) -> None:
    """What one machine holds, and the printed report (nothing when the deadline did not start)."""
    if "deadline" in result:
        result["capacity"] = capacity(result, args.reserve_gib)
        print_report(result)


# --- Checks -------------------------------------------------------------------------------


def _timestamp(text: str) -> float:
    return dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S.%f %Z").replace(tzinfo=dt.timezone.utc).timestamp()


def verify(klasse: BenchClass, students: list[DeadlineStudent], solution: Path, graded: subprocess.CompletedProcess,
           result: dict) -> list[str]:
    """Every submission collected, none mixed up, each timestamp in its own submit request, every grade in place."""
    failures: list[str] = []
    n = len(students)
    output = graded.stdout + graded.stderr
    if f"Retting av {ASSIGNMENT}: {n} innleveringer, {n} rettet, 0 ikke rettet." not in output:
        failures.append(f"course grade did not grade all {n}: {output[-1500:]}")
    if "Endret etter innlevering (0)" not in output:
        failures.append("course grade reports changes after submitting (see grade_output)")

    inbound = klasse.exchange / COURSE_ID / "inbound"
    per_student: dict[str, int] = {}
    for entry in os.listdir(inbound):
        if not entry.startswith("."):
            per_student[entry.split("+", 1)[0]] = per_student.get(entry.split("+", 1)[0], 0) + 1
    leftovers = [e for e in os.listdir(inbound) if e.startswith(".")]
    if leftovers:
        failures.append(f"staging folders left in inbound/: {leftovers[:5]}")

    margins = []
    checks = {"collected": 0, "own_marker_only": 0, "timestamp_in_window": 0}
    for s in students:
        folder = klasse.course / "submitted" / s.name / ASSIGNMENT
        notebook = folder / f"{ASSIGNMENT}.ipynb"
        if not notebook.is_file():
            failures.append(f"{s.name}: not collected (lost)")
            continue
        checks["collected"] += 1
        found = set(MARKER.findall(notebook.read_text(encoding="utf-8")))
        if found != {s.marker}:
            failures.append(f"{s.name}: collected notebook holds markers {sorted(found)}, expected only {s.marker}")
        else:
            checks["own_marker_only"] += 1
        stamp = _timestamp((folder / "timestamp.txt").read_text(encoding="utf-8"))
        start, end = s.submit_window
        if start - TIMESTAMP_TOLERANCE <= stamp <= end + TIMESTAMP_TOLERANCE:
            checks["timestamp_in_window"] += 1
            margins.append(min(stamp - start, end - stamp))
        else:
            failures.append(f"{s.name}: timestamp {stamp:.6f} outside the submit request {start:.6f}..{end:.6f}")
        s.__dict__["stamp"] = stamp
        if per_student.get(s.name, 0) != 1:
            # A retried submit may leave two; collect takes the latest. Worth seeing, not a loss.
            result.setdefault("inbound_not_one", {})[s.name] = per_student.get(s.name, 0)
    strangers = set(per_student) - {s.name for s in students}
    if strangers:
        failures.append(f"submissions in inbound/ from accounts that did not submit: {sorted(strangers)}")

    # The gradebook's submission time is timestamp.txt's, to the microsecond.
    database = make_url(klasse.db_url).database
    rows = klasse.as_grader(str(PG_BIN / "psql"), database, "-h", str(klasse.postgres.socket), "-XAtF|", "-c",
                            "select s.student_id, to_char(s.timestamp, 'YYYY-MM-DD HH24:MI:SS.US') "
                            "from submitted_assignment s join assignment a on s.assignment_id = a.id "
                            f"where a.name = '{ASSIGNMENT}'").stdout.splitlines()
    in_gradebook = {}
    for row in rows:
        student, _, when = row.partition("|")
        in_gradebook[student] = when
    checks["gradebook_time_equal"] = 0
    for s in students:
        stamp = s.__dict__.get("stamp")
        when = in_gradebook.get(s.name)
        if stamp is None:
            continue
        if when is None:
            failures.append(f"{s.name}: no submission in the gradebook")
        elif abs(dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc).timestamp() - stamp) > 1e-6:
            failures.append(f"{s.name}: gradebook time {when} differs from timestamp.txt")
        else:
            checks["gradebook_time_equal"] += 1

    # Every student has the full automatic score in the instructor's export.
    auto = points(solution, kind="auto")
    csv_path = Path(f"/home/{klasse.grader}/karakterer-benchmark.csv")
    reported = klasse.as_grader("course", "report", "--csv", str(csv_path), "--mappe", f"/home/{klasse.grader}/rapport",
                                check=False)
    checks["graded_full_auto"] = 0
    if reported.returncode != 0:
        failures.append(f"course report failed: {(reported.stdout + reported.stderr)[-800:]}")
    else:
        with csv_path.open(encoding="utf-8") as handle:
            grades = {row["student_id"]: row.get(ASSIGNMENT, "") for row in csv.DictReader(handle)}
        for s in students:
            if grades.get(s.name, "") == "":
                failures.append(f"{s.name}: no grade in course report's export")
            elif abs(float(grades[s.name]) - auto) > 1e-9:
                failures.append(f"{s.name}: {grades[s.name]} points, expected {auto:g}")
            else:
                checks["graded_full_auto"] += 1
    result["checks"] = {**checks, "of": n, "auto_points": auto,
                        "timestamp_tolerance_s": TIMESTAMP_TOLERANCE,
                        "timestamp_margin_min_s": min(margins) if margins else None}
    return failures
