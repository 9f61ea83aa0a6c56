"""The hub's own pages in Norwegian (deploy/templates/): log-in, start-up, home, errors.

JupyterHub renders the pages a student meets before JupyterLab. The course's
templates make them Norwegian (bokmål), name the course (the template variable
``kurs``, from SAMSKAPING_KURSNAVN) and pass axe (WCAG 2.1 AA and axe's best
practices), where the stock log-in page fails on white text on orange.

One real hub (deploy/jupyterhub_config.py, the shared test password, as in the
other hub tests) and Debian's Chromium: the log-in page, a wrong password, the
start-up page while the student's server starts, JupyterLab, the home page,
the token page, a 404, a 403, stopping the server and the "not running" page,
logging out. The Feide and Canvas log-in pages need an authenticator the test
hub does not have: they are rendered with JupyterHub's own jinja environment
(``JupyterHub.init_tornado_settings``) and shown in Chromium on the hub's own
address, with the hub's own style sheet. Every page's text is spelled with
hunspell ``nb_NO`` (no English dictionary: English left in a page fails).
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import subprocess
import tempfile
from datetime import datetime, timedelta
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from browser.conftest import axe_source  # noqa: F401 (the fixture: axe-core from npm)
from hub import PASSWORD, Hub, grader_with_empty_course
from unix import ROOT, Accounts, skip_unless_class_server, wait_for

pytestmark = pytest.mark.slow

TEMPLATES = ROOT / "deploy" / "templates"
KURS = "Samskaping og velferdsledelse"  # SAMSKAPING_KURSNAVN's default in deploy/jupyterhub_config.py
WORDLISTS = ROOT / "config" / "ordliste"
UI_TIMEOUT = 60_000  # ms for any one condition in a page (a server's start, JupyterLab's first load)


# --- Rendering a template with JupyterHub's own jinja environment --------------------------------

@cache
def _hub_environment(authenticator: str, innlogging: str):
    """JupyterHub's jinja environment (our folder first) and the namespace its handlers give every page."""
    from jupyterhub.app import JupyterHub
    from jupyterhub.objects import Hub as HubObject

    classes = {
        "shared-password": ("jupyterhub.authenticators.shared", "SharedPasswordAuthenticator", {}),
        "feide": ("oauthenticator.generic", "GenericOAuthenticator", {"login_service": "Feide"}),
        "canvas": ("ltiauthenticator.lti13.auth", "LTI13Authenticator", {}),
    }
    module, cls, settings = classes[authenticator]
    app = JupyterHub(template_paths=[str(TEMPLATES)], template_vars={"kurs": KURS, "innlogging": innlogging})
    app.hub = HubObject(base_url="/hub/")
    app.authenticator = getattr(__import__(module, fromlist=[cls]), cls)(parent=app, **settings)
    for unused in ("db", "proxy", "oauth_provider", "eventlog", "statsd"):  # not needed to render a page
        setattr(app, unused, None)
    app.init_tornado_settings()
    tornado = app.tornado_settings
    namespace = {  # BaseHandler.template_namespace
        "base_url": "/hub/", "prefix": "/", "user": None, "login_url": tornado["login_url"],
        "login_service": app.authenticator.login_service, "logout_url": tornado["logout_url"],
        "static_url": lambda path, include_version=True: f"/hub/static/{path}", "version_hash": "",
        "services": [], "parsed_scopes": set(), "expanded_scopes": set(), "xsrf": "x", "xsrf_token": "x",
        **tornado["template_vars"],
    }
    return tornado["jinja2_env_sync"], namespace, app.authenticator


def render(name: str, *, authenticator: str = "shared-password", innlogging: str = "felles-passord", **ns) -> str:
    """``name`` rendered as the hub renders it: JupyterHub's environment and loaders, our folder first.

    The namespace is the one JupyterHub's handlers give every page, and for login.html what its
    LoginHandler adds (LoginHandler._render); ``ns`` adds or replaces entries.
    """
    from tornado.httputil import url_concat

    environment, base, auth = _hub_environment(authenticator, innlogging)
    namespace = dict(base)
    if name == "login.html":
        namespace.update(next="", username="", login_error=None, authenticator=auth, custom_html="",
                         authenticator_login_url=url_concat(auth.login_url("/hub/"), {"next": ""}))
    if name in ("error.html", "404.html"):  # BaseHandler.write_error
        namespace.update(status_message="", message="", message_html="", extra_error_html="", exception=None)
    namespace.update(ns)
    return environment.get_template(name).render(**namespace)


def _student(name: str = "kari"):
    spawner = SimpleNamespace(options_form=None, name="", active=True, ready=True, last_activity=None)
    return SimpleNamespace(name=name, json_escaped_name=name, spawner=spawner)


class _Text(HTMLParser):
    """What a reader meets in a page: text, and the labels and titles of its elements.

    Scripts and styles are left out (their texts are checked in the browser, where they show),
    and so is whatever is marked as English (lang="en") or as code.
    """

    SKIP = {"script", "style", "code", "pre"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: is it skipped?

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skipped = (bool(self.stack and self.stack[-1]) or tag in self.SKIP
                   or (attrs.get("lang") or "nb").split("-")[0] not in ("nb", "no"))
        if not skipped:
            for attr in ("aria-label", "title", "alt", "placeholder"):
                if attrs.get(attr):
                    self.parts.append(attrs[attr])
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in self.VOID:
            self.stack.append(skipped)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def words_of(text: str) -> set[str]:
    """The words of ``text`` to spell (as tests/test_language.py splits them; addresses left out)."""
    words = set()
    for token in re.split(r"[^\wæøåÆØÅéü'’/-]+", text):
        if "_" in token or "/" in token:  # identifiers and addresses
            continue
        words |= {w for w in re.split(r"[-'’]+", token) if len(w) > 1 and w.isalpha()}
    return words


def unknown_words(text: str, *, also_known: set[str] = frozenset()) -> list[str]:
    """The words of ``text`` that hunspell nb_NO and the project's word lists do not know.

    The same word lists as tests/test_language.py, but without its English dictionary.
    """
    words = words_of(text) - set(also_known)
    if not words:
        return []
    listed = set()
    for path in WORDLISTS.glob("*.txt"):
        if path.name != "forbudt.txt":
            lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
            listed |= {line for line in lines if line}
    with tempfile.TemporaryDirectory() as folder:
        dictionary = Path(folder) / "ordliste.dic"
        dictionary.write_text("\n".join(sorted(listed)) + "\n", encoding="utf-8")
        result = subprocess.run(["hunspell", "-d", "nb_NO", "-p", str(dictionary), "-i", "utf-8", "-l"],
                                input="\n".join(sorted(words)), capture_output=True, text=True, check=True)
    return sorted(set(result.stdout.split()))


# --- The rendered pages: every branch a student can meet -----------------------------------------

NOT_IN_COURSE = "Sorry, you are not currently authorized to use this hub. Please contact the hub administrator."
CANVAS_REFUSAL = "Lenken kommer ikke fra Canvas-emnet dette kurset er satt opp for."


def _every_page() -> dict[str, str]:
    """Each template in each of its states, rendered: {what: html}."""
    now = datetime(2025, 9, 1, 12, 0)
    token = SimpleNamespace(api_id="a1", note="Server at /user/kari/", scopes=["read:users"], last_activity=None,
                            created=now, expires_at=now + timedelta(days=7))
    client = {"token_id": "o1", "description": "JupyterHub service frister", "tokens": [token], "last_activity": now,
              "created": now}
    pages = {
        "login, passord": render("login.html"),
        "login, feil passord": render("login.html", login_error="Invalid username or password", username="kari"),
        "login, Feide": render("login.html", authenticator="feide", innlogging="feide"),
        "login, Canvas": render("login.html", authenticator="canvas", innlogging="canvas"),
        "logout": render("logout.html"),
        "logout, Canvas": render("logout.html", authenticator="canvas", innlogging="canvas"),
        "spawn_pending": render("spawn_pending.html", user=_student(), progress_url="/hub/api/progress"),
        "stop_pending": render("stop_pending.html", user=_student()),
        "not_running": render("not_running.html", user=_student(), server_name="", spawn_url="/hub/spawn/kari"),
        "not_running, feilet": render("not_running.html", user=_student(), server_name="", spawn_url="/hub/spawn/kari",
                                      failed=True, failed_message="Fant ingen ledig port for serveren til kari."),
        "home, kjører": render("home.html", user=_student(), default_server=SimpleNamespace(active=True),
                               url="/user/kari/", allow_named_servers=False),
        "home, stoppet": render("home.html", user=_student(), default_server=SimpleNamespace(active=False),
                                url="/hub/spawn/kari", allow_named_servers=False),
        "token": render("token.html", user=_student(), api_tokens=[token], oauth_clients=[client],
                        token_expires_in_max_seconds=0, token_expires_in_options_html=""),
        "oauth": render("oauth.html", user=_student(), allowed_scopes=[], scope_descriptions=[
            {"scope": "", "description": "Identify the user", "filter": ""}],
            oauth_client=SimpleNamespace(description="Tjeneste", redirect_uri="/services/x/oauth_callback")),
        "spawn": render("spawn.html", user=_student(), for_user=None, url="/hub/spawn/kari",
                        spawner_options_form=""),
        "404.html": render("404.html", status_code=404),
        "ikke i kurset": render("error.html", status_code=403, message=NOT_IN_COURSE),
        "Canvas avviser": render("error.html", status_code=403, message=CANVAS_REFUSAL,
                                 authenticator="canvas", innlogging="canvas"),
        "403, innlogget": render("error.html", status_code=403, user=_student(),
                                 message="Action is not authorized with current scopes; requires any of [admin-ui]"),
        "serveren feilet": render("error.html", status_code=500, user=_student(), extra_error_html=(
            "You can try restarting your server from the <a href='/hub/home'>home page</a>.")),
    }
    for code in (400, 401, 405, 429, 500, 502, 503, 599):
        pages[f"error.html {code}"] = render("error.html", status_code=code)
    return pages


@pytest.fixture(scope="module")
def every_page() -> dict[str, str]:
    return _every_page()


def test_every_page_is_norwegian_and_spelled_right(every_page):
    """Is every page the hub renders <html lang="nb">, named for the course, and known to hunspell nb_NO?"""
    texts = {what: page_text(html) for what, html in every_page.items()}
    unknown = set(unknown_words(" ".join(texts.values()), also_known={"kari"}))  # one hunspell run for all
    for what, html in every_page.items():
        assert '<html lang="nb">' in html, what
        assert re.search(rf"<title>[^<]*{KURS}</title>", html), f"{what}: the course's name is not in the title"
        assert not (wrong := sorted(words_of(texts[what]) & unknown)), f"{what}: ukjente ord {wrong}"


def test_the_spelling_check_can_fail():
    """Would an English word left in a page, or a misspelling, fail the check above?"""
    assert {"Your", "redirected"} <= set(unknown_words("Logg inn. Your server is starting, you will be redirected"))
    assert unknown_words("Serveren din startr") == ["startr"]


def test_the_log_in_page_fits_each_way_in(every_page):
    """Password form, Feide's button, and Canvas's directions (no form) on the log-in page."""
    password = every_page["login, passord"]
    for text in ("<h1 id=\"login-heading\">Logg inn</h1>", '>Brukernavn</label>', '>Passord</label>',
                 "value='Logg inn'", f"Kursserveren for {KURS}"):
        assert text in password
    assert "Feil brukernavn eller passord. Prøv igjen." in every_page["login, feil passord"]
    feide = every_page["login, Feide"]
    assert re.search(r"href='/hub/oauth_login\?next='>Logg inn med Feide</a>", feide)
    assert "<form" not in feide and "Brukernavn" not in feide
    canvas = every_page["login, Canvas"]
    assert "Logg inn fra Canvas" in canvas and f"Åpne emnet {KURS} i Canvas" in canvas
    assert "<form" not in canvas and "lti13" not in canvas and "LTI" not in page_text(canvas)


def test_the_error_page_says_what_the_hub_says_in_norwegian(every_page):
    """The hub's own message in Norwegian (a Norwegian one as it is), a standard text per code, what to do next."""
    refused = every_page["ikke i kurset"]
    assert f"Du har ikke tilgang til kursserveren for {KURS}." in refused
    assert "Ingen tilgang" in refused and "kontakt emneansvarlig" in refused
    assert f'<p lang="en"><code>{NOT_IN_COURSE}</code></p>' in refused  # for whoever helps the student
    canvas = every_page["Canvas avviser"]
    assert f'<p class="lead" id="melding">{CANVAS_REFUSAL}</p>' in canvas and "Teknisk melding" not in canvas
    assert "Åpne emnet" in canvas and 'href="/hub/login"' not in canvas  # no log-in form to go to with Canvas
    assert "Du har ikke tilgang til denne siden" in every_page["403, innlogget"]
    assert "Fant ikke siden" in every_page["404.html"] and "moons" not in every_page["404.html"]
    failed = every_page["serveren feilet"]
    assert "starte serveren på nytt fra <a href=\"/hub/home\">startsiden</a>" in failed and "home page" not in failed
    assert "Kursserveren er ikke tilgjengelig nå" in every_page["error.html 503"]
    assert "Det oppsto en feil på kursserveren" in every_page["error.html 599"]


# --- One real hub, and Chromium -------------------------------------------------------------------

@pytest.fixture(scope="module")
def hub():
    skip_unless_class_server()
    accounts = Accounts("s")
    started: Hub | None = None
    try:
        # The student exists before the hub starts: with the shared test password it reads the list at start.
        accounts.student("kari")
        accounts.group("laer")  # the instructors' group must exist; nobody in it here
        grader, course = grader_with_empty_course(accounts)
        started = Hub(accounts, grader=grader, course_dir=course, exchange=Path(f"/srv/{accounts.tag}/exchange"),
                      settings={"SAMSKAPING_STOPP_UBRUKT": "0"})
        started.start()
        yield started
    finally:
        if started:
            started.stop()
            started.remove_state()
        accounts.remove_all()


@pytest.fixture(scope="module")
def tab(hub, browser):
    """One Norwegian browser tab for the module (the student stays logged in from test to test)."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nb-NO", bypass_csp=True)
    context.set_default_timeout(UI_TIMEOUT)
    expect.set_options(timeout=UI_TIMEOUT)
    try:
        yield context.new_page()
    finally:
        context.close()


def axe(page, axe_source: Path) -> list[str]:
    """axe-core's violations on the page as it is now (WCAG 2.1 AA and axe's best practices)."""
    page.add_script_tag(path=str(axe_source))
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
               .map(v => `${v.impact} ${v.id}: ` + v.nodes.map(n => n.target.join(' ')).join(' | '))""")


def check_page(page, axe_source: Path, hub: Hub, heading: str) -> None:
    """The page as a student meets it: Norwegian, the course's name, its heading, no axe violation, spelled right."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert page.locator("html").get_attribute("lang") == "nb"
    assert KURS in page.title() and KURS in page.get_by_role("navigation").first.inner_text()
    assert (violations := axe(page, axe_source)) == [], f"{page.url}: {violations}"
    student = f"{hub.accounts.tag}kari"
    wrong = unknown_words(page.locator("body").inner_text() + " " + page.title(), also_known={student})
    assert not wrong, f"{page.url}: ukjente ord {wrong}"


def _processes_of(user: str) -> list[int]:
    uid = pwd.getpwnam(user).pw_uid
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid == uid:
                pids.append(int(proc.name))
        except FileNotFoundError:
            pass
    return pids


def test_the_log_in_page_and_a_wrong_password(hub, tab, axe_source):
    """The log-in page is Norwegian and names the course; a wrong password is told in Norwegian; axe passes both."""
    from playwright.sync_api import expect

    tab.goto(f"{hub.url}/hub/login")
    check_page(tab, axe_source, hub, "Logg inn")
    expect(tab.get_by_label("Brukernavn")).to_be_visible()
    tab.get_by_label("Brukernavn").fill(f"{hub.accounts.tag}kari")
    tab.get_by_label("Passord").fill("feil-passord")
    tab.get_by_role("button", name="Logg inn").click()
    expect(tab.get_by_role("alert")).to_have_text("Feil brukernavn eller passord. Prøv igjen.")
    check_page(tab, axe_source, hub, "Logg inn")
    # The dark look (the system's choice, or the menu's switch) passes too.
    tab.emulate_media(color_scheme="dark")
    try:
        tab.goto(f"{hub.url}/hub/login")
        assert tab.locator("html").get_attribute("data-bs-theme") == "dark"
        check_page(tab, axe_source, hub, "Logg inn")
    finally:
        tab.emulate_media(color_scheme="light")


def test_the_start_up_page_then_jupyterlab(hub, tab, axe_source):
    """While the student's server starts, the start-up page says so in Norwegian (axe passes); then JupyterLab."""
    from playwright.sync_api import expect

    student = f"{hub.accounts.tag}kari"
    tab.goto(f"{hub.url}/hub/login")
    tab.get_by_label("Brukernavn").fill(student)
    tab.get_by_label("Passord").fill(PASSWORD)
    tab.get_by_role("button", name="Logg inn").click()
    tab.wait_for_url(re.compile(rf"/hub/spawn-pending/{student}"))
    # Hold the server where it is (SIGSTOP) so the page stays while it is checked, however fast the start.
    stopped = wait_for(lambda: _processes_of(student), "the student's server process", on_timeout=hub.log)
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        expect(tab.locator("#progress-log")).to_contain_text("Serveren er bestilt.")
        expect(tab.locator("#progress-message")).to_have_text("Serveren starter …")
        check_page(tab, axe_source, hub, "Serveren din starter")
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    tab.wait_for_url(re.compile(rf"/user/{student}/lab"))
    tab.locator("#jp-main-dock-panel").wait_for()


def _logged_in(hub: Hub, tab) -> str:
    """The student's name, logged in in ``tab`` (again, if the test before failed early)."""
    student = f"{hub.accounts.tag}kari"
    tab.goto(f"{hub.url}/hub/home")
    if "/hub/login" in tab.url:
        tab.get_by_label("Brukernavn").fill(student)
        tab.get_by_label("Passord").fill(PASSWORD)
        tab.get_by_role("button", name="Logg inn").click()
        tab.wait_for_url(re.compile(rf"/user/{student}/lab"))
        tab.goto(f"{hub.url}/hub/home")
    return student


def test_home_token_404_and_403_pages(hub, tab, axe_source):
    """The home page, the token page, a page that is not there and the admin page (403), each Norwegian, axe passing."""
    from playwright.sync_api import expect

    _logged_in(hub, tab)
    check_page(tab, axe_source, hub, KURS)
    expect(tab.get_by_role("button", name="Gå til serveren min")).to_be_visible()
    expect(tab.get_by_role("button", name="Stopp serveren min")).to_be_visible()
    nav = tab.get_by_role("navigation")
    for link in ("Hjem", "Token", "Logg ut"):
        expect(nav.get_by_role("link", name=link, exact=True).or_(nav.get_by_role("button", name=link))).to_be_visible()
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)  # a student is no admin
    nav.get_by_role("button", name="Tjenester").click()
    expect(nav.get_by_role("link", name="Fristene dine")).to_be_visible()
    tab.keyboard.press("Escape")

    tab.goto(f"{hub.url}/hub/token")
    check_page(tab, axe_source, hub, "Token")

    reply = tab.goto(f"{hub.url}/hub/finnes-ikke")
    assert reply.status == 404
    check_page(tab, axe_source, hub, "Fant ikke siden")

    reply = tab.goto(f"{hub.url}/hub/admin")
    assert reply.status == 403
    check_page(tab, axe_source, hub, "Ingen tilgang")
    expect(tab.locator("#melding")).to_have_text("Kontoen din har ikke tilgang til denne siden.")
    expect(tab.get_by_text("kontakt emneansvarlig")).to_be_visible()


def test_stopping_the_server_and_logging_out(hub, tab, axe_source):
    """«Stopp serveren min» on the home page; the "not running" page offers a new start; «Logg ut» leads to log-in."""
    from playwright.sync_api import expect

    student = _logged_in(hub, tab)
    tab.get_by_role("button", name="Stopp serveren min").click()
    expect(tab.get_by_role("status")).to_have_text("Serveren din er stoppet. Filene dine er der fortsatt.")
    expect(tab.get_by_role("button", name="Start serveren min")).to_be_visible()
    check_page(tab, axe_source, hub, KURS)

    tab.goto(f"{hub.url}/user/{student}/lab")
    tab.wait_for_url(re.compile(rf"/hub/user/{student}/lab"))
    check_page(tab, axe_source, hub, "Serveren din kjører ikke")
    expect(tab.get_by_role("button", name="Start serveren")).to_be_visible()

    tab.get_by_role("navigation").get_by_role("button", name="Logg ut").click()
    tab.wait_for_url(re.compile(r"/hub/login"))
    check_page(tab, axe_source, hub, "Logg inn")


@pytest.mark.parametrize("way_in", ["feide", "canvas"])
def test_the_feide_and_canvas_log_in_pages_pass_axe(hub, browser, axe_source, every_page, way_in):
    """Feide's button and Canvas's directions, rendered as the hub would, on the hub's address with its style sheet."""
    from playwright.sync_api import expect

    html = every_page["login, Feide" if way_in == "feide" else "login, Canvas"]
    context = browser.new_context(locale="nb-NO", bypass_csp=True)
    context.set_default_timeout(UI_TIMEOUT)
    try:
        page = context.new_page()
        address = f"{hub.url}/hub/innlogging-{way_in}"
        page.route(address, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8",
                                                        body=html))
        page.goto(address)
        if way_in == "feide":
            expect(page.get_by_role("button", name="Logg inn med Feide")).to_have_attribute(
                "href", "/hub/oauth_login?next=")
            heading = "Logg inn"
        else:
            expect(page.get_by_role("main").get_by_role("listitem").first).to_have_text(
                f"Åpne emnet {KURS} i Canvas.")
            expect(page.get_by_role("textbox")).to_have_count(0)  # no log-in form
            heading = "Logg inn fra Canvas"
        check_page(page, axe_source, hub, heading)
    finally:
        context.close()
