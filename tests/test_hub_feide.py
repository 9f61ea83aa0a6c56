"""Feide to the class server for real: OpenID Connect log-ins in Chromium, access from the course's groups now.

A real JupyterHub with deploy/auth/feide.py and real Unix accounts; on the other
side, in place of Feide, the OpenID-certified provider oidc-provider from npm on
loopback, configured with Feide's endpoints, scopes and claims
(tests/feide_stand_in.mjs). The hub reaches it only through
SAMSKAPING_FEIDE_ADRESSE; everything else in its configuration is as in
production. People log in on the provider's form in Chromium, as a student
does. The end of a session at JupyterHub's next refresh (refresh_user, every
five minutes of use) is checked in tests/test_auth_examples.py with real
accounts, not here: the refresh age is not a setting of the hub.

What only the real Feide can confirm: that the service registered in Feide's
customer portal is granted the attribute group userid-feide (without it there
is no Feide name, and everyone is refused with «Feide sendte ikke
Feide-navnet ditt»); that the institution's Feide names are
``<Unix name>@<realm>`` (otherwise each needs username_map); that Feide accepts
the redirect URI and the client secret sent in the token request's body
(client_secret_post); Feide's own log-in pages, account chooser and single
sign-on session (a student logged in to Feide as someone else must pick the
right account); and how Feide answers guests and ID-porten log-ins.
"""

from __future__ import annotations

import json
import pwd
import re
import shutil
import signal
import sqlite3
import subprocess
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from hub import Hub, grader_with_empty_course
from unix import ROOT, Accounts, admin, skip_unless_class_server, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REALM = "example.no"
FEIDE_NAME = "https://n.feide.no/claims/eduPersonPrincipalName"


class Feide:
    """The stand-in for Feide: a node process with the accounts the test gives it, stopped by its pid."""

    def __init__(self, folder: Path, redirect_uri: str) -> None:
        self.folder = folder
        self.redirect_uri = redirect_uri
        self.client_id = f"samskaping-test-{uuid.uuid4()}"
        self.client_secret = uuid.uuid4().hex
        self.accounts_file = folder / "feide-kontoer.json"
        self.log_path = folder / "feide.log"
        self.people: dict[str, dict] = {}
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> "Feide":
        node = shutil.which("node")
        if not node:
            pytest.fail("node is missing: the Feide stand-in runs on Node.js (make system-deps)")
        self._write()
        settings = self.folder / "feide.json"
        settings.write_text(json.dumps({"client_id": self.client_id, "client_secret": self.client_secret,
                                        "redirect_uri": self.redirect_uri, "accounts": str(self.accounts_file)}))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([node, str(ROOT / "tests" / "feide_stand_in.mjs"), str(settings)],
                                         cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

        def listening() -> str | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"the Feide stand-in exited with {self.proc.returncode}\n{self.log()}")
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.log())
            return found and found.group(1)

        self.url = wait_for(listening, "the Feide stand-in to listen", timeout=30, on_timeout=self.log)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def person(self, feide_name: str) -> str:
        """A Feide user with the claims Feide's userinfo gives (docs.feide.no, "Userinfo"); returns their sub."""
        sub = str(uuid.uuid4())  # Feide's sub is an opaque UUID ("User IDs")
        self.people[sub] = {
            FEIDE_NAME: feide_name,
            "https://n.feide.no/claims/userid_sec": [f"feide:{feide_name}"],
            "dataporten-userid_sec": [f"feide:{feide_name}"],
            "name": feide_name.split("@")[0].capitalize(),
            "email": feide_name,
            "email_verified": False,
        }
        self._write()
        return sub

    def _write(self) -> None:
        new = self.accounts_file.with_suffix(".ny")
        new.write_text(json.dumps(self.people))
        new.replace(self.accounts_file)  # the provider reads the file at each log-in: never half of it

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Setting:
    def __init__(self) -> None:
        self.accounts = Accounts("f")
        self.hub: Hub | None = None
        self.feide: Feide | None = None

    def set_up(self) -> "Setting":
        a = self.accounts
        a.group("stud")
        a.group("laer")
        self.kari = a.student("kari")
        self.grader, self.course = grader_with_empty_course(a)
        self.hub = Hub(a, grader=self.grader, course_dir=self.course, exchange=Path(f"/srv/{a.tag}/exchange"))
        self.feide = Feide(self.hub.state, f"{self.hub.url}/hub/oauth_callback").start()
        self.hub.settings.update({
            "SAMSKAPING_INNLOGGING": "feide",
            "OAUTH_CLIENT_ID": self.feide.client_id,
            "OAUTH_CLIENT_SECRET": self.feide.client_secret,
            "OAUTH_CALLBACK_URL": f"{self.hub.url}/hub/oauth_callback",
            "SAMSKAPING_REALM": REALM,
            "SAMSKAPING_FEIDE_ADRESSE": self.feide.url,
            # Services this test does not use, left out so the hub starts sooner.
            "SAMSKAPING_KLASSEINNSIKT": "av",
            "SAMSKAPING_STOPP_UBRUKT": "0",
        })
        self.hub.start()
        return self

    def tear_down(self) -> None:
        if self.hub:
            self.hub.stop()
        if self.feide:
            self.feide.stop()
        if self.hub:
            self.hub.remove_state()
        self.accounts.remove_all()

    def hub_users(self) -> set[str]:
        """The users in the hub's own database (who has ever been let in)."""
        db = self.hub.state / "state" / "jupyterhub.sqlite"
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return {name for (name,) in conn.execute("SELECT name FROM users")}

    def hub_log(self) -> str:
        return self.hub.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def feide():
    skip_unless_class_server()
    s = Setting()
    try:
        yield s.set_up()
    finally:
        s.tear_down()


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="nb-NO")
    context.set_default_timeout(60_000)
    try:
        yield context
    finally:
        context.close()


def log_in(s: Setting, context, sub: str, next_path: str = ""):
    """Log in as a student does: the hub's log-in page, «Logg inn med Feide», the provider's form and consent.

    Returns the page and the status of the hub's answer to the provider's redirect (its callback).
    """
    page = context.new_page()
    page.goto(f"{s.hub.url}/hub/login" + (f"?next={next_path}" if next_path else ""))
    page.locator("a[href*='oauth_login']").click()
    page.wait_for_url(f"{s.feide.url}/**")
    page.locator("input[name=login]").fill(sub)  # the stand-in's form: the account's sub, any password
    page.locator("input[name=password]").fill("hva-som-helst")
    page.locator("button[type=submit]").click()
    with page.expect_response(re.compile(rf"^{re.escape(s.hub.url)}/hub/oauth_callback")) as callback:
        page.locator("button[type=submit]", has_text="Continue").click()  # consent to openid and userid-feide
    return page, callback.value.status


def refused(logged_in, says: str) -> str:
    """The hub's 403 page after the callback: its text, which must hold ``says``."""
    page, status = logged_in
    assert status == 403, status
    page.wait_for_url(re.compile(r"/hub/oauth_callback"))
    text = page.locator("body").inner_text()
    assert says in text, text
    return text


def test_a_student_logs_in_with_feide_and_lands_in_their_own_jupyterlab(feide: Setting, context):
    kari = feide.kari
    sub = feide.feide.person(f"{kari}@{REALM}")
    page, status = log_in(feide, context, sub)
    assert status == 302
    page.wait_for_url(re.compile(rf"/user/{kari}/lab"), timeout=120_000)
    page.locator("#jp-main-dock-panel").wait_for(timeout=120_000)
    # Her server runs as her own Unix account, the one her Feide name names in our realm.
    pid = wait_for(lambda: feide.hub.server_pid(kari), f"the hub to record {kari}'s server")
    assert Path(f"/proc/{pid}").stat().st_uid == pwd.getpwnam(kari).pw_uid
    assert kari in feide.hub_users()


ANOTHER_REALM = "hører ikke til example.no. Bare brukere fra example.no kan logge inn på denne kursserveren. " \
                "Logg inn på nytt med Feide-brukeren din fra example.no."
NOT_IN_COURSE = "Du står ikke på klasselisten for dette emnet"
WHAT_TO_DO = "Kontakt emneansvarlig hvis du skal følge emnet."


@pytest.mark.parametrize("who, says, why", [
    pytest.param("annen-realm", ANOTHER_REALM, "is not in the realm 'example.no'", id="annen-realm"),
    pytest.param("uten-konto", NOT_IN_COURSE, "is not in the groups", id="uten-konto"),
    pytest.param("utenfor-kurset", NOT_IN_COURSE, "is not in the groups", id="utenfor-kurset"),
])
def test_a_person_outside_the_realm_or_the_course_is_refused_in_norwegian_and_nothing_is_made(
        feide: Setting, context, who: str, says: str, why: str):
    if who == "annen-realm":
        # A course member's own user name, from another institution: never her account.
        feide_name = f"{feide.kari}@annen.no"
    elif who == "uten-konto":
        feide_name = f"{feide.accounts.tag}ingen@{REALM}"
    else:
        feide_name = f"{feide.accounts.plain('ute')}@{REALM}"  # an account on the server, in no course group
    before = feide.hub_users()
    text = refused(log_in(feide, context, feide.feide.person(feide_name)), says)
    assert f"Feide-brukeren din ({feide_name})" in text  # who was refused
    assert says == ANOTHER_REALM or WHAT_TO_DO in text  # and what to do
    assert re.search(rf"Feide log-in refused: '{re.escape(feide_name)}'.*{re.escape(why)}", feide.hub_log())
    assert feide.hub_users() == before  # no hub user was created
    assert "@" not in "".join(feide.hub_users())


def test_access_follows_the_course_groups_without_a_restart(feide: Setting, context, browser):
    # Nils is added to the class after the hub started, and logs in at once.
    nils = feide.accounts.student("nils")
    sub = feide.feide.person(f"{nils}@{REALM}")
    page, status = log_in(feide, context, sub, next_path="/hub/home")
    assert status == 302
    page.wait_for_url(re.compile(r"/hub/home"))
    assert nils in feide.hub_users()
    # Taken out of the course's group: refused at his next log-in, in a new browser.
    admin(["gpasswd", "--delete", nils, feide.accounts.student_group])
    later = browser.new_context(locale="nb-NO")
    later.set_default_timeout(60_000)
    try:
        assert WHAT_TO_DO in refused(log_in(feide, later, sub), NOT_IN_COURSE)
    finally:
        later.close()
    assert re.search(rf"Feide log-in refused: '{nils}@{REALM}' \('{nils}'\) is not in the groups", feide.hub_log())
    assert Path(pwd.getpwnam(nils).pw_dir).is_dir()  # his files stay
    assert feide.hub.server_pid(nils) is None  # no server was started for him
