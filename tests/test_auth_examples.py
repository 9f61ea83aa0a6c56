"""The log-in examples in deploy/auth/ (PAM, Feide, Canvas LTI 1.3), loaded into a real JupyterHub.

Each file is loaded the way the hub's configuration loads it (a config file of
a real ``jupyterhub.app.JupyterHub``), with dummy values for the environment it
needs; then the authenticator class it names is instantiated from that config,
as the hub does at start. A setting traitlets does not recognise (a misspelt
key, or a misspelt class section, which traitlets ignores silently) fails the
test instead of becoming a log line nobody reads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from jupyterhub.app import JupyterHub
from jupyterhub.auth import LocalAuthenticator, PAMAuthenticator
from ltiauthenticator.lti13.auth import LTI13Authenticator
from oauthenticator.generic import GenericOAuthenticator
from tornado.web import HTTPError

from conftest import ROOT

AUTH = ROOT / "deploy" / "auth"
FILES = ("pam.py", "feide.py", "canvas_lti13.py")

DUMMY_SECRET = "dummy-secret-7Qx2vR9kLm4Wp8Zt"
DUMMY_ENV = {
    "OAUTH_CLIENT_ID": "dummy-feide-client-id",
    "OAUTH_CLIENT_SECRET": DUMMY_SECRET,
    "OAUTH_CALLBACK_URL": "https://kurs.example.no/hub/oauth_callback",
    "SAMSKAPING_REALM": "example.no",
    "SAMSKAPING_LTI_CLIENT_ID": "10000000000042",
    "SAMSKAPING_LTI_DEPLOYMENT_ID": "1:emne-samskaping",
    "SAMSKAPING_STUDENTER": "ingen-slik-gruppe-stud",
    "SAMSKAPING_LAERERE": "ingen-slik-gruppe-laer",
}
# The rule deploy/add-accounts.sh applies to a new account's name.
ADD_ACCOUNTS_RULE = re.search(r'=~ (\^\S+\$) \]\]', (ROOT / "deploy" / "add-accounts.sh").read_text()).group(1)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def load(path: Path, monkeypatch, **env: str):
    """Load ``path`` as a JupyterHub config file and build its authenticator; fail on unrecognised settings."""
    for name in ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAUTH_CALLBACK_URL", "SAMSKAPING_REALM",
                 "SAMSKAPING_FEIDE_ADRESSE", "SAMSKAPING_LTI_CLIENT_ID", "SAMSKAPING_LTI_DEPLOYMENT_ID",
                 "SAMSKAPING_STUDENTER", "SAMSKAPING_LAERERE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**DUMMY_ENV, **env}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    app = JupyterHub()
    collect = _Collect()
    app.log.addHandler(collect)
    try:
        app.load_config_file(str(path))
        authenticator = app.authenticator_class(parent=app)
    finally:
        app.log.removeHandler(collect)
    unrecognised = [m for m in collect.messages if "not recognized" in m]
    assert not unrecognised, f"{path.name}: {unrecognised}"
    known = {cls.__name__ for cls in type(authenticator).__mro__} | {cls.__name__ for cls in JupyterHub.__mro__}
    unknown_sections = sorted(set(app.config) - known)
    assert not unknown_sections, f"{path.name}: no class named {unknown_sections} takes part"
    return app, authenticator


def test_there_are_three_examples():
    assert sorted(p.name for p in AUTH.glob("*.py")) == sorted(FILES)


def test_pam(monkeypatch):
    """PAM: the course's Unix groups only, account checks on, no sessions, no accounts made at log-in?"""
    _app, auth = load(AUTH / "pam.py", monkeypatch, SAMSKAPING_STUDENTER="kurs-stud", SAMSKAPING_LAERERE="kurs-laer")
    assert type(auth) is PAMAuthenticator
    assert auth.allowed_groups == {"kurs-stud", "kurs-laer"}
    assert auth.check_account is True
    assert auth.open_sessions is False
    assert auth.create_system_users is False
    assert auth.allow_all is False
    assert auth.username_pattern == ADD_ACCOUNTS_RULE


def test_feide(monkeypatch):
    """Feide: GenericOAuthenticator against Feide's documented endpoints, the Feide name as user name,
    client id and secret from the environment?"""
    _app, auth = load(AUTH / "feide.py", monkeypatch)
    assert isinstance(auth, GenericOAuthenticator)
    assert not isinstance(auth, LocalAuthenticator)  # accounts come from add-accounts.sh, not the log-in
    assert auth.authorize_url == "https://auth.dataporten.no/oauth/authorization"
    assert auth.token_url == "https://auth.dataporten.no/oauth/token"
    assert auth.userdata_url == "https://auth.dataporten.no/openid/userinfo"
    assert auth.username_claim == "https://n.feide.no/claims/eduPersonPrincipalName"
    assert set(auth.scope) == {"openid", "userid-feide"}
    assert auth.client_id == DUMMY_ENV["OAUTH_CLIENT_ID"]
    assert auth.client_secret == DUMMY_SECRET
    assert auth.oauth_callback_url == "https://kurs.example.no/hub/oauth_callback"
    assert auth.login_service == "Feide"
    assert auth.allow_all is False and auth.allowed_users == set()  # access is checked live (check_allowed)
    assert auth.username_pattern == ADD_ACCOUNTS_RULE
    # The name from Feide's userinfo response becomes the Unix name, in our realm only.
    userinfo = {"sub": "76a7a061-3c55-430d-8ee0-6f82ec42501f",
                "https://n.feide.no/claims/eduPersonPrincipalName": "Kari@Example.no"}
    name = auth.normalize_username(auth.user_info_to_username(userinfo))
    assert name == "kari" and auth.validate_username(name)
    for foreign in ("kari@ntnu.no", "kari@example.no.evil.org", "kari.nordmann@example.no"):
        assert not auth.validate_username(auth.normalize_username(foreign)), foreign


def test_canvas_lti13(monkeypatch):
    """Canvas: LTI13Authenticator with Canvas cloud's issuer, authorization and key set, the client id
    from the environment and the login id as user name?"""
    _app, auth = load(AUTH / "canvas_lti13.py", monkeypatch)
    assert isinstance(auth, LTI13Authenticator)
    assert auth.issuer == "https://canvas.instructure.com"
    assert auth.authorize_url == "https://sso.canvaslms.com/api/lti/authorize_redirect"
    assert auth.jwks_endpoint == "https://sso.canvaslms.com/api/lti/security/jwks"
    assert auth.client_id == {"10000000000042"}
    assert auth.uri_scheme == "https"
    assert auth.allow_all is False and auth.allowed_users == set()
    assert auth.username_pattern == ADD_ACCOUNTS_RULE
    # The user name: the launch's custom field login_id by the rule in course.instructor.lti (tests/test_lti.py).
    from course.instructor.lti import unix_name

    assert unix_name("Kari@example.no", "example.no") == "kari" and auth.validate_username("kari")
    assert unix_name(None, "example.no") is None and unix_name("kari@ntnu.no", "example.no") is None


@pytest.mark.parametrize("filename", FILES)
def test_no_secret_in_the_file(filename):
    """Does no example hold a secret: no client secret or password assigned, no dummy value copied in?"""
    text = (AUTH / filename).read_text(encoding="utf-8")
    assert DUMMY_SECRET not in text and DUMMY_ENV["OAUTH_CLIENT_ID"] not in text
    assert not re.search(r"(client_secret|password|api_token|cookie_secret)\s*=", text, flags=re.I)


FEIDE_NAME = "https://n.feide.no/claims/eduPersonPrincipalName"


def run(coroutine):
    """Run an authenticator's coroutine to its end, in a thread of its own: the process may already run an
    event loop in this one (Playwright's, when a browser test ran before in the same worker)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def _refusal(call) -> str:
    """The Norwegian page of a refused log-in: the 403's message (what JupyterHub's error page shows)."""
    with pytest.raises(HTTPError) as refused:
        run(call) if asyncio.iscoroutine(call) else call()
    assert refused.value.status_code == 403
    return refused.value.log_message % refused.value.args


def test_feide_refusals_say_why_in_norwegian(monkeypatch):
    """Another realm, a name that is no Unix name, no Feide name, not in the course: each a 403 in
    Norwegian that names the Feide user and what to do, and a reason in English in the log?"""
    _app, auth = load(AUTH / "feide.py", monkeypatch)
    log = _Collect()
    auth.log.addHandler(log)

    def model(feide: str) -> dict:
        return {"name": auth.normalize_username(feide), "admin": None, "auth_state": {"oauth_user": {FEIDE_NAME: feide}}}

    page = _refusal(auth.update_auth_model(model("kari@ntnu.no")))
    assert "Feide-brukeren din (kari@ntnu.no) hører ikke til example.no" in page
    assert "Logg inn på nytt med Feide-brukeren din fra example.no" in page
    assert "kan ikke brukes som brukernavn" in _refusal(auth.update_auth_model(model("kari.nordmann@example.no")))
    assert "Feide sendte ikke Feide-navnet ditt" in _refusal(lambda: auth.user_info_to_username({"sub": "x"}))
    page = _refusal(auth.check_allowed("kari", model("kari@example.no")))  # the test's groups do not exist
    assert "Du står ikke på klasselisten" in page and "(kari@example.no)" in page and "emneansvarlig" in page
    auth.log.removeHandler(log)
    assert "Feide log-in refused: 'kari@ntnu.no' is not in the realm 'example.no'" in log.messages
    assert any("is not in the groups" in m for m in log.messages)
    # A "%" in a Feide name is shown as it is (the page formats the message with its arguments).
    assert "(k%sari@ntnu.no)" in _refusal(auth.update_auth_model(model("k%sari@ntnu.no")))
    # username_map lets the administrator give such a person a name.
    auth.username_map = {"kari.nordmann@example.no": "karinor", "kari@ntnu.no": "karintnu"}
    for feide, name in (("kari.nordmann@example.no", "karinor"), ("Kari@NTNU.no", "karintnu")):
        assert run(auth.update_auth_model(model(feide)))["name"] == name


def test_feide_address_is_only_for_a_stand_in_on_loopback(monkeypatch):
    """SAMSKAPING_FEIDE_ADRESSE moves the three endpoints together; an http address off loopback stops the hub?"""
    _app, auth = load(AUTH / "feide.py", monkeypatch, SAMSKAPING_FEIDE_ADRESSE="http://127.0.0.1:5556/")
    assert (auth.authorize_url, auth.token_url, auth.userdata_url) == (
        "http://127.0.0.1:5556/oauth/authorization", "http://127.0.0.1:5556/oauth/token",
        "http://127.0.0.1:5556/openid/userinfo")
    with pytest.raises(SystemExit) as stop:
        load(AUTH / "feide.py", monkeypatch, SAMSKAPING_FEIDE_ADRESSE="http://feide.example.org")
    assert "må begynne med https://" in str(stop.value) and "Ikke sett den i drift" in str(stop.value)


@pytest.mark.parametrize("filename, missing, says", [
    ("feide.py", "OAUTH_CLIENT_SECRET", "miljøvariabelen OAUTH_CLIENT_SECRET mangler"),
    ("feide.py", "SAMSKAPING_REALM", "miljøvariabelen SAMSKAPING_REALM mangler"),
    ("canvas_lti13.py", "SAMSKAPING_LTI_CLIENT_ID", "miljøvariabelen SAMSKAPING_LTI_CLIENT_ID mangler"),
    ("canvas_lti13.py", "SAMSKAPING_LTI_DEPLOYMENT_ID", "miljøvariabelen SAMSKAPING_LTI_DEPLOYMENT_ID mangler"),
])
def test_a_missing_setting_stops_the_hub_with_a_norwegian_message(filename, missing, says, monkeypatch):
    """Without a required environment variable, does the hub stop at once and say which (not fail at log-in)?"""
    with pytest.raises(SystemExit) as stop:
        load(AUTH / filename, monkeypatch, **{missing: None})
    assert says in str(stop.value)


def test_feide_refuses_a_callback_url_that_is_not_the_hubs(monkeypatch):
    with pytest.raises(SystemExit) as stop:
        load(AUTH / "feide.py", monkeypatch, OAUTH_CALLBACK_URL="https://kurs.example.no/callback")
    assert "skal slutte på /hub/oauth_callback" in str(stop.value)


@pytest.mark.parametrize("filename, right, wrong", [
    ("feide.py", "c.GenericOAuthenticator.username_claim", "c.GenericOAuthenticator.username_claims"),
    ("feide.py", "c.GenericOAuthenticator.scope", "c.GenericOAuthenticatr.scope"),
    ("canvas_lti13.py", "c.LTI13Authenticator.jwks_endpoint", "c.LTI13Authenticator.jwks_url"),
    ("pam.py", "c.PAMAuthenticator.allowed_groups", "c.PAMAuthenticator.allowed_group"),
])
def test_a_misspelt_setting_fails(filename, right, wrong, tmp_path, monkeypatch):
    """Would a misspelt key or class section in an example fail the load (traitlets only warns, or ignores it)?"""
    text = (AUTH / filename).read_text(encoding="utf-8")
    assert right in text
    broken = tmp_path / filename
    broken.write_text(text.replace(right, wrong), encoding="utf-8")
    with pytest.raises(AssertionError, match="not recognized|no class named"):
        load(broken, monkeypatch)


def test_only_the_course_groups_may_log_in(monkeypatch):
    """With real Unix groups, are exactly their members allowed, checked at the moment of log-in for Feide and
    Canvas (an account added later is let in, one taken out is refused and its session ends), and nobody else?"""
    if os.geteuid() != 0:
        pytest.skip("needs root: creates Unix accounts and groups")
    from unix import Accounts, admin

    accounts = Accounts("au")
    try:
        student, instructor = accounts.student("kari"), accounts.instructor("per")
        outsider = accounts.plain("ola")
        groups = {"SAMSKAPING_STUDENTER": accounts.student_group, "SAMSKAPING_LAERERE": accounts.instructor_group}
        _app, feide = load(AUTH / "feide.py", monkeypatch, **groups)
        _app, canvas = load(AUTH / "canvas_lti13.py", monkeypatch, **groups)
        for auth in (feide, canvas):
            assert auth.allowed_users == set()  # nothing is read at start

        def allowed(name: str) -> bool:
            return run(feide.check_allowed(name, None))

        assert allowed(student) and allowed(instructor)
        _refusal(feide.check_allowed(outsider, None))
        assert run(canvas.check_allowed(instructor)) and not run(canvas.check_allowed(outsider))
        # Added after the hub started: let in at once, without a restart.
        late = accounts.student("nils")
        assert allowed(late) and run(canvas.check_allowed(late))
        # Taken out of the group: refused at the next log-in, and the session ends at the next refresh.
        admin(["gpasswd", "--delete", student, accounts.student_group])
        _refusal(feide.check_allowed(student, None))
        assert run(feide.refresh_user(SimpleNamespace(name=student))) is False
        assert run(feide.refresh_user(SimpleNamespace(name=late))) is True
        _app, pam = load(AUTH / "pam.py", monkeypatch, **groups)
        assert pam.check_allowed(late) and pam.check_allowed(instructor)
        assert not pam.check_allowed(outsider)
    finally:
        accounts.remove_all()
