"""Running the class server for a term: idle servers are stopped, and the hub works behind TLS.

One hub for the module, from deploy/jupyterhub_config.py with real Unix
accounts, but with the idle limit and the activity intervals shortened from an
hour and five minutes to seconds (the same settings an administrator would
change, SAMSKAPING_STOPP_UBRUKT and friends). Nothing is graded here, so there
is no PostgreSQL, exchange or lesson repository: test_hub.py covers those.

In front of the hub runs nginx with the repository's example configuration
(deploy/nginx/samskaping-kurs.conf), changed only where a deployment changes
it: its ports, its certificate (one the test makes) and the hub's port.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from hub import Hub, execute, free_port, grader_with_empty_course, log_in, new_token
from unix import HUB_ENV, ROOT, Accounts, skip_unless_class_server, wait_for

pytestmark = pytest.mark.slow

IDLE_LIMIT = 10  # seconds without use before the culler stops a server (an hour on the real server)
CHECK_EVERY = 1  # how often the culler looks
ACTIVITY = 1  # how often the hub hears of activity from the proxy and from each server
NGINX = shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin:/bin")


@pytest.fixture(scope="module")
def hub():
    skip_unless_class_server()
    accounts = Accounts("d")
    started: Hub | None = None
    try:
        # The students exist before the hub starts: with the shared test password it reads the list at start.
        for name in ("ledig", "opptatt", "tls", "forhand"):
            accounts.student(name)
        accounts.group("laer")  # the instructors' group must exist; nobody in it here
        grader, course = grader_with_empty_course(accounts)
        started = Hub(accounts, grader=grader, course_dir=course, exchange=Path(f"/srv/{accounts.tag}/exchange"),
                      settings={"SAMSKAPING_STOPP_UBRUKT": str(IDLE_LIMIT),
                                "SAMSKAPING_SJEKK_UBRUKT": str(CHECK_EVERY),
                                "SAMSKAPING_AKTIVITET": str(ACTIVITY)})
        started.start()
        yield started
    finally:
        if started:
            started.stop()
            started.remove_state()
        accounts.remove_all()


def _running(person) -> bool:
    info = person.api("GET", f"/hub/api/users/{person.name}").json()
    return bool(info.get("servers", {}).get(""))


def test_an_idle_server_is_stopped_after_its_limit_and_a_used_one_is_not(hub: Hub):
    """Does the culler stop a server nobody uses once the idle limit has passed (not before), and leave one in use?"""
    idle = hub.login(f"{hub.accounts.tag}ledig")
    busy = hub.login(f"{hub.accounts.tag}opptatt")
    # Both servers start at once (two spawns in parallel are quicker than one after the other). On a busy
    # machine one can be ready more than the idle limit before the other, so each is used the moment it is
    # ready, as a student would: the idle student saves a file once, the busy one keeps making requests.
    for person in (idle, busy):
        reply = person.api("POST", f"/hub/api/users/{person.name}/server")
        assert reply.status_code in (201, 202), f"starting {person.name}'s server: {reply.status_code} {reply.text}"
    ready_at: dict[str, float] = {}

    def use_each_when_ready():
        if "busy" in ready_at or busy.ready():
            ready_at.setdefault("busy", time.monotonic())
            assert busy.server("GET", "api/contents").status_code == 200
        if "idle" not in ready_at and idle.ready():
            ready_at["idle"] = time.monotonic()
            # The idle student left a file: stopping a server must not touch the student's files.
            saved = idle.server("PUT", "api/contents/notat.txt",
                                json={"type": "file", "format": "text", "content": "halvferdig"})
            assert saved.status_code == 201, f"saving a file: {saved.status_code} {saved.text}\n{hub.log()}"
        return len(ready_at) == 2

    wait_for(use_each_when_ready, "both students' servers", on_timeout=hub.log)
    idle_ready, busy_ready = ready_at["idle"], ready_at["busy"]

    def idle_stopped():
        # The busy student keeps working: a request to their own server's API, as JupyterLab makes.
        assert busy.server("GET", "api/contents").status_code == 200
        return not _running(idle)

    wait_for(idle_stopped, "the culler to stop the idle server", timeout=IDLE_LIMIT + 60, on_timeout=hub.log)
    idle_for = time.monotonic() - idle_ready
    assert idle_for >= IDLE_LIMIT - 1, f"stopped after {idle_for:.1f} s, before the {IDLE_LIMIT} s limit"
    # Keep the busy one working until it too has been up for longer than the limit, with two checks to spare.
    while time.monotonic() - busy_ready < IDLE_LIMIT + 2 * CHECK_EVERY + ACTIVITY:
        assert busy.server("GET", "api/contents").status_code == 200
        assert _running(busy), f"the culler stopped a server in use\n{hub.log()}"
        time.sleep(0.5)  # a student's pace of requests, not a wait for a condition
    log = hub.log_path.read_text(errors="replace")
    assert f"Culling server {idle.name} " in log and f"Culling server {busy.name} " not in log
    home = Path(pwd.getpwnam(idle.name).pw_dir)
    assert (home / "notat.txt").read_text() == "halvferdig"


def test_servers_are_started_ahead_of_a_seminar_by_a_service_that_can_do_nothing_else(hub: Hub):
    """Does deploy/forhandsstart.py start the students' servers before they log in, with a token that only starts servers?"""
    name = f"{hub.accounts.tag}forhand"
    env = {"PATH": f"{HUB_ENV / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8",
           "SAMSKAPING_HUB_STATE": str(hub.state / "state"), "SAMSKAPING_HUB_PORT": str(hub.port),
           "SAMSKAPING_STUDENTER": hub.accounts.student_group}
    token = (hub.state / "state" / "forhandsstart.token").read_text().strip()
    headers = {"Authorization": f"token {token}"}
    done = subprocess.run([str(HUB_ENV / "bin" / "python"), str(ROOT / "deploy" / "forhandsstart.py"), "--samtidig", "2"],
                          capture_output=True, text=True, env=env, timeout=600)
    started = re.findall(r"^  (\S+): klar etter", done.stdout, flags=re.M)
    try:
        _check_prestart(hub, name, done, headers)
    finally:
        # Every server it started is stopped again (the other tests here start their students' servers themselves).
        for user in started:
            requests.delete(f"{hub.url}/hub/api/users/{user}/server", headers=headers, timeout=60)
        for user in started:
            wait_for(lambda: not requests.get(f"{hub.url}/hub/api/users/{user}", headers=headers, timeout=30)
                     .json().get("servers"), f"{user}'s server to stop", on_timeout=hub.log)


def _check_prestart(hub: Hub, name: str, done: subprocess.CompletedProcess, headers: dict) -> None:
    assert done.returncode == 0, f"{done.stdout}{done.stderr}\n{hub.log()}"
    # This student never logged in; the hub started their server (the culler may have stopped it again since:
    # in this module a server is idle after 10 s, so what the hub logged is checked, not the process).
    assert f"{name}: klar etter" in done.stdout, done.stdout
    assert re.search(r"Ferdig på \d+ s: [1-9]\d* startet", done.stdout), done.stdout
    assert f"User {name} took" in hub.log_path.read_text(errors="replace")
    # The service's token starts servers and nothing else: no access to a student's server, no tokens, no admin.
    assert (hub.state / "state" / "forhandsstart.token").stat().st_mode & 0o077 == 0
    scopes = requests.get(f"{hub.url}/hub/api/user", headers=headers, timeout=30).json()["scopes"]
    assert "servers" in scopes and "list:users" in scopes, scopes
    assert not [s for s in scopes if s.split("!")[0] in {"access:servers", "tokens", "read:tokens", "users", "admin:users",
                                                        "admin:servers", "admin-ui", "groups", "admin:groups"}], scopes
    assert requests.post(f"{hub.url}/hub/api/users/{name}/tokens", headers=headers, json={}, timeout=30).status_code == 403


# --- TLS in front of the hub ---------------------------------------------------------------------


class Nginx:
    """nginx with the repository's site configuration in front of ``hub``, on ports of its own, stopped by pid."""

    def __init__(self, hub: Hub, folder: Path) -> None:
        self.folder = folder
        self.https_port = free_port()
        self.http_port = free_port()
        # A certificate authority of the test's own, and the server's certificate signed by it.
        self.cert = folder / "ca.crt"
        key = folder / "kurs.key"
        openssl = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Test-CA",
                "-keyout", "ca.key", "-out", "ca.crt")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "kurs.key",
                "-out", "kurs.csr")
        (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", "kurs.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "1", "-extfile", "san.ext", "-out", "kurs.crt")
        site = (ROOT / "deploy" / "nginx" / "samskaping-kurs.conf").read_text()
        for old, new in [
            ("listen 80;", f"listen 127.0.0.1:{self.http_port};"),
            ("listen [::]:80;", ""),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
            ("listen [::]:443 ssl http2;", ""),
            ("/etc/letsencrypt/live/kurs.example.no/fullchain.pem", str(folder / "kurs.crt")),
            ("/etc/letsencrypt/live/kurs.example.no/privkey.pem", str(key)),
            ("proxy_pass http://127.0.0.1:8000;", f"proxy_pass http://127.0.0.1:{hub.port};"),
        ]:
            assert site.count(old) == 1, f"the example configuration no longer has «{old}» once"
            site = site.replace(old, new)
        (folder / "site.conf").write_text(site)
        temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (folder / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
            f"events {{}}\nhttp {{\n access_log off;\n {temp}\n include {folder / 'site.conf'};\n}}\n")
        command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, f"nginx -t refused the configuration:\n{check.stderr}"
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.url = f"https://127.0.0.1:{self.https_port}"

        def up():
            assert self.proc.poll() is None, f"nginx exited: {self.log()}"
            try:
                return requests.get(f"{self.url}/hub/api/", verify=str(self.cert), timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, "nginx to answer over HTTPS", on_timeout=self.log)

    def log(self) -> str:
        try:
            return (self.folder / "error.log").read_text()[-3000:]
        except FileNotFoundError:
            return "(no nginx log)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: the workers go with the master
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


@pytest.fixture
def nginx(hub: Hub):
    if NGINX is None:
        pytest.fail("nginx is missing: scripts/system-deps.sh installs Debian's package")
    folder = Path(tempfile.mkdtemp(prefix=f"{hub.accounts.tag}-nginx-"))
    proxy = None
    try:
        proxy = Nginx(hub, folder)
        yield proxy
    finally:
        if proxy:
            proxy.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_the_hub_behind_tls(hub: Hub, nginx: Nginx):
    """Through the example nginx configuration: HTTP goes to HTTPS, log-in gives Secure cookies, a kernel answers over wss."""
    student = f"{hub.accounts.tag}tls"
    # Plain HTTP is sent to HTTPS, with the path kept.
    plain = requests.get(f"http://127.0.0.1:{nginx.http_port}/hub/login?next=x", allow_redirects=False, timeout=30)
    assert plain.status_code == 301 and plain.headers["Location"] == "https://127.0.0.1/hub/login?next=x"

    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would replace the test's authority
    session.verify = str(nginx.cert)
    page = session.get(f"{nginx.url}/hub/login", timeout=30)
    assert page.status_code == 200 and "max-age=63072000" in page.headers.get("Strict-Transport-Security", "")
    reply = log_in(session, nginx.url, student)
    # The hub saw HTTPS (X-Forwarded-Proto), so its log-in cookie is sent over HTTPS only.
    login_cookie = [c for c in reply.raw.headers.getlist("Set-Cookie") if c.startswith("jupyterhub-hub-login=")]
    assert login_cookie and "secure" in login_cookie[0].lower(), reply.raw.headers.getlist("Set-Cookie")

    token = new_token(session, nginx.url, student)
    api = requests.Session()
    api.trust_env = False
    api.verify = str(nginx.cert)
    api.headers["Authorization"] = f"token {token}"
    assert api.post(f"{nginx.url}/hub/api/users/{student}/server", timeout=120).status_code in (201, 202)
    wait_for(lambda: api.get(f"{nginx.url}/hub/api/users/{student}", timeout=30).json()
             .get("servers", {}).get("", {}).get("ready"), "the student's server behind nginx", on_timeout=hub.log)
    kernel = api.post(f"{nginx.url}/user/{student}/api/kernels", json={"name": "python3"}, timeout=120)
    assert kernel.status_code == 201, kernel.text
    channels = f"wss://127.0.0.1:{nginx.https_port}/user/{student}/api/kernels/{kernel.json()['id']}/channels"
    assert execute(channels, token, "print(6 * 7)",
                   sslopt={"ca_certs": str(nginx.cert), "cert_reqs": ssl.CERT_REQUIRED}) == "42\n"


# --- systemd ----------------------------------------------------------------------------------------


def _install_units(repo: Path, target: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(repo / "deploy" / "install-systemd.sh")], capture_output=True, text=True,
                          env={**os.environ, "SYSTEMD_DIR": str(target), "HUB_ENV": str(HUB_ENV)})


def test_systemd_units_install_and_verify(tmp_path):
    """Do the units install with this checkout and environment filled in, pass systemd-analyze, and start what `make hub` starts?"""
    skip_unless_class_server()
    target = tmp_path / "system"
    done = _install_units(ROOT, target)
    assert done.returncode == 0, done.stdout + done.stderr
    hub_unit = (target / "samskaping-hub.service").read_text()
    assert "@" not in hub_unit.replace("user@", ""), "a placeholder was left in the unit"
    # The same program and configuration as `make hub`, from the same environment.
    assert f"ExecStart={HUB_ENV}/bin/jupyterhub -f {ROOT}/deploy/jupyterhub_config.py\n" in hub_unit
    assert "EnvironmentFile=-/etc/samskaping-kurs/hub.env" in hub_unit
    backup = (target / "samskaping-karakterbok-backup.service").read_text()
    command = re.search(r"^ExecStart=(\S+)", backup, re.M).group(1)
    assert Path(command).is_file() and os.access(command, os.X_OK), command
    timer = (target / "samskaping-karakterbok-backup.timer").read_text()
    assert "OnCalendar=*-*-* 02:30:00" in timer and "Persistent=true" in timer
    prestart = (target / "samskaping-forhandsstart.service").read_text()
    assert f"ExecStart={HUB_ENV}/bin/python {ROOT}/deploy/forhandsstart.py\n" in prestart
    assert "EnvironmentFile=-/etc/samskaping-kurs/hub.env" in prestart and "Requisite=samskaping-hub.service" in prestart


def test_a_misspelt_unit_key_stops_the_installation(tmp_path):
    """Is a unit with a misspelt key refused (systemd itself would only warn and ignore it), in Norwegian?"""
    skip_unless_class_server()
    repo = tmp_path / "kurs"
    shutil.copytree(ROOT / "deploy", repo / "deploy")
    (repo / "node_modules").symlink_to(ROOT / "node_modules")
    unit = repo / "deploy" / "systemd" / "samskaping-hub.service"
    unit.write_text(unit.read_text().replace("RestartSec=5", "RestartSek=5"))
    target = tmp_path / "system"
    done = _install_units(repo, target)
    assert done.returncode == 1
    assert "RestartSek" in done.stderr and "har feil" in done.stderr, done.stderr
