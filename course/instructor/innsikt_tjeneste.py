"""The class-insight service on the class server: what the class chose in the lessons, for the lecturer, by name of nobody.

A JupyterHub-managed service (deploy/jupyterhub_config.py), run as the grading
account in the course folder, storing counts in the gradebook's database
(course/innsikt_lager.py says what and why).

    POST /services/innsikt/api/svar        a student's first try (from the lesson, with the server's token)
    /services/innsikt/                     the lecturer's overview: the lessons, how many answered
    /services/innsikt/leksjon/NN           «Før seminaret»: the activities the class struggled with most,
                                           then each activity's choices and the misconceptions behind them
    /services/innsikt/notat/NN             the lesson's teaching note (docs/undervisning/)
    /services/innsikt/eksport.csv          the same counts as CSV (never a row per student)

Who may do what: every logged-in person may post their own first tries (the
hub says who is posting; the answer carries no name); only those with the
custom scope ``custom:klasseinnsikt:les`` (the instructors' group, by role)
see the pages and the export; everyone else gets 403. A student can post at
most ``RATE`` answers per ``RATE_WINDOW`` seconds; an answer that is not one of
the activity's own, a field the service does not know, or a body over
``MAX_BODY`` bytes is refused with a Norwegian message and nothing stored.

It lives with the instructor tooling: it is the lecturer's, and finds the
gradebook as `course grade` does. Run: ``python -P -m course.instructor.innsikt_tjeneste`` in the course folder (the hub sets the environment).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import time
from collections import defaultdict, deque
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from course import innsikt, loader
from course import innsikt_lager as lager
from course.instructor.common import gradebook_url

COURSE_TITLE = "Samskaping og velferdsledelse"
READ_SCOPE = "custom:klasseinnsikt:les"
LESSONS = range(1, 9)
RATE = 60  # answers per student per window; a lesson has at most a dozen activities
RATE_WINDOW = 60.0
MAX_BODY = 4096
STATUS_TEXT = {400: "Svaret ble ikke tatt imot", 403: "Ingen tilgang", 404: "Fant ikke siden",
               413: "Svaret er for stort", 429: "For mange svar på kort tid"}


# --- The course's own texts: lesson titles and the teaching notes' misconceptions -----------


def lesson_titles(root: Path) -> dict[int, str]:
    """Each lesson's title, from the first heading of its notebook (``# Leksjon N: ...``)."""
    titles = {}
    for number in LESSONS:
        for path in sorted((root / "lessons").glob(f"{number:02d}_*.ipynb")):
            first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
            heading = next((line.lstrip("# ").strip() for line in first.splitlines() if line.startswith("#")), "")
            titles[number] = heading or f"Leksjon {number}"
    return titles


def teaching_note(root: Path, lesson: int) -> Path | None:
    found = sorted((root / "docs" / "undervisning").glob(f"{lesson:02d}_*.md"))
    return found[0] if found else None


def misconceptions(note: Path | None) -> dict[str, list[tuple[str, str]]]:
    """Activity id -> [(misconception, how to take it up)], from the note's table «Misoppfatninger ...».

    The table's rows name the activities that catch each misconception in
    backticks (``l01_repetisjon_1``); a row may name several.
    """
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if note is None:
        return found
    in_table = False
    for line in note.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_table = line.startswith("## Misoppfatninger")
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not in_table or not line.startswith("|") or len(cells) < 3 or set(cells[0]) <= {"-", ":"}:
            continue
        for activity in re.findall(r"`(l\d\d_[a-z0-9_]+)`", cells[1]):
            found[activity].append((cells[0], cells[2]))
    return found


# --- Handlers ---------------------------------------------------------------------------------


class Base(HubOAuthenticated, web.RequestHandler):
    def prefix(self) -> str:
        return self.settings["prefix"]

    def is_reader(self) -> bool:
        return READ_SCOPE in (self.current_user or {}).get("scopes", [])

    def require_reader(self) -> None:
        if not self.is_reader():
            raise web.HTTPError(403)

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Security-Policy",
                        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'")

    def write_error(self, status_code: int, **kwargs) -> None:
        title = STATUS_TEXT.get(status_code, "Noe gikk galt")
        reason = kwargs.get("exc_info", (None, None))[1]
        message = getattr(reason, "log_message", None) if isinstance(reason, web.HTTPError) else None
        if self.request.path.startswith(url_path_join(self.prefix(), "api/")):
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps({"feil": message or title}, ensure_ascii=False))
            return
        if status_code == 403:
            message = ("Klasseoversikten er bare for faglærerne i emnet. Er du faglærer og ser dette, ber du "
                       "administratoren av kursserveren om å legge deg i lærergruppen.")
        self.finish(page(title, f"<p>{html.escape(message or title)} (feil {status_code}).</p>", self.prefix()))


class Answer(Base):
    """A student's first try. The hub says who posts; the body says which activity and what was chosen.

    Posts come from the student's kernel with the server's token. JupyterHub's
    handler checks the XSRF token of any post that comes with a cookie
    instead, so another web page cannot post in a student's name.
    """

    def post(self) -> None:
        user = self.current_user
        if user is None:
            raise web.HTTPError(403, "Logg inn på kursserveren først.")
        if len(self.request.body) > MAX_BODY:
            raise web.HTTPError(413, "Svaret er for stort.")
        limiter: dict[str, deque] = self.settings["limiter"]
        sent = limiter[user["name"]]
        now = time.monotonic()
        while sent and now - sent[0] > RATE_WINDOW:
            sent.popleft()
        if len(sent) >= RATE:
            raise web.HTTPError(429, "For mange svar på kort tid. Vent litt før du sjekker flere svar.")
        sent.append(now)
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise web.HTTPError(400, "Svaret er ikke gyldig JSON.") from None
        if not isinstance(body, dict) or set(body) != {"aktivitet", "svar"}:
            raise web.HTTPError(400, "Svaret må ha nøyaktig feltene «aktivitet» og «svar», og ingen andre.")
        entry = loader.load_all().get(body["aktivitet"]) if isinstance(body["aktivitet"], str) else None
        if not isinstance(entry, innsikt.COLLECTED):
            raise web.HTTPError(400, "Det finnes ingen aktivitet med denne id-en som samler inn svar.")
        try:
            parts = innsikt.parts(entry, body["svar"])
        except innsikt.AnswerError as error:
            raise web.HTTPError(400, str(error)) from None
        counted = self.settings["store"].add(user["name"], entry.id, parts)
        self.set_status(201 if counted else 200)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"talt": counted}))


class Overview(Base):
    @web.authenticated
    def get(self) -> None:
        self.require_reader()
        counts = self.settings["store"].counts()
        titles = self.settings["titles"]
        rows = []
        for lesson in LESSONS:
            views = lager.lesson_views(counts, lesson)
            shown = sum(1 for v in views if v.answered)
            most = max((counts[v.id].answered for v in views if v.id in counts), default=0)
            answered = "færre enn 5" if 0 < most < lager.MIN_STUDENTS else str(most)
            rows.append(f'<tr><th scope="row"><a href="{self.prefix()}leksjon/{lesson:02d}">'
                        f'{html.escape(titles.get(lesson, f"Leksjon {lesson}"))}</a></th>'
                        f'<td>{answered}</td><td>{shown} av {len(views)}</td></tr>')
        body = (INTRO
                + '<table><caption>Leksjonene</caption><thead><tr><th scope="col">Leksjon</th>'
                '<th scope="col">Flest studenter som har svart på én aktivitet</th>'
                '<th scope="col">Aktiviteter som kan vises</th></tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table>'
                f'<p><a href="{self.prefix()}eksport.csv">Last ned tallene som CSV</a> '
                '(semikolon, UTF-8; bare tall for hele klassen, aldri en rad per student).</p>')
        self.finish(page("Klasseoversikt", body, self.prefix(), home=False))


class Lesson(Base):
    @web.authenticated
    def get(self, number: str) -> None:
        self.require_reader()
        lesson = int(number)
        if lesson not in LESSONS:
            raise web.HTTPError(404)
        root = self.settings["root"]
        note = teaching_note(root, lesson)
        views = lager.lesson_views(self.settings["store"].counts(), lesson)
        title = self.settings["titles"].get(lesson, f"Leksjon {lesson}")
        body = lesson_html(views, misconceptions(note), self.prefix(), lesson, note is not None)
        self.finish(page(f"Før seminaret: {title}", body, self.prefix()))


class Note(Base):
    @web.authenticated
    def get(self, number: str) -> None:
        self.require_reader()
        note = teaching_note(self.settings["root"], int(number))
        if note is None:
            raise web.HTTPError(404)
        import mistune  # nbconvert's Markdown renderer, already in the environment

        text = note.read_text(encoding="utf-8")
        heading, _, rest = text.partition("\n")
        self.finish(page(heading.lstrip("# ").strip(), mistune.html(rest), self.prefix()))


class Export(Base):
    @web.authenticated
    def get(self) -> None:
        self.require_reader()
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="klasseoversikt.csv"')
        self.finish(export_csv(self.settings["store"].counts()))


# --- Pages ------------------------------------------------------------------------------------

INTRO = ("<p>Her ser du hva klassen valgte første gang de sjekket et svar i leksjonene. Tallene er for hele "
         "klassen og har ingen navn. Et tall for færre enn 5 studenter vises ikke, heller ikke når det kunne "
         "vært regnet ut fra de andre tallene. Studenter som har sagt nei i leksjon 1, er ikke med.</p>")

STYLE = """
body { font-family: system-ui, sans-serif; color: #1a1a1a; background: #fff; margin: 0; line-height: 1.5; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
caption { text-align: left; font-weight: 600; padding-bottom: .5rem; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #767676; vertical-align: top; }
.tall { white-space: nowrap; }
.stolpe { display: inline-block; height: .9rem; background: #0072B2; vertical-align: middle; margin-right: .4rem; }
.stolpe.feil { background: #8a4b00; }
.skjult { color: #3d3d3d; font-style: italic; }
section { border-top: 2px solid #767676; margin-top: 2rem; }
a { color: #0b4a8b; }
a:focus, a:hover { outline: 2px solid #0b4a8b; outline-offset: 2px; }
"""

HIDDEN = '<span class="skjult">færre enn 5</span>'


def short(title: str, limit: int = 90) -> str:
    """A long question cut at a word, for the ranking table (the section below has it whole)."""
    if len(title) <= limit:
        return title
    return title[:limit].rsplit(" ", 1)[0].rstrip(",.:;") + " …"


def _percent(share: float) -> str:
    return f"{round(share * 100)} %"


def _bar(share: float, right: bool) -> str:
    return f'<span class="stolpe{"" if right else " feil"}" style="width: {share * 12:.2f}rem" aria-hidden="true"></span>'


def lesson_html(views: list[lager.ActivityView], notes: dict, prefix: str, lesson: int, has_note: bool) -> str:
    note_link = (f'<p><a href="{prefix}notat/{lesson:02d}">Les undervisningsnotatet for leksjonen</a></p>'
                 if has_note else "")
    ranked = lager.ranked(views)
    if ranked:
        rows = "".join(
            f'<tr><th scope="row"><a href="#{v.id}">{html.escape(short(v.title))}</a></th><td>{v.answered}</td>'
            f'<td class="tall">{_bar(v.right_share, True)}{_percent(v.right_share)}</td></tr>' for v in ranked)
        ranking = ('<table><caption>Aktivitetene klassen strevde mest med først (lavest andel riktig i første '
                   'forsøk)</caption><thead><tr><th scope="col">Aktivitet</th><th scope="col">Har svart</th>'
                   f'<th scope="col">Riktig i første forsøk</th></tr></thead><tbody>{rows}</tbody></table>')
    else:
        ranking = "<p>Ingen aktivitet i leksjonen har svar fra minst 5 studenter ennå.</p>"
    few = [v for v in views if v.right_share is None]
    rest = ""
    if few:
        rest = ("<p>Ikke rangert (færre enn 5 svar, eller tall som ikke kan vises): "
                + "; ".join(f'<a href="#{v.id}">{html.escape(short(v.title, 60))}</a>' for v in few) + ".</p>")
    sections = "".join(activity_html(v, notes.get(v.id, [])) for v in views)
    return INTRO + note_link + "<h2>Før seminaret</h2>" + ranking + rest + "<h2>Aktivitetene</h2>" + sections


def activity_html(v: lager.ActivityView, notes: list[tuple[str, str]]) -> str:
    head = (f'<section aria-labelledby="h-{v.id}"><h3 id="h-{v.id}"><a id="{v.id}"></a>{html.escape(v.title)}</h3>'
            f'<p>Id: <code>{html.escape(v.id)}</code> ({v.kind}). ')
    if v.answered is None:
        return head + "Færre enn 5 studenter har svart; tallene vises ikke ennå.</p></section>"
    if v.answered == 0:
        return head + "Ingen har svart ennå.</p></section>"
    text = head + f"{v.answered} studenter har svart.</p>"
    if notes:
        items = "".join(f"<li>{html.escape(what)} <em>Slik kan du ta den opp:</em> {html.escape(how)}</li>"
                        for what, how in notes)
        text += f"<p>Misoppfatninger aktiviteten skal fange (fra undervisningsnotatet):</p><ul>{items}</ul>"
    for part in v.parts:
        caption = html.escape(part.label or "Valgene i første forsøk")
        if part.total is None:
            text += f"<p>{caption}: færre enn 5 svar, vises ikke.</p>"
            continue
        rows = []
        for _key, option, right, count in part.options:
            verdict = "Riktig" if right else "Feil"
            cell = HIDDEN if count is None else f"{_bar(count / part.total, right)}{count}"
            rows.append(f'<tr><th scope="row">{html.escape(option)}</th><td>{verdict}</td>'
                        f'<td class="tall">{cell}</td></tr>')
        share = "kan ikke vises" if part.right_share is None else _percent(part.right_share)
        text += (f'<table><caption>{caption} ({part.total} svar; riktig i første forsøk: {share})</caption>'
                 '<thead><tr><th scope="col">Valg</th><th scope="col">Riktig eller feil</th>'
                 f'<th scope="col">Antall</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
        if part.explanation:
            text += f"<p><em>Forklaringen studentene får:</em> {html.escape(part.explanation)}</p>"
    if v.kind == "flervalg":
        wrong = [(o, e) for o, e in _explanations(v.id) if e]
        if wrong:
            items = "".join(f"<li><strong>{html.escape(o)}</strong><br>{html.escape(e)}</li>" for o, e in wrong)
            text += f"<p>Hva hvert feil alternativ står for (forklaringen studentene får):</p><ul>{items}</ul>"
    return text + "</section>"


def _explanations(activity: str) -> list[tuple[str, str]]:
    entry = loader.get(activity)
    return [(o.text, o.explanation) for o in entry.options if not o.correct]


def export_csv(counts: dict[str, lager.Counts]) -> str:
    """Every shown figure, one row per choice; a hidden one is empty with «færre enn 5» in the last column."""
    out = io.StringIO()
    out.write("\ufeff")  # so that a spreadsheet opens it as UTF-8
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["leksjon", "aktivitet", "type", "del", "valg", "riktig", "har_svart", "svar_pa_delen",
                     "antall_forste_forsok", "merknad"])
    for lesson in LESSONS:
        for v in lager.lesson_views(counts, lesson):
            if not v.parts:
                note = "ingen svar" if v.answered == 0 else "færre enn 5"
                writer.writerow([lesson, v.id, v.kind, "", "", "", v.answered or "", "", "", note])
                continue
            for part in v.parts:
                for _key, option, right, count in part.options:
                    hidden = part.total is None or count is None
                    writer.writerow([lesson, v.id, v.kind, part.label, option, "ja" if right else "nei", v.answered,
                                     "" if part.total is None else part.total, "" if hidden else count,
                                     "færre enn 5" if hidden else ""])
    return out.getvalue()


def page(title: str, body: str, prefix: str, home: bool = True) -> str:
    back = f'<p><a href="{html.escape(prefix)}">Til oversikten over leksjonene</a></p>' if home else ""
    return (f'<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(title)} – {COURSE_TITLE}</title><style>{STYLE}</style></head>'
            f'<body><main><h1>{html.escape(title)}</h1><p>Emnet {COURSE_TITLE}</p>{back}{body}</main></body></html>')


def make_app(root: Path, store: lager.Store) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/innsikt/")
    return web.Application(
        [
            (prefix, Overview),
            (url_path_join(prefix, "api/svar"), Answer),
            (url_path_join(prefix, r"leksjon/(\d\d)"), Lesson),
            (url_path_join(prefix, r"notat/(\d\d)"), Note),
            (url_path_join(prefix, "eksport.csv"), Export),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        ],
        cookie_secret=os.urandom(32),
        prefix=prefix,
        root=root,
        store=store,
        titles=lesson_titles(root),
        limiter=defaultdict(deque),
    )


def main() -> None:
    root = Path.cwd()
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    # The gradebook's database, found as `course grade` finds it (the grading account's nbgrader configuration).
    store = lager.Store(gradebook_url(root), lager.read_key(root))
    server = HTTPServer(make_app(root, store), xheaders=True, max_body_size=64 * 1024)
    server.listen(url.port, url.hostname)
    IOLoop.current().start()


if __name__ == "__main__":
    main()
