"""Canvas to the class server for real: LTI 1.3 launches, accounts, the class list, refusals.

A real JupyterHub with deploy/auth/canvas_lti13.py, real Unix accounts, and on
the other side an LTI 1.3 platform on loopback built on lti1p3platform
(tests/lti_plattform.py) in place of Canvas. Nobody has an account before the
first launch: the launch makes it. What only a real Canvas can confirm is in
docs/canvas-og-feide.md.
"""

from __future__ import annotations

import html
import os
import pwd
import re
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from hub import Hub, grader_with_empty_course
from lti_plattform import Platform
from unix import HUB_ENV, ROOT, Accounts, skip_unless_class_server, wait_for

pytestmark = pytest.mark.slow

REALM = "example.no"
DEPLOYMENT = "1:emne-samskaping"


class Setting:
    def __init__(self) -> None:
        self.accounts = Accounts("c")
        self.hub: Hub | None = None
        self.platform: Platform | None = None

    def set_up(self) -> "Setting":
        a = self.accounts
        a.group("stud")
        a.group("laer")
        self.grader, self.course = grader_with_empty_course(a)
        self.hub = Hub(a, grader=self.grader, course_dir=self.course, exchange=Path(f"/srv/{a.tag}/exchange"))
        self.platform = Platform(self.hub.url, deployment_id=DEPLOYMENT).start()
        p = self.platform
        self.hub.settings.update({
            "SAMSKAPING_INNLOGGING": "canvas",
            "SAMSKAPING_LTI_CLIENT_ID": p.client_id,
            "SAMSKAPING_LTI_DEPLOYMENT_ID": DEPLOYMENT,
            "SAMSKAPING_LTI_UTSTEDER": p.issuer,
            "SAMSKAPING_LTI_AUTORISERING": p.authorize_url,
            "SAMSKAPING_LTI_NOKLER": p.jwks_url,
            "SAMSKAPING_LTI_TOKEN": p.token_url,
            "SAMSKAPING_LTI_SKJEMA": "http",
            "SAMSKAPING_LTI_SJEKK_TILGANG": "1",
            "SAMSKAPING_REALM": REALM,
        })
        self.hub.start()
        p.tool_jwks = requests.get(f"{self.hub.url}/hub/lti13/jwks", timeout=30).json()
        return self

    def tear_down(self) -> None:
        if self.hub:
            self.hub.stop()
            self.hub.remove_state()
        if self.platform:
            self.platform.stop()
        self.accounts.remove_all()

    def person(self, short: str, role: str = "Learner", login: str | None = None) -> tuple[str, str]:
        """A member of the Canvas course: (LTI user id, the Unix name the launch should give them)."""
        name = f"{self.accounts.tag}{short}"
        self.accounts.adopt(name)  # made by the hub at the launch; removed with the others
        user_id = f"canvas-{name}"
        self.platform.add_member(user_id, login_id=login or f"{name}@{REALM}", name=short.capitalize(), roles=[role])
        return user_id, name

    def hub_log(self) -> str:
        return self.hub.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def canvas():
    skip_unless_class_server()
    s = Setting()
    try:
        yield s.set_up()
    finally:
        s.tear_down()


def _form(page: str) -> tuple[str, dict[str, str]]:
    """The auto-submitting form a platform answers an authorization request with: its action and fields."""
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page).group(1))
    fields = {html.unescape(n): html.unescape(v)
              for n, v in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)}
    return action, fields


def launch(canvas: Setting, user_id: str, attack: str | None = None,
           session: requests.Session | None = None) -> tuple[requests.Response, requests.Session, dict]:
    """A launch as a browser makes it: the link in Canvas, the hub's login initiation, the platform's form, the POST."""
    session = session or requests.Session()
    page = session.get(canvas.platform.launch_url(user_id, attack), timeout=60)
    page.raise_for_status()
    action, fields = _form(page.text)
    reply = session.post(action, data=fields, allow_redirects=False, timeout=60)
    return reply, session, fields


def _text(reply: requests.Response) -> str:
    """The page's text: the hub's error pages are UTF-8 without saying so in Content-Type."""
    return reply.content.decode("utf-8")


def _no_account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return True
    return False


def _groups_of(name: str) -> set[str]:
    return set(subprocess.run(["id", "-nG", name], capture_output=True, text=True, check=True).stdout.split())


def test_a_students_first_launch_makes_the_account_and_lands_in_their_own_jupyterlab(canvas: Setting, browser):
    user_id, name = canvas.person("kari")
    assert _no_account(name)
    context = browser.new_context(locale="nb-NO")
    context.set_default_timeout(90_000)
    try:
        page = context.new_page()
        page.goto(canvas.platform.launch_url(user_id))  # the platform's form submits itself
        page.wait_for_url(re.compile(rf"/user/{name}/lab"))
        page.locator("#jp-main-dock-panel").wait_for()
    finally:
        context.close()
    entry = pwd.getpwnam(name)
    assert stat.S_IMODE(os.stat(entry.pw_dir).st_mode) == 0o700
    assert canvas.accounts.student_group in _groups_of(name)
    assert canvas.accounts.instructor_group not in _groups_of(name)
    # Her server runs as her own Unix account.
    pid = canvas.hub.server_pid(name)
    assert pid and Path(f"/proc/{pid}").stat().st_uid == entry.pw_uid
    # The course's service addresses were saved for `course canvas` and the class-list sync.
    saved = (canvas.course / ".lti-kontekst.json").read_text()
    assert canvas.platform.lineitems_url in saved and canvas.platform.memberships_url in saved
    assert (canvas.course / ".lti-verktoynokkel.pem").stat().st_uid == pwd.getpwnam(canvas.grader).pw_uid


def test_an_instructors_launch_reaches_formgrader(canvas: Setting):
    user_id, name = canvas.person("per", role="Instructor")
    reply, session, _fields = launch(canvas, user_id)
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/services/formgrader/"), reply.text[:500]
    assert canvas.accounts.instructor_group in _groups_of(name)
    formgrader = session.get(f"{canvas.hub.url}/services/formgrader/", timeout=60)
    assert formgrader.status_code == 200 and "/services/formgrader/" in formgrader.url


@pytest.mark.parametrize("attack, why", [
    ("feil-signatur", "id_token or state not valid"),
    ("feil-mottaker", "id_token or state not valid"),
    ("utlopt", "id_token or state not valid"),
    ("feil-utrulling", "is not the course's"),
    ("uten-rolle", "no course role"),
    ("ukjent-rolle", "no course role"),
    ("usikkert-navn", "no safe user name"),
])
def test_a_hostile_launch_is_refused_and_creates_nothing(canvas: Setting, attack: str, why: str):
    user_id, name = canvas.person(f"a{abs(hash(attack)) % 10000}")
    reply, _session, _fields = launch(canvas, user_id, attack)
    assert reply.status_code == 403, (attack, reply.status_code, reply.text[:300])
    assert "Canvas" in _text(reply) or "emne" in _text(reply)  # the Norwegian page, not a traceback
    assert _no_account(name)
    assert not ({canvas.accounts.student_group, canvas.accounts.instructor_group} & _groups_of("root"))
    assert why in canvas.hub_log()
    assert requests.get(f"{canvas.hub.url}/hub/lti13/jwks", timeout=30).status_code == 200  # the hub is still up


def test_a_replayed_launch_and_a_stolen_name_are_refused(canvas: Setting):
    user_id, name = canvas.person("ola")
    session = requests.Session()
    page = session.get(canvas.platform.launch_url(user_id), timeout=60)
    action, fields = _form(page.text)
    cookies = session.cookies.copy()  # what an attacker who copied the browser's state would hold
    first = session.post(action, data=fields, allow_redirects=False, timeout=60)
    assert first.status_code == 302
    thief = requests.Session()
    thief.cookies.update(cookies)
    again = thief.post(action, data=fields, allow_redirects=False, timeout=60)
    assert again.status_code == 403 and "brukt før" in _text(again)
    assert "nonce used before" in canvas.hub_log()

    # Another Canvas user with the same login id cannot take Ola's account.
    canvas.platform.add_member("canvas-someone-else", login_id=f"{name}@{REALM}", name="Ola Kopi", roles=["Learner"])
    stolen, _s, _f = launch(canvas, "canvas-someone-else")
    assert stolen.status_code == 403 and "tilhører en annen person" in _text(stolen)

    # Nor an account on the server that is not the course's.
    outsider = canvas.accounts.plain("ute")
    canvas.platform.add_member("canvas-ute", login_id=f"{outsider}@{REALM}", name="Ute", roles=["Learner"])
    refused, _s, _f = launch(canvas, "canvas-ute")
    assert refused.status_code == 403 and "ikke hører til kurset" in _text(refused)
    assert canvas.accounts.student_group not in _groups_of(outsider)

    # And a login initiation from another platform never reaches the authorization step.
    evil = requests.get(f"{canvas.hub.url}/hub/lti13/oauth_login", params={
        "iss": "https://evil.example.org", "login_hint": "x", "target_link_uri": f"{canvas.hub.url}/"},
        allow_redirects=False, timeout=30)
    assert evil.status_code == 403 and "Canvas-emnet" in _text(evil)


def test_the_class_list_makes_accounts_and_takes_access_from_those_who_left(canvas: Setting):
    # Kari has launched before; Nils has not, and is on the class list.
    kari_id, kari = canvas.person("kari2")
    reply, kari_session, _f = launch(canvas, kari_id)
    assert reply.status_code == 302
    assert kari_session.get(f"{canvas.hub.url}/hub/home", allow_redirects=False, timeout=30).status_code == 200
    _nils_id, nils = canvas.person("nils")
    canvas.platform.set_status(kari_id, "Inactive")

    sync = subprocess.run([str(HUB_ENV / "bin" / "python"), str(ROOT / "deploy" / "klasseliste.py")],
                          env={**os.environ, **canvas.hub.env()}, capture_output=True, text=True, timeout=120)
    assert sync.returncode == 0, sync.stderr
    assert "tatt ut" in sync.stdout and kari in sync.stdout
    assert canvas.accounts.student_group in _groups_of(nils)
    assert stat.S_IMODE(os.stat(pwd.getpwnam(nils).pw_dir).st_mode) == 0o700
    assert canvas.accounts.student_group not in _groups_of(kari)
    assert Path(pwd.getpwnam(kari).pw_dir).is_dir()  # her files stay

    # Her session ends at the hub's next check of access: she is sent to log in again.
    def logged_out() -> bool:
        home = kari_session.get(f"{canvas.hub.url}/hub/home", allow_redirects=False, timeout=30)
        return home.status_code == 302 and "login" in home.headers.get("Location", "")
    wait_for(logged_out, "Kari's hub session to end after she left the course")
