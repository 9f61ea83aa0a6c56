"""The deadline service on the class server: each person sees their own deadlines, and nobody else's.

A JupyterHub-managed service (deploy/jupyterhub_config.py) that runs as the
grading account in the course folder, where the deadlines file
(``frister.csv``, course/frister.py) lies; students cannot read that folder.
The hub tells the service who is asking (OAuth for a browser, the server's
own token for the student's submit), so the only deadlines a person is ever
shown are their own: an extension given to one student is never seen by
another.

    /services/frister/           the page: each exercise's deadline, the person's extension, the time left
    /services/frister/api/mine   the same as JSON, for the submit in the student's own server

The file is read again when it changes, so an extension reaches the student at
once. Run: ``python -m course.frister_tjeneste`` (the hub sets the
environment).
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from course import frister

COURSE_TITLE = "Samskaping og velferdsledelse"


class Course:
    """The course folder's deadlines and policy, read again when the file or the configuration changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: tuple | None = None
        self._policy: frister.DeadlinePolicy | None = None
        self._plan: frister.Plan | None = None
        self._error: str | None = None

    def _stamp(self) -> tuple:
        stamps = []
        for name in ("nbgrader_config.py", frister.FILE):
            try:
                st = (self.root / name).stat()
                stamps.append((st.st_mtime_ns, st.st_size))
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def load(self) -> tuple[frister.DeadlinePolicy, frister.Plan | None, str | None]:
        stamp = self._stamp()
        if stamp != self._seen:
            self._policy = frister.DeadlinePolicy(config=frister.course_config(self.root))
            try:
                self._plan, self._error = frister.read_plan(self.root, file=self._policy.file), None
            except frister.DeadlineError as error:
                self._plan, self._error = None, str(error)
            self._seen = stamp
        return self._policy, self._plan, self._error


class Base(HubOAuthenticated, web.RequestHandler):
    def mine(self) -> dict:
        policy, plan, error = self.settings["course"].load()
        name = self.current_user["name"]
        if plan is None:
            # The file has a mistake: the instructor is told by `course frister`; the student is not shown a guess.
            raise web.HTTPError(503, reason="Fristene kan ikke vises nå")
        return {"student": name, "regel": policy.to_dict(), "oppgaver": plan.for_student(name)}


class Api(Base):
    def get(self) -> None:
        if self.current_user is None:
            raise web.HTTPError(403)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(self.mine(), ensure_ascii=False))


class Page(Base):
    @web.authenticated
    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Security-Policy",
                        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                        "frame-ancestors 'self'")
        try:
            mine = self.mine()
        except web.HTTPError:
            self.set_status(503)
            self.finish(page("Fristene kan ikke vises akkurat nå",
                             "<p>Fristene for emnet kan ikke vises akkurat nå. Prøv igjen om litt. Hvis det ikke "
                             "går, si fra til faglæreren.</p>", self.lab_url()))
            return
        self.finish(page("Fristene dine", deadlines_html(mine), self.lab_url()))

    def lab_url(self) -> str:
        return url_path_join(os.environ.get("JUPYTERHUB_BASE_URL", "/"), "hub", "user-redirect", "lab")

    def write_error(self, status_code: int, **kwargs) -> None:
        self.finish(page("Noe gikk galt", f"<p>Siden kunne ikke vises (feil {status_code}).</p>", self.lab_url()))


STYLE = """
body { font-family: system-ui, sans-serif; color: #1a1a1a; background: #fff; margin: 0; line-height: 1.5; }
main { max-width: 48rem; margin: 0 auto; padding: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
caption { text-align: left; font-weight: 600; padding-bottom: .5rem; }
th, td { text-align: left; padding: .5rem; border-bottom: 1px solid #767676; vertical-align: top; }
.forlenget { display: block; font-weight: 600; color: #0b4f2a; }
.ute { color: #8a1c1c; font-weight: 600; }
.lokal { display: block; color: #3d3d3d; }
a { color: #0b4a8b; }
a:focus, a:hover { outline: 2px solid #0b4a8b; outline-offset: 2px; }
"""

# Shows each deadline in the browser's own time zone too, when it is not Norway's:
# the label (LOCAL_LABEL, with the zone's name for {sone}) and the time in that zone.
LOCAL_LABEL = "Der du er nå ({sone}): "
LOCAL_TIME_SCRIPT = """
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone || zone === 'Europe/Oslo') return;
  const fmt = new Intl.DateTimeFormat('nb-NO', {weekday: 'long', day: 'numeric', month: 'long',
                                                hour: '2-digit', minute: '2-digit', timeZone: zone});
  for (const el of document.querySelectorAll('time[data-frist]')) {
    const span = document.createElement('span');
    span.className = 'lokal';
    span.textContent = el.dataset.lokal.replace('{sone}', zone) + fmt.format(new Date(el.getAttribute('datetime')));
    el.after(span);
  }
})();
"""


def deadlines_html(mine: dict) -> str:
    """The body of a person's page: their deadlines only."""
    rows = mine["oppgaver"]
    rule = html.escape(mine["regel"]["tekst"])
    intro = ("<p>Alle tider er norsk tid (Europe/Oslo). Fristen gjelder til og med minuttet som står: "
             f"«kl. 23.59» betyr før midnatt. I dette emnet {rule}.</p>")
    if not rows:
        return intro + "<p>Ingen oppgaver har frist ennå.</p>"
    body = []
    for row in rows:
        # The minute the deadline names: its last instant is one second short of the next minute.
        minute = row["frist"][:16] + "Z"
        cell = (f'<time datetime="{html.escape(minute)}" data-frist data-lokal="{LOCAL_LABEL}">'
                f'{html.escape(row["frist_tekst"])}</time>')
        if row["forlenget"]:
            cell = (f'<span class="forlenget">Fristen din er forlenget til {html.escape(row["frist_tekst"])}.</span>'
                    f'{cell}<span class="lokal">Klassens frist: {html.escape(row["klassens_frist_tekst"])}</span>')
        left = row["sekunder_igjen"]
        remaining = (f"{frister.format_duration(left)} igjen" if left > 0
                     else '<span class="ute">Fristen er ute</span>')
        body.append(f'<tr><th scope="row">{html.escape(row["oppgave"])}</th><td>{cell}</td><td>{remaining}</td></tr>')
    table = ('<table><caption>Oppgavene og fristene dine</caption>'
             '<thead><tr><th scope="col">Oppgave</th><th scope="col">Frist</th><th scope="col">Tid igjen</th></tr>'
             f'</thead><tbody>{"".join(body)}</tbody></table>')
    help_text = ("<p>Trenger du utsatt frist, for eksempel ved sykdom, tar du kontakt med faglæreren. "
                 "Grunnen skriver du ikke her; fristen din vises på denne siden når den er forlenget.</p>")
    return intro + table + help_text + f"<script>{LOCAL_TIME_SCRIPT}</script>"


def page(title: str, body: str, lab_url: str) -> str:
    return (f'<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(title)} – {COURSE_TITLE}</title><style>{STYLE}</style></head>'
            f'<body><main><h1>{html.escape(title)}</h1>'
            f'<p>Emnet {COURSE_TITLE}</p>{body}'
            f'<p><a href="{html.escape(lab_url)}">Tilbake til JupyterLab</a></p></main></body></html>')


def make_app(root: Path) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/frister/")
    return web.Application(
        [
            (prefix, Page),
            (url_path_join(prefix, "api/mine"), Api),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        ],
        cookie_secret=os.urandom(32),
        course=Course(root),
    )


def main() -> None:
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    server = HTTPServer(make_app(Path.cwd()), xheaders=True)
    server.listen(url.port, url.hostname)
    IOLoop.current().start()


if __name__ == "__main__":
    main()
