"""Benchmark: the deadline on the class server. N students log in, fetch and submit through the hub at once.

    sudo make benchmark-hub HUB_BENCH_ARGS="--studenter 30 --json /tmp/frist.json"
    sudo .venv/bin/python scripts/benchmark_hub.py [--studenter 30] [--json FILE]

Run as root: it sets up a class the way tests/test_hub.py does (its ``Klasse``:
real Unix accounts made by deploy/add-accounts.sh, deploy/setup-server.sh, a
PostgreSQL cluster of its own, the hub from deploy/jupyterhub_config.py) with
N student accounts, all under one unique tag, and removes everything again at
the end, also on failure or Ctrl+C (the hub by its pid, the cluster, /srv/<tag>,
the accounts and their processes).

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
JSON, and exits 1 if a check failed. Not a test: the timings depend on the
machine and on what else runs on it (the load average is recorded).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import html
import json
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import urlparse
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import requests
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from answers import answer_like_the_solution, points  # noqa: E402
from hub import login_form  # noqa: E402
from postgres import PG_BIN  # noqa: E402
from test_hub import ASSIGNMENT, COURSE_ID, Klasse, _release  # noqa: E402  (the hub tests' class set-up)
from unix import Accounts, skip_unless_class_server  # noqa: E402

GIB = 1024 ** 3
MIB = 1024 ** 2
# Statuses a browser meets under load and tries again after: the hub or a server is busy or not there yet.
RETRY_STATUSES = {429, 500, 502, 503, 504, 424}
GIVE_UP_AFTER = 600.0   # seconds one step may keep failing before it counts as failed
READ_TIMEOUT = 300.0    # seconds a browser waits for an answer before the student tries again
TIMESTAMP_TOLERANCE = 0.001  # seconds: timestamp.txt has microseconds, both clocks are this machine's
MARKER = re.compile(r"MERKE-[a-z0-9]+-[0-9a-f]{8}")
# The kernel measured is one that has run this lesson's code: the heaviest (pandas, matplotlib, the charts).
LESSON = "02_offentlig_sektor_kan_ikke_lose_alt.ipynb"


class Transient(Exception):
    """A failure a browser (or the student) tries again after."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


class Permanent(Exception):
    """A failure that trying again does not mend (a wrong answer, not a busy server)."""


class Aborted(Exception):
    """The benchmark is stopping (Ctrl+C or another failure)."""


@dataclass
class Student:
    name: str
    marker: str
    phases: dict[str, float] = field(default_factory=dict)   # phase -> seconds
    started: float = 0.0        # wall clock of the first request
    spawn_requested: float = 0.0
    ready: float = 0.0          # wall clock when the hub reported the server ready
    submit_window: tuple[float, float] = (0.0, 0.0)
    finished: float = 0.0
    retries: list[tuple[str, str]] = field(default_factory=list)  # (phase, reason)
    requests: int = 0
    error: str | None = None


class Browser:
    """One student's browser: a cookie session; requests sent with the headers a browser sends, retried when busy."""

    def __init__(self, base: str, student: Student, stop: threading.Event) -> None:
        self.base = base
        self.student = student
        self.name = student.name
        self.stop = stop
        self.session = requests.Session()

    # --- requests ------------------------------------------------------------

    def _headers(self, mode: str, xsrf: bool) -> dict[str, str]:
        # Sec-Fetch-* as a browser sends them: JupyterHub checks XSRF by them (page loads need none).
        headers = {"Sec-Fetch-Mode": mode, "Sec-Fetch-Site": "same-origin"}
        if xsrf:
            token = self.server_xsrf()
            if token:
                headers["X-XSRFToken"] = token
        return headers

    def request(self, method: str, path: str, *, mode: str = "cors", xsrf: bool = False,
                redirects: bool = False, timeout: float = READ_TIMEOUT, **kwargs) -> requests.Response:
        if self.stop.is_set():
            raise Aborted()
        self.student.requests += 1
        url = path if path.startswith("http") else self.base + path
        try:
            reply = self.session.request(method, url, headers=self._headers(mode, xsrf), timeout=(10, timeout),
                                         allow_redirects=redirects, **kwargs)
        except requests.RequestException as error:
            raise Transient(f"{method} {_short(path)}: {type(error).__name__}") from None
        if reply.status_code in RETRY_STATUSES:
            wait = reply.headers.get("Retry-After")
            raise Transient(f"{method} {_short(path)}: HTTP {reply.status_code}",
                            float(wait) if wait and wait.isdigit() else None)
        return reply

    def server_xsrf(self) -> str | None:
        """The ``_xsrf`` cookie of the student's own server (JupyterLab sends it back as X-XSRFToken)."""
        found = [c for c in self.session.cookies if c.name == "_xsrf" and c.path.rstrip("/") == f"/user/{self.name}"]
        return found[-1].value if found else None

    def attempt(self, phase: str, step):
        """Run ``step`` until it succeeds: a transient failure is counted and tried again after a growing pause."""
        pause = 1.0
        deadline = time.monotonic() + GIVE_UP_AFTER
        while True:
            if self.stop.is_set():
                raise Aborted()
            try:
                return step()
            except Transient as error:
                self.student.retries.append((phase, str(error)))
                wait = error.wait if error.wait is not None else pause * random.uniform(0.75, 1.25)
                if time.monotonic() + wait > deadline:
                    raise Permanent(f"{phase}: still failing after {GIVE_UP_AFTER:.0f} s: {error}") from None
                if self.stop.wait(wait):
                    raise Aborted() from None
                pause = min(pause * 2, 16.0)

    def timed(self, phase: str, step):
        start = time.monotonic()
        result = self.attempt(phase, step)
        self.student.phases[phase] = time.monotonic() - start
        return result

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """A JupyterLab request to the student's own server; an answer other than 200 and not worth retrying fails."""
        reply = self.request(method, f"/user/{self.name}/{path}", mode="cors", xsrf=True, **kwargs)
        if reply.status_code not in (200, 201):
            raise Permanent(f"{method} {_short(path)}: HTTP {reply.status_code}: {reply.text[:300]}")
        return reply

    # --- the steps -----------------------------------------------------------

    def log_in(self) -> None:
        page = self.request("GET", "/hub/login", mode="navigate")
        if page.status_code != 200:
            raise Permanent(f"the log-in page answered {page.status_code}")
        reply = self.request("POST", "/hub/login", mode="navigate", data=login_form(page.text, self.name))
        if reply.status_code != 302:
            raise Permanent(f"log-in answered {reply.status_code}: {reply.text[:300]}")

    def spawn(self) -> None:
        """Start the server as the log-in's redirect does (/hub/spawn), and wait on the spawn-pending page."""
        if not self.student.spawn_requested:
            self.student.spawn_requested = time.time()
        reply = self.request("GET", "/hub/spawn", mode="navigate")
        while True:
            if reply.status_code == 302:
                location = reply.headers["Location"]
                if "/spawn-pending/" in location:
                    reply = self.request("GET", location, mode="navigate")
                    continue
                if f"/user/{self.name}" in location:
                    self.student.ready = self.student.ready or time.time()
                    return  # ready: the page sends the browser to the server
                raise Permanent(f"spawning sent the browser to {location}")
            if reply.status_code == 200 and "EventSource(" in reply.text:
                self.follow_progress(html.unescape(re.search(r'EventSource\("([^"]+)"\)', reply.text).group(1)))
                # The page reloads itself when the stream says ready; spawn-pending then redirects.
                reply = self.request("GET", f"/hub/spawn-pending/{self.name}", mode="navigate")
                continue
            raise Permanent(f"spawning answered {reply.status_code}: {reply.text[:300]}")

    def follow_progress(self, url: str) -> None:
        """The spawn-pending page's EventSource: read events until ready (or failed)."""
        reply = self.request("GET", url, mode="cors", stream=True, timeout=200)
        if reply.status_code != 200:
            raise Permanent(f"the progress stream answered {reply.status_code}")
        try:
            for line in reply.iter_lines(decode_unicode=True):
                if not line or not line.startswith("data:"):
                    continue
                event = json.loads(line[len("data:"):])
                if event.get("failed"):
                    raise Transient(f"spawn failed: {event.get('message', '')[:200]}")
                if event.get("ready"):
                    self.student.ready = time.time()
                    return
        except requests.RequestException as error:
            raise Transient(f"progress stream: {type(error).__name__}") from None
        finally:
            reply.close()

    def open_lab(self) -> None:
        """Open JupyterLab: the page (the OAuth round trip to the hub on the way), then the calls it makes at start."""
        page = self.request("GET", f"/user/{self.name}/lab", mode="navigate", redirects=True)
        if page.status_code != 200 or not page.url.rstrip("/").endswith(f"/user/{self.name}/lab"):
            if "/spawn-pending/" in page.url or "/hub/user/" in page.url:
                raise Transient(f"the server is not ready yet ({_short(page.url)})")
            raise Permanent(f"JupyterLab answered {page.status_code} at {page.url}")
        if not self.student.ready:
            self.student.ready = time.time()
        for path in ("api/me", "lab/api/settings", "api/kernelspecs", "api/sessions",
                     "api/contents?content=1&hash=0", "nbgrader_version?version=0.9.6"):
            self.api("GET", path)

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


def _short(path: str) -> str:
    return re.sub(r"^https?://[^/]+", "", path).split("?")[0][:80]


def _statuses(listing: dict) -> set[str]:
    """The exercise's statuses in an assignment list (nbgrader lists the fetched copy and each submission apart)."""
    return {item.get("status") for item in listing.get("value") or []
            if isinstance(item, dict) and item.get("assignment_id") == ASSIGNMENT and item.get("course_id") == COURSE_ID}


# --- The class ------------------------------------------------------------------------


class Deadline(Klasse):
    """test_hub's class (instructor, grader, PostgreSQL, hub) with N students of its own, all under one tag."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.accounts = Accounts("b")
        self.n = n
        self.students: list[str] = []

    def set_up(self) -> "Deadline":
        # Before the hub starts: it lets in the members the course's groups have when it starts.
        self.students = self.accounts.students([f"s{i:03d}" for i in range(1, self.n + 1)])
        return super().set_up()


# --- Measuring ----------------------------------------------------------------------------


def memory(proc: psutil.Process) -> dict[str, float]:
    info = proc.memory_full_info()
    return {"rss": info.rss, "uss": info.uss, "pss": getattr(info, "pss", info.uss)}


def tree_memory(proc: psutil.Process) -> dict[str, float]:
    """A process and everything under it (a server and its kernels), summed."""
    total = {"rss": 0.0, "uss": 0.0, "pss": 0.0}
    for p in [proc, *proc.children(recursive=True)]:
        try:
            for key, value in memory(p).items():
                total[key] += value
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def servers_of(uids: set[int]) -> dict[int, psutil.Process]:
    """uid -> that account's jupyterhub-singleuser process."""
    found = {}
    for p in psutil.process_iter(["uids", "cmdline"]):
        try:
            if p.info["uids"].real in uids and any("jupyterhub-singleuser" in a for a in p.info["cmdline"] or []):
                found[p.info["uids"].real] = p
        except (psutil.NoSuchProcess, TypeError):
            pass
    return found


def processes_of(uid: int) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]


def check_routes(proxy: psutil.Process, servers: dict[int, psutil.Process], uids: dict[int, str]) -> dict:
    """Does the proxy send each student to the port their own server listens on? (The proxy's REST API, as root.)"""
    cmd = proxy.cmdline()
    api_port = cmd[cmd.index("--api-port") + 1]
    token = proxy.environ().get("CONFIGPROXY_AUTH_TOKEN", "")
    routes = requests.get(f"http://127.0.0.1:{api_port}/api/routes", headers={"Authorization": f"token {token}"},
                          timeout=30).json()
    listening: dict[str, set[int]] = {}
    for uid, proc in servers.items():
        try:
            listening[uids[uid]] = {c.laddr.port for c in proc.net_connections(kind="inet")
                                    if c.status == psutil.CONN_LISTEN}
        except psutil.NoSuchProcess:
            pass
    owner_of_port = {port: name for name, ports in listening.items() for port in ports}
    problems = []
    for name in uids.values():
        route = routes.get(f"/user/{name}") or routes.get(f"/user/{name}/")
        if not route:
            problems.append(f"{name} has no route")
            continue
        port = urlparse(route["target"]).port
        if port not in listening.get(name, set()):
            problems.append(f"{name}'s route goes to port {port}, where "
                            f"{owner_of_port.get(port, 'no server of a student')} listens "
                            f"({name}'s own server: {sorted(listening.get(name, [])) or 'not running'})")
    return {"routes": len(routes), "problems": problems}


def free_m() -> str:
    return subprocess.run(["free", "-m"], capture_output=True, text=True).stdout.strip()


class Sampler(threading.Thread):
    """Every second: memory in use, the 1-minute load and CPU use, while the deadline and the grading run."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[dict] = []
        self.halt = threading.Event()
        psutil.cpu_percent(interval=None)

    def run(self) -> None:
        while not self.halt.wait(1.0):
            vm = psutil.virtual_memory()
            self.samples.append({"t": time.time(), "used": vm.used, "available": vm.available,
                                 "load1": os.getloadavg()[0], "cpu": psutil.cpu_percent(interval=None)})

    def between(self, start: float, end: float) -> list[dict]:
        return [s for s in self.samples if start <= s["t"] <= end]


def run_kernel(browser: Browser, lesson: Path) -> str:
    """Start a kernel on the student's server through its API and run a lesson's code cells in it, over the websocket."""
    import websocket

    kernel = browser.api("POST", "api/kernels", json={"name": "python3"}).json()
    cookies = "; ".join(f"{c.name}={c.value}" for c in browser.session.cookies
                        if f"/user/{browser.name}/lab".startswith(c.path.rstrip("/") + "/") or c.path == "/")
    url = browser.base.replace("http", "ws", 1) + f"/user/{browser.name}/api/kernels/{kernel['id']}/channels"
    ws = websocket.create_connection(f"{url}?session_id={uuid.uuid4().hex}", timeout=180,
                                     header=[f"Cookie: {cookies}", "Sec-Fetch-Mode: websocket"])
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


# --- Report -----------------------------------------------------------------------------


def stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "max": max(values), "min": min(values)} if values else {}


def mib(value: float) -> str:
    return f"{value / MIB:.0f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studenter", type=int, default=30, metavar="N", help="student accounts (default 30)")
    parser.add_argument("--json", type=Path, metavar="FIL",
                        default=Path(f"/tmp/benchmark-hub-{time.strftime('%Y%m%d-%H%M%S')}.json"),
                        help="where the figures are written as JSON (default /tmp/benchmark-hub-<time>.json)")
    parser.add_argument("--reserve-gib", type=float, default=4.0,
                        help="memory kept for the OS, hub, proxy, Formgrader, PostgreSQL and grading (default 4)")
    args = parser.parse_args()
    if args.studenter < 1:
        parser.error("--studenter must be at least 1")
    try:
        skip_unless_class_server()
    except BaseException as why:  # pytest's Skipped: not root, or no class-server environment
        print(f"benchmark-hub: {why}", file=sys.stderr)
        return 2

    # Ctrl+C and SIGTERM both end in the clean-up below.
    def interrupted(*_):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, interrupted)
    stop = threading.Event()
    result: dict = {"n": args.studenter, "started": dt.datetime.now().isoformat(timespec="seconds"),
                    "machine": {"cores": os.cpu_count(), "ram_gib": round(psutil.virtual_memory().total / GIB, 1),
                                "load_at_start": os.getloadavg()}}
    print(f"Machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / GIB:.1f} GiB RAM, "
          f"load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    result["free_before"] = free_m()
    klasse = Deadline(args.studenter)
    failures: list[str] = []
    log_marks: dict[str, int] = {}
    try:
        t = time.monotonic()
        klasse.set_up()
        result["setup_seconds"] = time.monotonic() - t
        print(f"Class set up in {result['setup_seconds']:.0f} s: {args.studenter} students ({klasse.accounts.tag}s001 ...), "
              f"hub at {klasse.hub.url}, PostgreSQL at {klasse.postgres.socket}")
        hub = psutil.Process(klasse.hub.proc.pid)
        proxy = next(p for p in hub.children(recursive=True) if "configurable-http-proxy" in " ".join(p.cmdline()))
        result["memory_before"] = {"hub": memory(hub), "proxy": memory(proxy)}
        cpu_before = {"hub": cpu_seconds(hub), "proxy": cpu_seconds(proxy)}

        t = time.monotonic()
        _release(klasse)
        result["release_seconds"] = time.monotonic() - t

        # --- The deadline ---
        solution = klasse.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        students = [Student(name, f"MERKE-{name}-{secrets.token_hex(4)}") for name in klasse.students]
        browsers = [Browser(klasse.hub.url, s, stop) for s in students]
        barrier = threading.Barrier(len(browsers))
        threads = [threading.Thread(target=b.run, args=(barrier, solution), daemon=True) for b in browsers]
        sampler = Sampler()
        sampler.start()
        vm_before = psutil.virtual_memory()
        load_before = os.getloadavg()
        me = psutil.Process()
        client_cpu = me.cpu_times().user + me.cpu_times().system
        log_marks["deadline"] = klasse.hub.log_path.stat().st_size
        print(f"The deadline: {len(threads)} students log in, start, fetch, answer and submit at once ...")
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
            kernels = [p for p in proc.children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]
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
        result["machine"]["load_at_end"] = os.getloadavg()
        result["free_after"] = free_m()
    except KeyboardInterrupt:
        failures.append("interrupted")
        print("\nInterrupted: cleaning up ...", file=sys.stderr)
    except Exception:
        failures.append(f"the benchmark stopped:\n{traceback.format_exc()}")
        print(f"\nThe benchmark stopped: cleaning up ...\n{traceback.format_exc()}", file=sys.stderr)
    finally:
        stop.set()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the clean-up runs to its end
        try:
            if klasse.hub is not None:
                result["hub_log"] = hub_log_summary(klasse.hub.log_path, log_marks)
                shutil.copyfile(klasse.hub.log_path, args.json.with_suffix(".hub.log"))
        except Exception:
            result["hub_log"] = {"unreadable": traceback.format_exc()}
        t = time.monotonic()
        try:
            klasse.tear_down()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        result["teardown_seconds"] = time.monotonic() - t

    result["failures"] = failures
    if "deadline" in result:
        result["capacity"] = capacity(result, args.reserve_gib)
        print_report(result)
    args.json.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    print(f"\nFigures written to {args.json}")
    if failures:
        print(f"\nFAILED ({len(failures)}):", *failures[:40], sep="\n  ")
        return 1
    print("All checks passed.")
    return 0


def hub_log_summary(path: Path, marks: dict[str, int]) -> dict:
    """The hub's, its proxy's and the servers' errors and warnings, counted by message (no names, no times).

    ``marks`` are offsets in the log where a part of the run began (e.g. the
    deadline); each part is summed up on its own, the part before the first
    mark as "set-up".
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    bounds = [("set-up", 0), *sorted(marks.items(), key=lambda kv: kv[1])]
    parts = {}
    for i, (name, start) in enumerate(bounds):
        end = bounds[i + 1][1] if i + 1 < len(bounds) else len(data)
        lines = data[start:end].decode(errors="replace").splitlines()
        errors, warnings = [], []
        for line in lines:
            level = re.match(r"\[([EWC]) [\d-]+ [\d:.]+ (\S+ \S+)\] (.*)", line)
            proxy = "[ConfigProxy]" in line and ("error" in line.lower() or "warn" in line.lower())
            if not (level or proxy):
                continue
            text = f"{level.group(2)} {level.group(3)}" if level else "ConfigProxy " + line.split("[ConfigProxy]", 1)[1]
            text = re.sub(r"\x1b\[\d+m", "", text)
            text = re.sub(r"sk[a-z][0-9a-f]{6}[a-z0-9]*", "<user>", text)
            text = re.sub(r"\d+(\.\d+)?(ms|s)\b", "<t>", text)
            (warnings if level and level.group(1) == "W" else errors).append(text.strip()[:200])
        parts[name] = {"lines": len(lines), "errors": _count(errors), "warnings": _count(warnings)}
    return parts


def _reason(reason: str) -> str:
    """A retry's reason without the student's own names, so that equal reasons are counted together."""
    return re.sub(r"/user/[^/ ]+", "/user/<s>", re.sub(r"/spawn-pending/[^/ ]+", "/spawn-pending/<s>", reason))[:160]


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# --- Checks -------------------------------------------------------------------------------


def _timestamp(text: str) -> float:
    return dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S.%f %Z").replace(tzinfo=dt.timezone.utc).timestamp()


def verify(klasse: Deadline, students: list[Student], solution: Path, graded: subprocess.CompletedProcess,
           result: dict) -> list[str]:
    """Every submission collected, none mixed up, each timestamp in its own submit request, every grade in place."""
    failures: list[str] = []
    n = len(students)
    report = graded.stdout + graded.stderr
    if f"Retting av {ASSIGNMENT}: {n} innleveringer, {n} rettet, 0 ikke rettet." not in report:
        failures.append(f"course grade did not grade all {n}: {report[-1500:]}")
    if "Endret etter innlevering (0)" not in report:
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


# --- Capacity -----------------------------------------------------------------------------


def capacity(result: dict, reserve_gib: float) -> dict:
    """How many students one machine of this size holds, by memory (PSS) with a reserve, and the CPU limit."""
    mem = result.get("memory", {})
    total = result["machine"]["ram_gib"] * GIB
    usable = total - reserve_gib * GIB
    out: dict = {"reserve_gib": reserve_gib, "ram_gib": result["machine"]["ram_gib"]}
    if mem.get("server"):
        idle = mem["server"]["pss"]["median"]
        out["per_idle_student_mib"] = idle / MIB
        out["idle_students"] = int(usable // idle)
    if mem.get("server_with_kernel"):
        working = mem["server_with_kernel"]["pss"]
        out["per_working_student_mib"] = working / MIB
        out["working_students"] = int(usable // working)
    d = result["deadline"]
    out["spawns_per_minute"] = d.get("spawns_per_minute")
    cpu = result.get("cpu", {}).get("per_student_s")
    if cpu:
        out["cpu_s_per_student"] = cpu
        out["students_per_minute_by_cpu"] = (result["machine"]["cores"] or 1) * 60 / cpu
    return out


def print_report(r: dict) -> None:
    d = r["deadline"]
    print(f"\n=== The deadline: {r['n']} students ===")
    print(f"first request to last submission: {d['first_request_to_last_submission_s']:.1f} s; "
          f"completed {d['completed']} of {r['n']}")
    print(f"requests {d['requests']}, failed for good {len(d['failed_students'])}, retried {d['retries']} "
          f"({d['students_with_retries']} students had to retry)")
    for reason, count in list(d["retry_reasons"].items())[:10]:
        print(f"  {count:4d} x {reason}")
    print("phase       median     max   (seconds per student)")
    for phase, s in d["phases"].items():
        if s:
            print(f"  {phase:<8} {s['median']:7.1f} {s['max']:7.1f}")
    if "submits_within_s" in d:
        print(f"submissions: all within {d['submits_within_s']:.1f} s, up to {d['most_submits_in_one_second']} "
              "started in the same second")
    if d.get("spawns_per_minute"):
        print(f"servers ready: all {r['n']} within {d['spawn_span_s']:.0f} s of the first spawn request "
              f"= {d['spawns_per_minute']:.0f} servers per minute")
    if "client_cpu_s" in d:
        print(f"the simulated browsers (this script) used {d['client_cpu_s']:.0f} CPU-seconds of the same machine")
    if "cpu_percent_mean" in d:
        print(f"during the deadline: CPU {d['cpu_percent_mean']:.0f} % of {r['machine']['cores']} cores on average, "
              f"load (1 min) up to {d['load1_max']:.1f}, memory in use up to {d['memory_used_peak_gib']:.1f} GiB")
    m = r.get("memory")
    if m:
        print("\nmemory                          RSS       USS       PSS")
        rows = [("hub", m["hub"]), ("proxy", m["proxy"]), ("Formgrader", m["formgrader"]), ("PostgreSQL", m["postgresql"])]
        rows += [("one server (median)", {k: m["server"][k]["median"] for k in ("rss", "uss", "pss")}),
                 ("one server (max)", {k: m["server"][k]["max"] for k in ("rss", "uss", "pss")})]
        if "server_with_kernel" in m:
            rows += [(f"server + kernel (lesson {LESSON[:2]})", m["server_with_kernel"]),
                     ("  of which the kernel", m["kernel"])]
        rows += [(f"all {m['servers_running']} servers", m["servers_total"])]
        for name, v in rows:
            if v:
                print(f"  {name:<28} {mib(v['rss']):>9} {mib(v['uss']):>9} {mib(v['pss']):>9}")
        for label, key in (("before the deadline", "free_before"), ("with all servers up", "free_with_servers")):
            mem_line = next((line for line in r.get(key, "").splitlines() if line.startswith("Mem:")), "")
            print(f"free -m {label:<20} {mem_line}")
        print(f"memory in use: {m['used_before_gib']:.2f} GiB before the deadline, {m['used_after_gib']:.2f} GiB with "
              f"all servers up ({m['used_per_student_mib']:.0f} MiB per student by `free`)")
    if "grade_seconds" in r:
        print(f"course grade {ASSIGNMENT}: {r['grade_seconds']:.0f} s for {r['n']} submissions "
              f"({r['grade_seconds'] / r['n']:.2f} s each), grading processes up to {r['grade_peak_rss_gib']:.2f} GiB RSS")
    c = r.get("capacity", {})
    if "working_students" in c:
        print(f"\n=== Capacity of one machine like this ({r['machine']['cores']} cores, {c['ram_gib']} GiB) ===")
        print(f"memory, keeping {c['reserve_gib']:g} GiB for the OS, hub, proxy, Formgrader, PostgreSQL and grading:")
        print(f"  {c['working_students']} students each with a kernel running a lesson "
              f"({c['per_working_student_mib']:.0f} MiB PSS each)")
        print(f"  {c['idle_students']} students with a server and no kernel ({c['per_idle_student_mib']:.0f} MiB PSS each)")
    if c.get("cpu_s_per_student"):
        print(f"CPU: {c['cpu_s_per_student']:.1f} CPU-seconds per student for log-in to submission (server, hub, proxy);"
              f" {c['students_per_minute_by_cpu']:.0f} students per minute on {r['machine']['cores']} cores at best;"
              f" measured {c['spawns_per_minute'] or 0:.0f} servers started per minute")
    for part, log in (r.get("hub_log") or {}).items():
        if not isinstance(log, dict) or "lines" not in log:
            continue
        print(f"\nhub log, {part}: {sum(log['errors'].values())} errors, {sum(log['warnings'].values())} warnings "
              f"in {log['lines']} lines")
        if part != "set-up":
            for text, count in [*log["errors"].items()][:8] + [*log["warnings"].items()][:8]:
                print(f"  {count:4d} x {text[:150]}")
    ch = r.get("checks")
    if ch:
        print(f"\nchecks: collected {ch['collected']}/{ch['of']}, own marker only {ch['own_marker_only']}/{ch['of']}, "
              f"timestamp inside own submit request {ch['timestamp_in_window']}/{ch['of']} "
              f"(tolerance {ch['timestamp_tolerance_s'] * 1000:g} ms, tightest margin "
              f"{(ch['timestamp_margin_min_s'] or 0) * 1000:.1f} ms), gradebook time equal {ch['gradebook_time_equal']}/{ch['of']}, "
              f"full automatic score ({ch['auto_points']:g}) {ch['graded_full_auto']}/{ch['of']}")
    load = r["machine"]
    print(f"load average at start {'/'.join(f'{x:.2f}' for x in load['load_at_start'])}, at the end "
          f"{'/'.join(f'{x:.2f}' for x in load.get('load_at_end', (0, 0, 0)))} (other work on this machine makes CPU "
          "timings noisy)")


if __name__ == "__main__":
    sys.exit(main())
