"""The seminar (``--scenario seminar``): N students arrive over a window and work through a lesson.

Each student, as a browser would:

1. Arrives at a time of their own: ``--vindu 0`` lets all in at once (a
   barrier, as at the deadline); ``--vindu 120`` draws each arrival uniformly
   from 0-120 s, with a fixed seed, so two runs have the same arrivals.
2. Logs in on the hub's form, starts the server and follows the spawn-pending
   page's progress stream until it is ready (the deadline's steps, browser.py).
   With ``--forhandsstart`` every server was started before the first arrival
   by deploy/forhandsstart.py (``--samtidig`` at a time), as an administrator
   or a timer does before a seminar; the log-in then finds it running.
3. Follows the course's nbgitpuller link (docs/kursserver.md)::

       /hub/user-redirect/git-pull?repo=file://<lessons>&branch=main&urlpath=lab/tree/leksjoner/lessons/<lesson>.ipynb

   The hub sends the browser on to the student's server (the OAuth round trip
   on the way) and nbgitpuller's page answers; as the page's script does, the
   student reads the pull's settings from the page, follows the pull's event
   stream (``git-pull/api``) to its ``finished`` event, and goes where the link
   points.
4. Opens the lesson there: JupyterLab (the page and the calls it makes at
   start), the notebook (contents API), a session for it (``POST
   api/sessions``, which starts the kernel), the kernel's websocket with the
   ``kernel_info_request`` JupyterLab sends and the widget manager's
   ``comm_info_request``.
5. Runs all code cells (Run All: one ``execute_request`` per code cell of the
   notebook as the server sent it, all at once, ``stop_on_error``), keeping
   every widget model the kernel opens (``comm_open``) and its later updates,
   and every widget a cell displays.
6. Answers the lesson's first five activities with the messages JupyterLab
   sends for a student's clicks (ipywidgets' comm protocol 2), and waits each
   time for the feedback.

Which activities, for any lesson: an activity is a widget a code cell displays
whose tree (the ``children`` of its boxes) holds at least one choice control,
visible and enabled, and at least one widget that shows feedback (HTML,
HTMLMath, Label or Output). A choice control is a selection (a model with
``_options_labels`` and ``index``: Dropdown, RadioButtons, Select,
ToggleButtons ...) with an option to change to, or a text field (Text,
Textarea, Combobox). The course's consent checkbox (``insight_choice()``) has
no choice control and is left alone. The first ``ACTIVITIES`` in the
notebook's order are answered:

- An activity with a button (``Sjekk svaret``, ``Velg`` ...): every choice
  control gets a value (a selection: an option other than the one shown, drawn
  from the student's own seeded random numbers; a text field: ``"50"``), each
  sent as ``{"method": "update", "state": {...}, "buffer_paths": []}`` and taken
  by the kernel before the next, as a student choosing one by one; then the
  first button is clicked, ``{"method": "custom", "content": {"event":
  "click"}}``. The answer is timed from the click.
- An activity without a button (the power/interest grid, the self-assessment,
  the risk register: they answer every change): its first choice control gets
  a new value; the answer is timed from that update.

The feedback has arrived when the kernel is done with that message (``status:
idle``) and has sent in reply to it at least one state update of a feedback
widget inside the activity, or output (for an Output widget). The time is
until the last of those: until the whole feedback is shown. No feedback within
``FEEDBACK_TIMEOUT``, or an error or stderr output from the widget's code,
fails the student.

Recorded per student: the time from the log-in's first request to the first
feedback, each answer's time, the time of each phase, retries with their
reasons, the failure. For the machine: the ``Sampler`` (CPU, load and memory
in use every second), and, with every student's lesson still open at the end,
PSS per server and per kernel. The report sets p50/p95/max against the goals
for 60 students over 120 s in lesson 2: p95 log-in to first feedback at most
20 s, p95 answer at most 1 s, no student failed. The exit code is 1 if a
student failed or a check failed; a goal not met is reported, not an error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import pwd
import random
import re
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

import nbformat
import psutil

from . import ROOT
from .browser import READ_TIMEOUT, RETRY_STATUSES, Aborted, Browser, Permanent, Student, Transient, _short
from .klasse import LESSON, BenchClass
from .measure import (GIB, MIB, Sampler, check_routes, cpu_seconds, free_m, hub_and_proxy, kernels_of, memory,
                      servers_of)
from .report import _count, _reason, print_seminar_report, spread, stats

ACTIVITIES = 5               # activities each student answers
ARRIVAL_SEED = 23            # arrivals and answers are drawn from this seed: two runs do the same
FEEDBACK_TIMEOUT = 120.0     # seconds a student waits for a widget's feedback before it counts as failed
TEXT_ANSWER = "50"           # what a student types into a text field (the estimates ask for a number)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TEXT_MODELS = {"TextModel", "TextareaModel", "ComboboxModel"}
FEEDBACK_MODELS = {"HTMLModel", "HTMLMathModel", "LabelModel", "OutputModel"}
PHASES = ("login", "spawn", "pull", "open", "kernel", "run")
# The goals the report measures against, and the conditions they are set for.
GOALS = {"students": 60, "window_s": 120.0, "lesson": Path(LESSON).stem,
         "login_to_first_feedback_p95_s": 20.0, "answer_p95_s": 1.0, "failed_students": 0}


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--vindu", type=float, default=120.0, metavar="SEKUNDER",
                       help="studentene kommer i løpet av så mange sekunder, tilfeldig fordelt med fast frø; "
                            "0 = alle samtidig (standard 120)")
    group.add_argument("--leksjon", default=Path(LESSON).stem, metavar="NAVN",
                       help=f"leksjonen i lessons/ uten .ipynb, for eksempel 01_hva_er_samskaping "
                            f"(standard {Path(LESSON).stem}, den tyngste)")
    group.add_argument("--forhandsstart", action="store_true",
                       help="start serverne før studentene kommer, med deploy/forhandsstart.py, som "
                            "administratoren gjør før et seminar")
    group.add_argument("--samtidig", type=int, default=4, metavar="N",
                       help="med --forhandsstart: så mange servere starter samtidig (standard 4)")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.vindu < 0:
        parser.error("--vindu må være 0 eller mer")
    args.leksjon = args.leksjon.removesuffix(".ipynb")
    if not (ROOT / "lessons" / f"{args.leksjon}.ipynb").is_file():
        names = ", ".join(sorted(p.stem for p in (ROOT / "lessons").glob("[0-9][0-9]_*.ipynb")))
        parser.error(f"fant ikke leksjonen {args.leksjon} i lessons/ (finnes: {names})")


def arrivals(n: int, window: float) -> list[float]:
    """Each student's arrival, in seconds after the start: uniformly random over the window, the same every run."""
    draw = random.Random(ARRIVAL_SEED)
    return [draw.uniform(0.0, window) if window > 0 else 0.0 for _ in range(n)]


@dataclass
class SeminarStudent(Student):
    offset: float = 0.0            # seconds after the start this student arrives
    first_feedback: float = 0.0    # wall clock when the first answer's feedback was all there
    activities_found: int = 0
    answers: list[dict] = field(default_factory=list)


# --- The kernel, as JupyterLab talks to it ---------------------------------------------------


def _decode(frame: str | bytes) -> dict:
    """A message from the kernel's websocket: JSON text, or jupyter_server's binary frame when it has buffers.

    The binary frame: the number of parts (uint32, big-endian), each part's
    offset, then the parts; the first part is the message as JSON.
    """
    if isinstance(frame, str):
        return json.loads(frame)
    parts = int.from_bytes(frame[:4], "big")
    offsets = [int.from_bytes(frame[4 * (i + 1):4 * (i + 2)], "big") for i in range(parts)]
    return json.loads(frame[offsets[0]:offsets[1] if parts > 1 else None])


def _model_id(reference: str) -> str:
    return reference.removeprefix("IPY_MODEL_")


class KernelChannel:
    """One kernel's websocket, and the widget models the kernel has opened on it (the browser's widget manager)."""

    def __init__(self, ws, username: str) -> None:
        self.ws = ws
        self.username = username
        self.session = uuid.uuid4().hex
        self.models: dict[str, dict] = {}   # comm id (= model id) -> the model's state as the browser knows it

    def send(self, msg_type: str, content: dict) -> str:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": self.username, "session": self.session, "msg_type": msg_type,
                       "version": "5.3", "date": dt.datetime.now(dt.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [], "content": content,
        }))
        return msg_id

    def send_comm(self, comm_id: str, data: dict) -> str:
        return self.send("comm_msg", {"comm_id": comm_id, "data": data})

    def receive(self, deadline: float, what: str) -> dict:
        """The next message from the kernel (any channel); the widget models follow what it says."""
        import websocket

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Permanent(f"{what}: no answer from the kernel in time")
        self.ws.settimeout(remaining)
        try:
            msg = _decode(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            raise Permanent(f"{what}: no answer from the kernel in time") from None
        except (websocket.WebSocketException, OSError) as error:
            raise Permanent(f"{what}: the kernel's websocket: {type(error).__name__}: {error}") from None
        self._track(msg)
        return msg

    def until_idle(self, msg_id: str, timeout: float, what: str) -> list[tuple[float, dict]]:
        """Every message sent in reply to ``msg_id``, with the wall clock it arrived, until the kernel is idle after it."""
        deadline = time.monotonic() + timeout
        replies = []
        while True:
            msg = self.receive(deadline, what)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            replies.append((time.time(), msg))
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                return replies

    def _track(self, msg: dict) -> None:
        kind, content = msg.get("msg_type"), msg.get("content") or {}
        if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            self.models[content["comm_id"]] = dict((content.get("data") or {}).get("state") or {})
        elif kind == "comm_msg" and content.get("comm_id") in self.models:
            data = content.get("data") or {}
            if data.get("method") in ("update", "echo_update"):
                self.models[content["comm_id"]].update(data.get("state") or {})
        elif kind == "comm_close":
            self.models.pop(content.get("comm_id"), None)

    def tree(self, root: str) -> list[str]:
        """A widget and everything inside it (the ``children`` of boxes), in the order the page shows them."""
        order: list[str] = []

        def walk(model: str) -> None:
            if model in order or model not in self.models:
                return
            order.append(model)
            for child in self.models[model].get("children") or []:
                walk(_model_id(child))

        walk(root)
        return order

    def usable(self, model: str) -> bool:
        """Shown and enabled: not ``disabled``, and its layout neither ``display: none`` nor hidden."""
        state = self.models.get(model, {})
        if state.get("disabled"):
            return False
        layout = self.models.get(_model_id(state.get("layout") or ""), {})
        return layout.get("display") != "none" and layout.get("visibility") != "hidden"

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # the server may be gone already
            pass


@dataclass
class Activity:
    """A widget a student answers: its cell, its choice controls, the button that asks for feedback (if any)."""

    cell: int
    label: str             # the cell's last line, e.g. activity("l02_repetisjon_1")
    root: str
    controls: list[str]
    button: str | None


def _is_choice(state: dict) -> bool:
    if "_options_labels" in state and "index" in state:
        return len(state["_options_labels"]) - (state["index"] is not None) > 0  # an option to change to
    return state.get("_model_name") in TEXT_MODELS


def find_activities(kernel: KernelChannel, displayed: list[tuple[int, str]], cells: dict[int, str]) -> list[Activity]:
    """The displayed widgets a student can answer and get feedback from, in the notebook's order (see the docstring)."""
    found = []
    for cell, root in displayed:
        models = [m for m in kernel.tree(root) if kernel.usable(m)]
        states = [kernel.models[m] for m in models]
        controls = [m for m, s in zip(models, states) if _is_choice(s)]
        buttons = [m for m, s in zip(models, states) if s.get("_model_name") == "ButtonModel"]
        shows = [m for m, s in zip(models, states) if s.get("_model_name") in FEEDBACK_MODELS]
        if controls and shows:
            lines = [line for line in cells[cell].splitlines() if line.strip()]
            found.append(Activity(cell, lines[-1].strip()[:70], root, controls, buttons[0] if buttons else None))
    return found


# --- The student ----------------------------------------------------------------------------


class SeminarBrowser(Browser):
    """A student in the seminar: log-in, spawn, the lesson link, the lesson, Run All, five answers."""

    student: SeminarStudent

    def __init__(self, base: str, student: SeminarStudent, stop: threading.Event, link: str,
                 choices: random.Random) -> None:
        super().__init__(base, student, stop)
        self.link = link
        self.choices = choices
        self.lab_path = ""                     # where the link leads, relative to the server
        self.cells: dict[int, str] = {}        # the notebook's code cells: index -> source
        self.kernel_id = ""
        self.kernel: KernelChannel | None = None
        self.displayed: list[tuple[int, str]] = []   # (cell, widget model) of every widget a cell displayed

    def pull_lessons(self) -> None:
        """Follow the lesson link to nbgitpuller's page, then do what its script does: the pull's event stream."""
        page = self.request("GET", self.link, mode="navigate", redirects=True)
        if page.status_code != 200 or f"/user/{self.name}/git-pull" not in page.url:
            if "/spawn-pending/" in page.url or "/hub/user/" in page.url:
                raise Transient(f"the server is not ready yet ({_short(page.url)})")
            raise Permanent(f"the lesson link answered {page.status_code} at {_short(page.url)}")
        body = re.search(r"<body([^>]*)>", page.text)
        settings = {key: unquote(value) for key, value in re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1))} \
            if body else {}
        if not {"base-url", "repo", "path", "targetpath"} <= settings.keys():
            raise Permanent(f"nbgitpuller's page lacks its settings: {sorted(settings)}")
        params = {"_xsrf": settings.get("xsrf", ""), "repo": settings["repo"], "targetpath": settings["targetpath"]}
        if "branch" in settings:
            params["branch"] = settings["branch"]
        stream = self.request("GET", f"{settings['base-url']}git-pull/api?{urlencode(params)}", mode="cors",
                              stream=True)
        if stream.status_code != 200:
            raise Permanent(f"nbgitpuller's event stream answered {stream.status_code}: {stream.text[:300]}")
        phase = None
        try:
            for line in stream.iter_lines(decode_unicode=True):
                if not line or not line.startswith("data:"):
                    continue
                event = json.loads(line[len("data:"):])
                phase = event.get("phase")
                if phase == "error":
                    raise Transient(f"nbgitpuller: {str(event.get('message'))[:200]}")
                if phase == "finished":
                    break
        except Exception as error:
            if isinstance(error, Transient):
                raise
            raise Transient(f"nbgitpuller's event stream: {type(error).__name__}") from None
        finally:
            stream.close()
        if phase != "finished":
            raise Transient(f"nbgitpuller's event stream ended at phase {phase}")
        self.lab_path = settings["path"]

    def open_lesson(self) -> None:
        """JupyterLab at the lesson, the notebook from the contents API, and its session (which starts the kernel)."""
        self.open_lab(self.lab_path)
        notebook = self.lab_path.removeprefix("lab/tree/")
        reply = self.api("GET", f"api/contents/{quote(notebook)}?type=notebook&content=1")
        nb = nbformat.from_dict(reply.json()["content"])
        self.cells = {i: cell.source for i, cell in enumerate(nb.cells)
                      if cell.cell_type == "code" and cell.source.strip()}
        session = self.api("POST", "api/sessions", json={
            "path": notebook, "name": Path(notebook).name, "type": "notebook", "kernel": {"name": "python3"}}).json()
        self.kernel_id = session["kernel"]["id"]

    def connect_kernel(self) -> None:
        """The kernel's websocket, and the first messages JupyterLab and its widget manager send on it."""
        import websocket

        if self.stop.is_set():
            raise Aborted()
        self.student.requests += 1
        try:
            ws = self.kernel_websocket(self.kernel_id, timeout=READ_TIMEOUT)
        except websocket.WebSocketBadStatusException as error:
            reason = f"kernel websocket: HTTP {error.status_code}"
            if error.status_code in RETRY_STATUSES:
                raise Transient(reason) from None
            raise Permanent(reason) from None
        except (websocket.WebSocketException, OSError) as error:
            raise Transient(f"kernel websocket: {type(error).__name__}") from None
        self.kernel = KernelChannel(ws, self.name)
        for msg_type, content in (("kernel_info_request", {}), ("comm_info_request", {"target_name": "jupyter.widget"})):
            self.kernel.until_idle(self.kernel.send(msg_type, content), READ_TIMEOUT, msg_type)

    def run_lesson(self) -> None:
        """Run All: every code cell's execute_request at once; done when each has its reply and the kernel is idle."""
        k = self.kernel
        pending: dict[str, int] = {}
        for index, source in self.cells.items():
            pending[k.send("execute_request", {"code": source, "silent": False, "store_history": True,
                                               "user_expressions": {}, "allow_stdin": False,
                                               "stop_on_error": True})] = index
        replied: set[str] = set()
        idle: set[str] = set()
        while len(replied) < len(pending) or len(idle) < len(pending):
            # The kernel may take its time with the whole lesson, but not stay silent for READ_TIMEOUT.
            msg = k.receive(time.monotonic() + READ_TIMEOUT, "running the lesson")
            parent = msg.get("parent_header", {}).get("msg_id")
            if parent not in pending:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind in ("display_data", "execute_result") and WIDGET_VIEW in content.get("data", {}):
                self.displayed.append((pending[parent], content["data"][WIDGET_VIEW]["model_id"]))
            elif kind == "execute_reply":
                if content.get("status") != "ok":
                    raise Permanent(f"cell {pending[parent]} of the lesson failed: "
                                    f"{content.get('ename')}: {str(content.get('evalue'))[:200]}")
                replied.add(parent)
            elif kind == "status" and content.get("execution_state") == "idle":
                idle.add(parent)

    def choose(self, control: str) -> str | None:
        """Give a choice control a new value as the browser does (an ``update`` of its state); the message's id."""
        state = self.kernel.models[control]
        if "_options_labels" in state:
            options = [i for i in range(len(state["_options_labels"])) if i != state.get("index")]
            if not options:
                return None
            change = {"index": self.choices.choice(options)}
        else:
            change = {"value": TEXT_ANSWER if state.get("value") != TEXT_ANSWER else TEXT_ANSWER + "0"}
        state.update(change)
        return self.kernel.send_comm(control, {"method": "update", "state": change, "buffer_paths": []})

    def answer(self, activity: Activity) -> dict:
        """Answer one activity (see the module's docstring) and wait for its feedback; the answer's figures."""
        k = self.kernel
        controls = [c for c in activity.controls if c in k.models]
        if not controls:
            raise Permanent(f"{activity.label}: its choice controls are gone")
        if activity.button:
            for control in controls:
                msg = self.choose(control)
                if msg:
                    k.until_idle(msg, FEEDBACK_TIMEOUT, f"{activity.label}: a choice")
            action = "click"
            sent = time.time()
            final = k.send_comm(activity.button, {"method": "custom", "content": {"event": "click"}})
        else:
            action = "update"
            sent = time.time()
            final = self.choose(controls[0])
            if final is None:
                raise Permanent(f"{activity.label}: nothing to choose")
        replies = k.until_idle(final, FEEDBACK_TIMEOUT, f"{activity.label}: feedback")
        inside = set(k.tree(activity.root))
        shown = []
        for arrived, msg in replies:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "error" or (kind == "stream" and content.get("name") == "stderr"):
                text = content.get("text") or f"{content.get('ename')}: {content.get('evalue')}"
                raise Permanent(f"{activity.label}: the widget's code failed: {str(text).strip()[-200:]}")
            if kind == "comm_msg" and (content.get("data") or {}).get("method") == "update" \
                    and content.get("comm_id") in inside \
                    and k.models.get(content["comm_id"], {}).get("_model_name") in FEEDBACK_MODELS:
                shown.append(arrived)
            elif kind in ("stream", "display_data", "clear_output"):  # output captured by an Output widget
                shown.append(arrived)
        if not shown:
            raise Permanent(f"{activity.label}: no feedback (the kernel was done with the {action} and showed nothing)")
        return {"activity": activity.label, "cell": activity.cell, "action": action, "seconds": shown[-1] - sent,
                "feedback_messages": len(shown), "feedback_at": shown[-1]}

    def run(self, barrier: threading.Barrier) -> None:
        s = self.student
        try:
            barrier.wait()
            if self.stop.wait(s.offset):
                raise Aborted()
            s.started = time.time()
            self.timed("login", self.log_in)
            self.timed("spawn", self.spawn)
            self.timed("pull", self.pull_lessons)
            self.timed("open", self.open_lesson)
            self.timed("kernel", self.connect_kernel)
            self.timed("run", self.run_lesson)
            activities = find_activities(self.kernel, self.displayed, self.cells)
            s.activities_found = len(activities)
            if not activities:
                raise Permanent("the lesson has no activity that gives feedback")
            for activity in activities[:ACTIVITIES]:
                answer = self.answer(activity)
                s.answers.append(answer)
                s.first_feedback = s.first_feedback or answer["feedback_at"]
            s.finished = time.time()
        except Aborted:
            s.error = s.error or "aborted"
        except Permanent as error:
            s.error = str(error)
        except Exception as error:  # a bug in this script must not hang the barrier's other side
            s.error = f"{type(error).__name__}: {error}"
        finally:
            if self.kernel is not None:
                self.kernel.close()  # the lesson stays open: its kernel runs on, as when a tab is left open


# --- The scenario -------------------------------------------------------------------------


def busy(times) -> float:
    """The machine's CPU-seconds at work (Linux counts the time of niced processes apart from user)."""
    return times.user + times.nice + times.system


def prestart(klasse: BenchClass, args: argparse.Namespace, result: dict, failures: list[str]) -> None:
    """Start every student's server before anyone arrives, as deploy/forhandsstart.py does on the server."""
    spec = importlib.util.spec_from_file_location("forhandsstart", ROOT / "deploy" / "forhandsstart.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up there
    spec.loader.exec_module(module)
    token = (klasse.hub.state / "state" / "forhandsstart.token").read_text().strip()
    print(f"Forhåndsstart: {len(klasse.students)} servere, {args.samtidig} om gangen ...")
    cpu = psutil.cpu_times()
    outcome = module.start_servers(module.Hub(klasse.hub.url, token), list(klasse.students), args.samtidig,
                                   say=lambda *_: None)
    used = psutil.cpu_times()
    result["prestart"] = {"seconds": outcome.seconds, "started": len(outcome.started), "at_once": args.samtidig,
                          "failed": outcome.failed, "unknown": outcome.unknown,
                          "cpu_s": busy(used) - busy(cpu)}
    failures.extend(f"{name}: forhåndsstart: {why}" for name, why in outcome.failed.items())
    failures.extend(f"{name}: forhåndsstart: huben kjente ikke studenten" for name in outcome.unknown)


def run(klasse: BenchClass, args: argparse.Namespace, stop: threading.Event, result: dict, failures: list[str],
        log_marks: dict[str, int]) -> None:
    """The seminar, then memory and CPU with every student's lesson open, and the checks: figures into ``result``."""
    hub, proxy = hub_and_proxy(klasse)
    result["memory_before"] = {"hub": memory(hub), "proxy": memory(proxy)}
    cpu_before = {"hub": cpu_seconds(hub), "proxy": cpu_seconds(proxy)}
    lesson = f"{args.leksjon}.ipynb"
    link = "/hub/user-redirect/git-pull?" + urlencode(
        {"repo": f"file://{klasse.lessons}", "branch": "main", "urlpath": f"lab/tree/leksjoner/lessons/{lesson}"})
    if args.forhandsstart:
        prestart(klasse, args, result, failures)
    offsets = arrivals(len(klasse.students), args.vindu)
    students = [SeminarStudent(name, offset=offset) for name, offset in zip(klasse.students, offsets)]
    browsers = [SeminarBrowser(klasse.hub.url, s, stop, link, random.Random(ARRIVAL_SEED * 1000 + i))
                for i, s in enumerate(students)]
    barrier = threading.Barrier(len(browsers))
    threads = [threading.Thread(target=b.run, args=(barrier,), daemon=True) for b in browsers]
    sampler = Sampler()
    sampler.start()
    vm_before = psutil.virtual_memory()
    load_before = os.getloadavg()
    me = psutil.Process()
    client_cpu = me.cpu_times().user + me.cpu_times().system
    log_marks["seminar"] = klasse.hub.log_path.stat().st_size
    when = "alle samtidig" if args.vindu == 0 else f"i løpet av {args.vindu:g} s"
    print(f"Seminaret: {len(threads)} studenter kommer {when}, logger inn, henter leksjonene med lenken, "
          f"kjører {lesson} og svarer på {ACTIVITIES} aktiviteter ...")
    begun = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=1.0)
    log_marks["after the seminar"] = klasse.hub.log_path.stat().st_size
    client_cpu = me.cpu_times().user + me.cpu_times().system - client_cpu
    sampler.halt.set()
    done = [s for s in students if s.error is None]
    for s in students:
        if s.error:
            failures.append(f"{s.name}: {s.error}")
    first = min((s.started for s in students if s.started), default=begun)
    last = max((s.finished for s in done), default=first)
    answers = [a for s in students for a in s.answers]
    per_activity: dict[tuple[int, str, str], list[float]] = {}
    for a in answers:
        per_activity.setdefault((a["cell"], a["activity"], a["action"]), []).append(a["seconds"])
    first_feedback = spread([s.first_feedback - s.started for s in students if s.first_feedback])
    answer_times = spread([a["seconds"] for a in answers])
    seminar = result["seminar"] = {
        "lesson": args.leksjon, "window_s": args.vindu, "arrival_seed": ARRIVAL_SEED,
        "activities_per_student": ACTIVITIES,
        "first_arrival_to_last_feedback_s": last - first,
        "completed": len(done),
        "failed_students": [f"{s.name}: {s.error}" for s in students if s.error],
        "requests": sum(s.requests for s in students),
        "retries": sum(len(s.retries) for s in students),
        "retry_reasons": _count(f"{phase}: {_reason(reason)}" for s in students for phase, reason in s.retries),
        "students_with_retries": sum(1 for s in students if s.retries),
        "phases": {p: spread([s.phases[p] for s in students if p in s.phases]) for p in PHASES},
        "login_to_first_feedback_s": first_feedback,
        "answer_s": answer_times,
        "per_activity_s": [{"cell": cell, "activity": label, "action": action, **spread(times)}
                           for (cell, label, action), times in sorted(per_activity.items())],
        "load_before": load_before, "load_after": os.getloadavg(), "client_cpu_s": client_cpu,
    }
    window = sampler.between(first, last)
    if window:
        seminar["cpu_percent_mean"] = statistics.mean(x["cpu"] for x in window)
        seminar["load1_max"] = max(x["load1"] for x in window)
        seminar["memory_used_peak_gib"] = max(x["used"] for x in window) / GIB
    seminar["timeline"] = [{"t_s": round(x["t"] - first, 1), "cpu_percent": x["cpu"], "load1": x["load1"],
                            "used_gib": round(x["used"] / GIB, 3)} for x in sampler.between(first, last + 1)]
    failed = len(seminar["failed_students"])
    seminar["goals"] = {
        **GOALS,
        "same_conditions": (len(students), args.vindu, args.leksjon) == (GOALS["students"], GOALS["window_s"],
                                                                         GOALS["lesson"]),
        "met": {
            "login_to_first_feedback_p95": bool(first_feedback)
            and first_feedback["p95"] <= GOALS["login_to_first_feedback_p95_s"],
            "answer_p95": bool(answer_times) and answer_times["p95"] <= GOALS["answer_p95_s"],
            "failed_students": failed <= GOALS["failed_students"],
        },
    }
    result["students"] = [{
        "name": s.name, "arrives_s": round(s.offset, 2), "phases_s": s.phases,
        "login_to_first_feedback_s": s.first_feedback - s.started if s.first_feedback else None,
        "activities_found": s.activities_found,
        "answers": [{k: v for k, v in a.items() if k != "feedback_at"} for a in s.answers],
        "requests": s.requests, "retries": [f"{phase}: {reason}" for phase, reason in s.retries], "error": s.error,
    } for s in students]

    # --- Memory and CPU, with every student's lesson still open (its kernel running) ---
    uids = {pwd.getpwnam(s).pw_uid: s for s in klasse.students}
    servers = servers_of(set(uids))
    alone, kernels, together, cpu = [], [], [], []
    kernels_running = 0
    for proc in servers.values():
        try:
            own = kernels_of(proc)
            kernel_memory = [memory(p) for p in own]
            server_memory = memory(proc)
            kernels_running += len(own)
            kernels += kernel_memory
            alone.append(server_memory)
            together.append({k: server_memory[k] + sum(m[k] for m in kernel_memory) for k in server_memory})
            cpu.append(cpu_seconds(proc) + sum(p.cpu_times().user + p.cpu_times().system for p in own))
        except psutil.NoSuchProcess:
            pass
    vm_after = psutil.virtual_memory()
    result["memory"] = {
        "hub": memory(hub), "proxy": memory(proxy),
        "servers_running": len(servers), "kernels_running": kernels_running,
        "server": {k: stats([m[k] for m in alone]) for k in ("rss", "uss", "pss")},
        "kernel": {k: stats([m[k] for m in kernels]) for k in ("rss", "uss", "pss")},
        "server_with_kernel": {k: stats([m[k] for m in together]) for k in ("rss", "uss", "pss")},
        "servers_total": {k: sum(m[k] for m in together) for k in ("rss", "uss", "pss")},
        "used_before_gib": vm_before.used / GIB, "used_after_gib": vm_after.used / GIB,
        "used_per_student_mib": (vm_after.used - vm_before.used) / len(servers) / MIB if servers else None,
    }
    result["free_with_servers"] = free_m()
    result["cpu"] = {
        "hub_s": cpu_seconds(hub) - cpu_before["hub"], "proxy_s": cpu_seconds(proxy) - cpu_before["proxy"],
        "student_s": stats(cpu),  # a student's server and kernel, from start to the end of the seminar
    }

    # --- Checks: every proxy route to its own student's server; the lesson in every home that finished ---
    result["routes"] = check_routes(proxy, servers, uids)
    for problem in result["routes"]["problems"]:
        failures.append(f"proxy route: {problem}")
    pulled = 0
    for s in done:
        path = Path(pwd.getpwnam(s.name).pw_dir) / "leksjoner" / "lessons" / lesson
        if path.is_file() and path.stat().st_uid == pwd.getpwnam(s.name).pw_uid:
            pulled += 1
        else:
            failures.append(f"{s.name}: {path} is missing or not the student's own")
    result["checks"] = {"lesson_pulled": pulled, "of": len(done)}


def report(result: dict, args: argparse.Namespace) -> None:
    """The printed report (nothing when the seminar did not start)."""
    if "seminar" in result:
        print_seminar_report(result)
