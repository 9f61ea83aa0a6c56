"""Log-in from Canvas via LTI 1.3 (jupyterhub-ltiauthenticator's LTI13Authenticator, extended).

Loaded by deploy/jupyterhub_config.py (``load_subconfig``) when
SAMSKAPING_INNLOGGING=canvas. Students open the hub from a link (an external
tool) in the Canvas course; Canvas vouches for who they are with a signed
id_token, checked against Canvas's public keys. docs/canvas-og-feide.md is the
administrator's guide (the developer key, the services, what is kept).

What ltiauthenticator checks: the state and nonce against the browser's
cookies, the token's signature (the platform's JWKS), issuer, audience (our
client id), expiry and age, and the LTI message's required claims. What this
file adds, each refused with a Norwegian page, logged in English, and with
nothing created:

* the deployment (``deployment_id``) must be the course's own installation of
  the tool (SAMSKAPING_LTI_DEPLOYMENT_ID): a launch from another course or
  another Canvas fails even with a valid signature;
* a nonce is used once: a launch replayed with its cookies is refused;
* a role the course knows (Learner, or Instructor/TeachingAssistant/...);
* a user name from the rule in course.instructor.lti.unix_name (the custom
  field login_id, our realm dropped), and a name held by another LTI user, or
  an existing Unix account outside the course, is never handed over.

Accounts. The first launch of a person on the Canvas course creates their Unix
account with deploy/add-accounts.sh (0700 home, umask 077), in the students'
or instructors' group by their LTI role. Access is checked against the groups
at every log-in and refresh, so a person taken out of them (the class-list
sync, deploy/klasseliste.py) loses access at once and keeps their files.

Canvas's services. Each launch carries the course's Names and Role
Provisioning (NRPS) and Assignment and Grade Services (AGS) addresses; they are
saved in the course folder (.lti-kontekst.json) for ``course canvas`` and the
class-list sync. The tool's own key (for those services' access tokens) is made
at the first start in the course folder (.lti-verktoynokkel.pem, the grading
account's, 0600); its public half is served at /hub/lti13/jwks.

Environment (no secret is needed; none is written here):
  SAMSKAPING_LTI_CLIENT_ID       the developer key's client id
  SAMSKAPING_LTI_DEPLOYMENT_ID   the tool's deployment id in the course (comma-separated if several)
  SAMSKAPING_REALM               optional: the realm dropped from login ids, e.g. uio.no
  SAMSKAPING_CANVAS_ADRESSE      the institution's Canvas, e.g. https://uio.instructure.com (its token
                                 endpoint serves the class list and grades; log-in works without it)
  SAMSKAPING_LTI_UTSTEDER, _AUTORISERING, _NOKLER, _TOKEN   optional: the issuer, authorization,
                                 key set and token addresses one by one, for a self-hosted Canvas
                                 (default Instructure's Canvas cloud) or a stand-in on loopback in a test
  SAMSKAPING_STUDENTER / SAMSKAPING_LAERERE / SAMSKAPING_RETTER / SAMSKAPING_KURSMAPPE   as in jupyterhub_config.py
"""

import asyncio
import os
import pwd
import subprocess
import sys
import threading
import time
from pathlib import Path

from ltiauthenticator.lti13.auth import LTI13Authenticator
from ltiauthenticator.lti13.error import ValidationError
from ltiauthenticator.lti13.handlers import LTI13CallbackHandler, LTI13LoginInitHandler
from jupyterhub import orm
from jupyterhub.handlers import BaseHandler
from tornado.web import HTTPError

from course.hubauth import in_course
from course.instructor import lti

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)

DEPLOY = Path(__file__).resolve().parent.parent


def setting(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


CLIENT_ID = setting("SAMSKAPING_LTI_CLIENT_ID")
if not CLIENT_ID:
    sys.exit("Innlogging fra Canvas: miljøvariabelen SAMSKAPING_LTI_CLIENT_ID mangler. Sett den til "
             "klient-ID-en til utviklernøkkelen i Canvas, i hubens miljøfil (ikke i en fil i depotet).")
DEPLOYMENTS = {d.strip() for d in setting("SAMSKAPING_LTI_DEPLOYMENT_ID").split(",") if d.strip()}
if not DEPLOYMENTS:
    sys.exit("Innlogging fra Canvas: miljøvariabelen SAMSKAPING_LTI_DEPLOYMENT_ID mangler. Sett den til "
             "utrullings-ID-en (Deployment ID) som Canvas viser for verktøyet i emnet (Settings → Apps).")
REALM = setting("SAMSKAPING_REALM").lower().lstrip("@")
STUDENTS = setting("SAMSKAPING_STUDENTER", "samskaping-studenter")
INSTRUCTORS = setting("SAMSKAPING_LAERERE", "samskaping-laerere")
GRADER = setting("SAMSKAPING_RETTER", "samskaping-retter")
COURSE_DIR = Path(setting("SAMSKAPING_KURSMAPPE", f"/home/{GRADER}/samskaping-kurs"))
STATE = Path(setting("SAMSKAPING_HUB_STATE", "/var/lib/samskaping-kurs/hub"))

# Canvas cloud. The issuer: Canvas's "Launch Overview"
# (https://developerdocs.instructure.com/services/canvas/external-tools/lti/file.lti_launch_overview):
# every Instructure-hosted Canvas uses https://canvas.instructure.com in production.
# The JWKS and the OIDC authorization endpoint moved to sso.canvaslms.com (the old
# canvas.instructure.com addresses still answer): Canvas's "Configuring LTI Advantage Tools"
# (https://developerdocs.instructure.com/services/canvas/external-tools/lti/file.lti_dev_key_config)
# and the Canvas Community post "Minor LTI 1.3 Changes: New OIDC Auth Endpoint".
# A self-hosted Canvas has all of these on its own address: set the four one by one.
ISSUER = setting("SAMSKAPING_LTI_UTSTEDER", "https://canvas.instructure.com")
AUTHORIZE_URL = setting("SAMSKAPING_LTI_AUTORISERING", "https://sso.canvaslms.com/api/lti/authorize_redirect")
JWKS_URL = setting("SAMSKAPING_LTI_NOKLER", "https://sso.canvaslms.com/api/lti/security/jwks")
# The token endpoint for the LTI Advantage services (class list, grades): POST login/oauth2/token
# on the institution's own Canvas address (Canvas's "OAuth2 Endpoints",
# https://developerdocs.instructure.com/services/canvas/oauth/oauth_endpoints).
CANVAS = setting("SAMSKAPING_CANVAS_ADRESSE").rstrip("/")
TOKEN_URL = setting("SAMSKAPING_LTI_TOKEN", f"{CANVAS}/login/oauth2/token" if CANVAS else "")

KEY_FILE = COURSE_DIR / ".lti-verktoynokkel.pem"
REGISTRY = lti.Registry(STATE / "lti-brukere.json")

AGAIN = "Gå tilbake til Canvas og åpne kurset på nytt fra lenken der."
CONTACT = "Hvis det skjer igjen, send klokkeslettet og denne teksten til emneansvarlig."


def grader_owner() -> tuple[int, int] | None:
    try:
        entry = pwd.getpwnam(GRADER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def refuse(handler, why: str, message: str) -> HTTPError:
    """A refused launch: the reason in English in the hub's log, the Norwegian message on the page."""
    handler.log.warning("LTI launch refused from %s: %s", handler.request.remote_ip, why)
    return HTTPError(403, message)


class _Nonces:
    """Nonces already used, kept until the id_token they came in has expired (a replay is refused)."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, nonce: str, expires: float) -> bool:
        now = time.time()
        with self._lock:
            for old in [n for n, exp in self._seen.items() if exp < now - 600]:
                del self._seen[old]
            if nonce in self._seen:
                return False
            self._seen[nonce] = expires
            return True


NONCES = _Nonces()


class LoginInitHandler(LTI13LoginInitHandler):
    """The start of a launch: only from our Canvas and our developer key; cookies that survive the cross-site POST."""

    def post(self):
        iss = self.get_argument("iss", "")
        client_id = self.get_argument("client_id", CLIENT_ID)
        if iss != ISSUER or client_id != CLIENT_ID:
            raise refuse(self, f"login initiation from issuer {iss!r}, client {client_id!r}",
                         "Lenken kommer ikke fra Canvas-emnet dette kurset er satt opp for. " + AGAIN)
        return super().post()

    get = post

    def _set_oauth_cookie(self, key: str, value):
        # Canvas answers with a form POSTed from its own site: a browser sends the hub's state and
        # nonce cookies with that cross-site POST only if they are SameSite=None (and so Secure).
        secure = self.request.protocol == "https"
        extra = {"samesite": "None", "secure": True} if secure else {}
        self._set_cookie(key, value, expires_days=1, httponly=True, encrypted=True, **extra)


class CallbackHandler(LTI13CallbackHandler):
    """The launch itself: ltiauthenticator's checks, ours, then the person's way in."""

    async def post(self):
        try:
            id_token = self.decode_and_validate_launch_request()
        except (ValidationError, HTTPError) as error:
            raise refuse(self, f"id_token or state not valid: {error}",
                         "Innloggingen fra Canvas kunne ikke godkjennes: den er ugyldig, utløpt eller brukt før. "
                         f"{AGAIN} {CONTACT}") from None
        user = await self.login_user(id_token)
        if user is None:
            raise refuse(self, "the person is not in the course's groups",
                         f"Du har ikke tilgang til dette kurset. {CONTACT}")
        role = getattr(self, "samskaping_role", None)
        self._follow_role(user, role)
        if role == "laerer":
            self.redirect(f"{self.hub.base_url.rstrip('/').removesuffix('/hub')}/services/formgrader/")
        else:
            await self.redirect_to_next_url(user)


    def _follow_role(self, user, role) -> None:
        """The hub's instructors' group (Formgrader, the class overview) follows the launch's LTI role.

        Not Authenticator.manage_groups: that forbids the hub's load_groups, which the other ways
        of logging in use (jupyterhub_config.py).
        """
        group = orm.Group.find(self.db, INSTRUCTORS) or orm.Group(name=INSTRUCTORS)
        member = user.orm_user in group.users
        if role == "laerer" and not member:
            group.users.append(user.orm_user)
        elif role != "laerer" and member:
            group.users.remove(user.orm_user)
        else:
            return
        if group not in self.db:
            self.db.add(group)
        self.db.commit()


class JwksHandler(BaseHandler):
    """The tool's public key, for the developer key's "Public JWK URL" in Canvas."""

    def check_xsrf_cookie(self):
        return

    async def get(self):
        self.set_header("Content-Type", "application/json")
        self.write(lti.public_jwks(KEY_FILE.read_text(encoding="ascii")))


async def _account(name: str, role: str) -> None:
    """Create the account (or put it in the group) with deploy/add-accounts.sh, the one rule for accounts."""
    env = {**os.environ, "SAMSKAPING_STUDENTER": STUDENTS, "SAMSKAPING_LAERERE": INSTRUCTORS}
    done = await asyncio.to_thread(subprocess.run, [str(DEPLOY / "add-accounts.sh"), role, name],
                                   env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"add-accounts.sh {role} {name}: {done.stderr.strip()}")


class CanvasAuthenticator(LTI13Authenticator):
    """LTI13Authenticator with the course's checks, accounts made at the first launch, and live access."""

    login_handler = LoginInitHandler
    callback_handler = CallbackHandler

    def get_handlers(self, app):
        return [*super().get_handlers(app), (r"/lti13/jwks", JwksHandler)]

    async def authenticate(self, handler, data=None):
        claims = data or {}
        claim = "https://purl.imsglobal.org/spec/lti/claim/"
        deployment = claims.get(claim + "deployment_id")
        if deployment not in DEPLOYMENTS:
            raise refuse(handler, f"deployment_id {deployment!r} is not the course's ({sorted(DEPLOYMENTS)})",
                         "Lenken kommer fra et annet emne eller en annen installasjon av verktøyet i Canvas. "
                         f"Åpne kurset fra lenken i riktig emne. {CONTACT}")
        if not NONCES.first_use(str(claims.get("nonce")), float(claims.get("exp", 0))):
            raise refuse(handler, "nonce used before (replayed launch)",
                         f"Denne innloggingen er brukt før og kan ikke brukes igjen. {AGAIN}")
        role = lti.role_of(claims.get(claim + "roles") or ())
        if role is None:
            raise refuse(handler, f"no course role in {claims.get(claim + 'roles')!r}",
                         "Canvas sendte ingen rolle du har i emnet (student eller lærer), så kursserveren vet ikke "
                         f"hva du skal få tilgang til. {CONTACT}")
        login_id = (claims.get(claim + "custom") or {}).get("login_id")
        name = lti.unix_name(login_id, REALM)
        if name is None:
            why = ("Canvas sendte ikke innloggingsnavnet ditt (feltet login_id)." if not login_id else
                   "Innloggingsnavnet ditt fra Canvas kan ikke brukes som brukernavn på kursserveren "
                   "(det må være fra din egen institusjon og bare ha små bokstaver, sifre, - og _).")
            raise refuse(handler, f"no safe user name from login_id {login_id!r}", f"{why} {CONTACT}")
        sub = str(claims.get("sub"))
        holder = REGISTRY.holder(name)
        if holder not in (None, sub):
            raise refuse(handler, f"user name {name!r} is held by another LTI user",
                         f"Brukernavnet «{name}» tilhører en annen person på kursserveren. {CONTACT}")
        if holder is None:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                entry = None
            if entry and (entry.pw_uid < 1000 or not in_course(name, STUDENTS, INSTRUCTORS)):
                raise refuse(handler, f"a Unix account {name!r} exists outside the course",
                             f"Det finnes alt en konto «{name}» på kursserveren som ikke hører til kurset. {CONTACT}")
        if not REGISTRY.claim(name, sub):
            raise refuse(handler, f"user name {name!r} was taken meanwhile",
                         f"Brukernavnet «{name}» tilhører en annen person på kursserveren. {CONTACT}")
        await _account(name, role)
        handler.samskaping_role = role
        context = lti.Context.from_launch(claims, client_id=CLIENT_ID, token_url=TOKEN_URL,
                                          key_file=str(KEY_FILE), realm=REALM)
        if COURSE_DIR.is_dir() and context.save(COURSE_DIR, owner=grader_owner()):
            self.log.info("Saved the Canvas course's service addresses to %s", COURSE_DIR / lti.CONTEXT_FILE)
        self.log.info("LTI launch: %s as %s", name, role)
        return {"name": name}

    async def check_allowed(self, username, authentication=None):
        return in_course(username, STUDENTS, INSTRUCTORS)

    async def refresh_user(self, user, handler=None):
        # Taken out of the course's groups (the class-list sync): log in again, and be refused.
        return in_course(user.name, STUDENTS, INSTRUCTORS)


if COURSE_DIR.is_dir():
    lti.tool_key(KEY_FILE, owner=grader_owner())

c.JupyterHub.authenticator_class = CanvasAuthenticator
c.LTI13Authenticator.issuer = ISSUER
c.LTI13Authenticator.authorize_url = AUTHORIZE_URL
c.LTI13Authenticator.jwks_endpoint = JWKS_URL
c.LTI13Authenticator.client_id = {CLIENT_ID}
# Canvas only launches tools over HTTPS; behind a TLS proxy the scheme cannot be guessed.
c.LTI13Authenticator.uri_scheme = setting("SAMSKAPING_LTI_SKJEMA", "https")
c.LTI13Authenticator.tool_name = "Samskaping og velferdsledelse"
c.LTI13Authenticator.tool_description = "Leksjoner og innleveringsoppgaver i JupyterLab"
# Who may log in: the course's groups, checked at each log-in (check_allowed above).
c.Authenticator.allow_all = False
# Valid Unix user names only, the rule deploy/add-accounts.sh applies.
c.Authenticator.username_pattern = r"^[a-z_][a-z0-9_-]{0,31}$"
# Access is re-checked against the groups every five minutes of use (JupyterHub's default age;
# SAMSKAPING_LTI_SJEKK_TILGANG, in seconds, for a test).
c.Authenticator.auth_refresh_age = int(setting("SAMSKAPING_LTI_SJEKK_TILGANG", "300"))
