"""One student's browser: a cookie session that sends what a browser sends, and tries again when the server is busy.

The steps every scenario starts with live here: the hub's log-in form, the
start of the server with the spawn-pending page's progress stream, and
JupyterLab opening (the OAuth round trip to the hub and the API calls
JupyterLab makes when it starts). A scenario adds its own steps in a subclass.

The retry rules: a request that fails (no connection, a timeout, 5xx, 429, a
spawn that failed or is still pending) raises :class:`Transient`, and
:meth:`Browser.attempt` runs the step again after a growing pause, as a student
clicking again would; every retry is counted with its reason, and a step still
failing after ``GIVE_UP_AFTER`` seconds is a failure (:class:`Permanent`).
"""

from __future__ import annotations

import html
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from hub import login_form

# Statuses a browser meets under load and tries again after: the hub or a server is busy or not there yet.
RETRY_STATUSES = {429, 500, 502, 503, 504, 424}
GIVE_UP_AFTER = 600.0   # seconds one step may keep failing before it counts as failed
READ_TIMEOUT = 300.0    # seconds a browser waits for an answer before the student tries again


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
    """What one student did and met: the times of each phase, every retry and why, and the failure if any."""

    name: str
    phases: dict[str, float] = field(default_factory=dict)   # phase -> seconds
    started: float = 0.0        # wall clock of the first request
    spawn_requested: float = 0.0
    ready: float = 0.0          # wall clock when the hub reported the server ready
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

    def kernel_websocket(self, kernel_id: str, timeout: float):
        """Connect to a kernel's channels as JupyterLab does: the websocket, with the browser's cookies."""
        import websocket

        cookies = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies
                            if f"/user/{self.name}/lab".startswith(c.path.rstrip("/") + "/") or c.path == "/")
        url = self.base.replace("http", "ws", 1) + f"/user/{self.name}/api/kernels/{kernel_id}/channels"
        return websocket.create_connection(f"{url}?session_id={uuid.uuid4().hex}", timeout=timeout,
                                           header=[f"Cookie: {cookies}", "Sec-Fetch-Mode: websocket"])

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

    def open_lab(self, path: str = "lab") -> None:
        """Open JupyterLab: the page (the OAuth round trip to the hub on the way), then the calls it makes at start.

        ``path`` is where in JupyterLab, relative to the server: ``lab``, or a
        notebook's ``lab/tree/...`` as a link to a lesson opens it.
        """
        page = self.request("GET", f"/user/{self.name}/{path}", mode="navigate", redirects=True)
        if page.status_code != 200 or not page.url.rstrip("/").endswith(f"/user/{self.name}/{path}"):
            if "/spawn-pending/" in page.url or "/hub/user/" in page.url:
                raise Transient(f"the server is not ready yet ({_short(page.url)})")
            raise Permanent(f"JupyterLab answered {page.status_code} at {page.url}")
        if not self.student.ready:
            self.student.ready = time.time()
        for call in ("api/me", "lab/api/settings", "api/kernelspecs", "api/sessions",
                     "api/contents?content=1&hash=0", "nbgrader_version?version=0.9.6"):
            self.api("GET", call)


def _short(path: str) -> str:
    return re.sub(r"^https?://[^/]+", "", path).split("?")[0][:80]
