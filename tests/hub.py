"""A real JupyterHub for the class-server tests, from the repository's own configuration.

The hub runs deploy/jupyterhub_config.py from the class server's environment,
as root, with LocalProcessSpawner and real Unix accounts (tests/unix.py). Every
test run gets its own ports, state folder, exchange and course folder, and the
hub is stopped by its pid (its proxy and the servers it started go with it).

People log in the way a browser does: the hub's login form with the shared
test password, then a token of their own from the hub's REST API.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import uuid
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator

import requests
import websocket

from unix import HUB_ENV, ROOT, Accounts, run_as, wait_for

PASSWORD = "samskaping-test-passord"  # only for the hub a test starts on 127.0.0.1 (shared-password auth)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grader_with_empty_course(accounts: Accounts) -> tuple[str, Path]:
    """The grading account (in no course group) and an empty course folder in its home.

    Enough for a hub test that does not grade: the hub starts Formgrader there.
    """
    grader = accounts.plain("retter")
    course = Path(pwd.getpwnam(grader).pw_dir) / "samskaping-kurs"
    run_as(grader, ["mkdir", str(course)])
    return grader, course


def login_form(page_html: str, user: str, password: str = PASSWORD) -> dict[str, str]:
    """The fields a browser posts from the hub's log-in page, its anti-forgery token (``_xsrf``) included."""
    data = {"username": user, "password": password}
    xsrf = re.search(r'name="_xsrf"\s+value="([^"]+)"', page_html)
    if xsrf:
        data["_xsrf"] = xsrf.group(1)
    return data


def log_in(session: requests.Session, base: str, user: str, password: str = PASSWORD) -> requests.Response:
    """Log in on the form at ``base`` (the hub, or a proxy in front of it); the reply is the hub's redirect."""
    page = session.get(f"{base}/hub/login", timeout=30)
    page.raise_for_status()
    reply = session.post(f"{base}/hub/login", data=login_form(page.text, user, password), allow_redirects=False,
                         timeout=30)
    if reply.status_code != 302:
        raise AssertionError(f"log-in as {user} answered {reply.status_code}: {reply.text[:500]}")
    return reply


def new_token(session: requests.Session, base: str, user: str) -> str:
    """A REST API token of the logged-in person's own, asked for as their browser session does."""
    token = session.post(f"{base}/hub/api/users/{user}/tokens", json={"note": "test", "expires_in": 3600},
                         headers={"X-XSRFToken": session.cookies.get("_xsrf", "")}, timeout=30)
    token.raise_for_status()
    return token.json()["token"]


class Hub:
    def __init__(self, accounts: Accounts, *, grader: str, course_dir: Path, exchange: Path,
                 db_url: str | None = None, gitconfig: Path | None = None,
                 settings: dict[str, str] | None = None) -> None:
        self.accounts = accounts
        self.grader = grader
        self.course_dir = course_dir
        self.exchange = exchange
        self.db_url = db_url
        self.gitconfig = gitconfig
        self.settings = settings or {}  # more SAMSKAPING_* variables for deploy/jupyterhub_config.py
        self.lessons: Path | None = None  # the student repository, when the test publishes one
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = Path(tempfile.mkdtemp(prefix=f"{accounts.tag}-hub-"))
        self.log_path = self.state / "jupyterhub.log"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        env = {
            "PATH": f"{HUB_ENV / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.state),
            "SAMSKAPING_HUB_ENV": str(HUB_ENV),
            "SAMSKAPING_HUB_STATE": str(self.state / "state"),
            "SAMSKAPING_HUB_PORT": str(self.port),
            "SAMSKAPING_HUB_INTERN_PORT": str(free_port()),
            "SAMSKAPING_PROXY_API_PORT": str(free_port()),
            "SAMSKAPING_FORMGRADER_PORT": str(free_port()),
            "SAMSKAPING_FRISTER_PORT": str(free_port()),
            "SAMSKAPING_INNSIKT_PORT": str(free_port()),
            "SAMSKAPING_STUDENTER": self.accounts.student_group,
            "SAMSKAPING_LAERERE": self.accounts.instructor_group,
            "SAMSKAPING_RETTER": self.grader,
            "SAMSKAPING_KURSMAPPE": str(self.course_dir),
            "NBGRADER_EXCHANGE": str(self.exchange),
            "SAMSKAPING_INNLOGGING": "felles-passord",
            "SAMSKAPING_FELLES_PASSORD": PASSWORD,
        }
        if self.db_url:
            env["NBGRADER_DB_URL"] = self.db_url
        if self.gitconfig:
            env["SAMSKAPING_GITCONFIG"] = str(self.gitconfig)
        env.update(self.settings)
        return env

    def log(self) -> str:
        """The end of the hub's log, and every warning or error in it (a service's crash is often early on)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no hub log)"
        problems = [line for line in text.splitlines() if not line.startswith(("[I ", "[D "))
                    and re.search(r"Error|Traceback|No module|exited|\[[WEC] ", line)]
        return ("hub log, warnings and errors:\n" + "\n".join(problems)[-4000:]
                + "\n\nhub log (last 4000 characters):\n" + text[-4000:])

    def start(self) -> "Hub":
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(HUB_ENV / "bin" / "jupyterhub"), "-f", str(ROOT / "deploy" / "jupyterhub_config.py")],
                cwd=self.state, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"the hub exited with {self.proc.returncode}\n{self.log()}")
            try:
                return requests.get(f"{self.url}/hub/api/", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, "the hub to answer on /hub/api/", on_timeout=self.log)
        return self

    def stop(self) -> None:
        """Stop the hub (it stops the proxy and every server it started), by its pid; kill what is left of its group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        # What a hub that exited on its own (a service failed at start-up) leaves behind: the servers
        # in its process group, and its proxy, which JupyterHub starts in a session of its own and
        # names in the pid file that deploy/jupyterhub_config.py sets.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proxy = int((self.state / "state" / "jupyterhub-proxy.pid").read_text())
            if b"configurable-http-proxy" in Path(f"/proc/{proxy}/cmdline").read_bytes():
                os.kill(proxy, signal.SIGKILL)
        except (OSError, ValueError):  # no pid file (the hub stopped its proxy), or the proxy is gone
            pass

    def server_pid(self, name: str) -> int | None:
        """The pid of the person's server, as the hub's spawner recorded it (None while there is none)."""
        db = self.state / "state" / "jupyterhub.sqlite"
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT spawners.state FROM spawners JOIN users ON spawners.user_id = users.id "
                                "WHERE users.name = ?", (name,)).fetchall()
        return next((json.loads(state).get("pid") for (state,) in rows if state and json.loads(state).get("pid")), None)

    def remove_state(self) -> None:
        shutil.rmtree(self.state, ignore_errors=True)

    # --- people ----------------------------------------------------------

    def login(self, user: str, password: str = PASSWORD) -> "Person":
        """Log in through the hub's login form, as a browser does, and get a REST API token of one's own."""
        session = requests.Session()
        log_in(session, self.url, user, password)
        return Person(self, user, session, new_token(session, self.url, user))


def execute(url: str, token: str, code: str, sslopt: dict | None = None) -> str:
    """Run ``code`` in a kernel over its websocket (the Jupyter messaging protocol) and return what it printed.

    An error in the code fails the test with the kernel's traceback.
    """
    conn = websocket.create_connection(url, header=[f"Authorization: token {token}"], sslopt=sslopt, timeout=120)
    try:
        msg_id = uuid.uuid4().hex
        conn.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        printed = ""
        while True:
            msg = json.loads(conn.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                printed += msg["content"]["text"]
            if msg["msg_type"] == "error":
                raise AssertionError("the kernel raised:\n" + "\n".join(msg["content"]["traceback"]))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return printed
    finally:
        conn.close()


class Person:
    """Someone logged in on the hub: their browser session and their own API token."""

    def __init__(self, hub: Hub, name: str, session: requests.Session, token: str) -> None:
        self.hub = hub
        self.name = name
        self.session = session
        self.token = token

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """A request to the hub's origin (``/hub/api/...``, ``/user/<name>/...``, ``/services/...``) with the token."""
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.hub.url}{path}", headers=headers, timeout=kwargs.pop("timeout", 120),
                                allow_redirects=kwargs.pop("allow_redirects", False), **kwargs)

    def start_server(self) -> None:
        reply = self.api("POST", f"/hub/api/users/{self.name}/server")
        already = reply.status_code == 400 and "already running" in reply.text
        assert reply.status_code in (201, 202) or already, f"starting {self.name}'s server: {reply.status_code} {reply.text}"
        wait_for(self.ready, f"{self.name}'s server to be ready", timeout=120, on_timeout=self.hub.log)

    def ready(self) -> bool:
        """Does the hub say this person's server is up and answering?"""
        info = self.api("GET", f"/hub/api/users/{self.name}").json()
        return bool(info.get("servers", {}).get("", {}).get("ready"))

    def server(self, method: str, path: str, **kwargs) -> requests.Response:
        """A request to this person's own server: ``path`` is relative to ``/user/<name>/``."""
        return self.api(method, f"/user/{self.name}/{path.lstrip('/')}", **kwargs)

    @contextmanager
    def kernel(self) -> Iterator:
        """A new kernel in this person's (running) server; yields ``run(code) -> printed``; shut down afterwards."""
        reply = self.server("POST", "api/kernels", json={"name": "python3"})
        assert reply.status_code == 201, f"{self.name}'s kernel: {reply.status_code} {reply.text}"
        kernel = reply.json()["id"]
        url = f"{self.hub.url.replace('http', 'ws', 1)}/user/{self.name}/api/kernels/{kernel}/channels"
        try:
            yield lambda code: execute(url, self.token, code)
        finally:
            self.server("DELETE", f"api/kernels/{kernel}")
