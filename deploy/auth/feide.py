"""Log-in with Feide (OpenID Connect) through oauthenticator's GenericOAuthenticator.

Loaded by deploy/jupyterhub_config.py (``load_subconfig``) when
SAMSKAPING_INNLOGGING=feide. Students and instructors log in with their Feide
name (``ola@uio.no``); the hub starts their server as the Unix account ``ola``.

Unix accounts. LocalProcessSpawner runs each server as a Unix account, and this
setup does not create accounts at log-in: they are made beforehand with
deploy/add-accounts.sh from the class list (private 0700 homes, umask 077, the
course's groups), and only members of the course's groups may log in. That is
why the class is the plain GenericOAuthenticator, not LocalGenericOAuthenticator
with ``create_system_users``: with Feide *everyone* at the institution (and
Feide's guest users) can authenticate, so "who is in the course" must come from
the class list, not from the log-in.

Access is checked against the groups as they are at the moment (course.hubauth):
at every log-in (``check_allowed``), and at each of JupyterHub's refreshes of a
session (``refresh_user``, every ``auth_refresh_age`` seconds of use, five
minutes by default). An account added with add-accounts.sh can log in at once,
without a restart of the hub; a person taken out of the groups is logged out at
the next refresh and refused at the next log-in, and keeps their files.

Refusals. Each is a 403 page in Norwegian that says why and what to do, with the
reason in English in the hub's log ("Feide log-in refused: ..."); no hub user
and no account is created:
  * a Feide name in another realm (``kari@ntnu.no``), unless username_map maps it;
  * a Feide name whose local part is no valid Unix name (map it, see below);
  * no Feide name at all (a log-in through ID-porten or another login provider,
    or the attribute group userid-feide not granted to the service in Feide's
    customer portal);
  * a person not in the course's groups now (no account, or not on the class list).

User names. A Feide name is ``<user>@<realm>``. Names in the institution's own
realm (SAMSKAPING_REALM) become ``<user>``; any other realm keeps its "@" and
is refused, so ``ola@ntnu.no`` can never become the local ``ola``. A local part
that is no valid Unix name (``ola.nordmann``, ``username_pattern``) is refused
too; map such people explicitly::

    c.Authenticator.username_map = {"ola.nordmann@uio.no": "olanordm"}

Environment (secrets only here, never in this file):
  OAUTH_CLIENT_ID        the client id of the service registered in Feide's customer portal
  OAUTH_CLIENT_SECRET    its client secret (oauthenticator reads it from the environment itself)
  OAUTH_CALLBACK_URL     https://<hub>/hub/oauth_callback, as registered in Feide as redirect URI
  SAMSKAPING_REALM       the institution's Feide realm, e.g. uio.no
  SAMSKAPING_STUDENTER / SAMSKAPING_LAERERE   the course's Unix groups
  SAMSKAPING_FEIDE_ADRESSE   optional: Feide's base address, from which the authorization,
                         token and userinfo addresses are built (default https://auth.dataporten.no).
                         For a test against a stand-in on loopback (tests/feide_stand_in.mjs);
                         never set it in production.
"""

import os
import sys
from urllib.parse import urlsplit

from oauthenticator.generic import GenericOAuthenticator
from tornado.web import HTTPError

from course.hubauth import in_course

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)


def required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        sys.exit(f"Innlogging med Feide: miljøvariabelen {name} mangler. Sett den i hubens "
                 "miljøfil (for eksempel EnvironmentFile i systemd-enheten), ikke i en fil i depotet.")
    return value


for name in ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET"):
    required(name)
CALLBACK_URL = required("OAUTH_CALLBACK_URL")
if not CALLBACK_URL.endswith("/hub/oauth_callback"):
    sys.exit(f"Innlogging med Feide: OAUTH_CALLBACK_URL ({CALLBACK_URL}) skal slutte på /hub/oauth_callback "
             "og være den samme adressen som er registrert hos Feide.")
REALM = required("SAMSKAPING_REALM").lower().lstrip("@")
STUDENTS = os.environ.get("SAMSKAPING_STUDENTER") or "samskaping-studenter"
INSTRUCTORS = os.environ.get("SAMSKAPING_LAERERE") or "samskaping-laerere"

# Feide's endpoints, from Feide's documentation "Obtaining tokens with Feide"
# (https://docs.feide.no/service_providers/openid_connect/feide_obtaining_tokens.html),
# which lists them as published by the discovery document
# https://auth.dataporten.no/.well-known/openid-configuration.
# SAMSKAPING_FEIDE_ADRESSE replaces the base address, for a test against a stand-in
# on loopback; never set it in production.
FEIDE = (os.environ.get("SAMSKAPING_FEIDE_ADRESSE", "").strip() or "https://auth.dataporten.no").rstrip("/")
_feide = urlsplit(FEIDE)
if not (_feide.scheme == "https" or (_feide.scheme == "http" and _feide.hostname in ("127.0.0.1", "::1", "localhost"))):
    sys.exit(f"Innlogging med Feide: SAMSKAPING_FEIDE_ADRESSE ({FEIDE}) må begynne med https:// (http:// bare "
             "mot 127.0.0.1 i en test). Variabelen er bare for tester mot en stedfortreder for Feide på maskinen "
             "selv. Ikke sett den i drift.")
FEIDE_AUTHORIZE_URL = f"{FEIDE}/oauth/authorization"
FEIDE_TOKEN_URL = f"{FEIDE}/oauth/token"
FEIDE_USERINFO_URL = f"{FEIDE}/openid/userinfo"
# The Feide name (eduPersonPrincipalName, "ola@uio.no") in the userinfo
# response; it needs the attribute group (scope) userid-feide. Feide's
# documentation "Userinfo" (https://docs.feide.no/reference/apis/userinfo.html).
FEIDE_NAME_CLAIM = "https://n.feide.no/claims/eduPersonPrincipalName"


def refuse(log, why: str, message: str) -> HTTPError:
    """A refused log-in: the reason in English in the hub's log, the Norwegian message on the page."""
    log.warning("Feide log-in refused: %s", why)
    return HTTPError(403, "%s", message)  # the page shows log_message % args: a "%" in a name stays as it is


def feide_name(auth_model: dict) -> str:
    """The Feide name in the userinfo response an auth model was built from ("" if none)."""
    userinfo = (auth_model.get("auth_state") or {}).get("oauth_user") or {}
    return str(userinfo.get(FEIDE_NAME_CLAIM) or "")


class FeideAuthenticator(GenericOAuthenticator):
    """GenericOAuthenticator whose user names are the institution's Unix names, in the course's groups now."""

    def normalize_username(self, username: str) -> str:
        # Lower case and username_map first (keys are Feide names), then drop our own realm.
        username = super().normalize_username(username)
        user, at, realm = username.rpartition("@")
        return user if at and realm == REALM else username

    def user_info_to_username(self, user_info: dict) -> str:
        if not user_info.get(FEIDE_NAME_CLAIM):
            raise refuse(self.log, f"no {FEIDE_NAME_CLAIM} in the userinfo of sub {user_info.get('sub')!r} "
                                   "(another login provider, or the attribute group userid-feide is not granted)",
                         "Feide sendte ikke Feide-navnet ditt til kursserveren. Logg inn med Feide-brukeren din "
                         f"fra {REALM}, ikke med ID-porten eller en annen innlogging.")
        return super().user_info_to_username(user_info)

    async def update_auth_model(self, auth_model: dict) -> dict:
        # Called after normalize_username, before JupyterHub's own check of the name (which
        # would refuse without saying why).
        auth_model = await super().update_auth_model(auth_model)
        name, feide = auth_model["name"], feide_name(auth_model)
        if "@" in name:
            raise refuse(self.log, f"{feide!r} is not in the realm {REALM!r}",
                         f"Feide-brukeren din ({feide}) hører ikke til {REALM}. Bare brukere fra {REALM} kan "
                         f"logge inn på denne kursserveren. Logg inn på nytt med Feide-brukeren din fra {REALM}.")
        if not self.validate_username(name):
            raise refuse(self.log, f"{feide!r} gives {name!r}, which is no valid Unix name (map it in username_map)",
                         f"Feide-navnet ditt ({feide}) kan ikke brukes som brukernavn på kursserveren. "
                         "Kontakt emneansvarlig, som kan gi deg et brukernavn her.")
        return auth_model

    async def check_allowed(self, username: str, auth_model: dict | None = None) -> bool:
        if in_course(username, STUDENTS, INSTRUCTORS):
            return True
        feide = feide_name(auth_model or {}) or username
        raise refuse(self.log, f"{feide!r} ({username!r}) is not in the groups {STUDENTS!r} or {INSTRUCTORS!r}",
                     f"Du står ikke på klasselisten for dette emnet, så Feide-brukeren din ({feide}) har ikke "
                     "tilgang til kursserveren. Kontakt emneansvarlig hvis du skal følge emnet.")

    async def refresh_user(self, user, handler=None, **kwargs):
        # Taken out of the course's groups: the session ends, and the next log-in is refused.
        if not in_course(user.name, STUDENTS, INSTRUCTORS):
            self.log.warning("Feide session of %s ended: no longer in the groups %r or %r",
                             user.name, STUDENTS, INSTRUCTORS)
            return False
        return await super().refresh_user(user, handler, **kwargs)


c.JupyterHub.authenticator_class = FeideAuthenticator
c.GenericOAuthenticator.login_service = "Feide"
c.GenericOAuthenticator.authorize_url = FEIDE_AUTHORIZE_URL
c.GenericOAuthenticator.token_url = FEIDE_TOKEN_URL
c.GenericOAuthenticator.userdata_url = FEIDE_USERINFO_URL
c.GenericOAuthenticator.scope = ["openid", "userid-feide"]
c.GenericOAuthenticator.username_claim = FEIDE_NAME_CLAIM
c.GenericOAuthenticator.oauth_callback_url = CALLBACK_URL
# The client id and secret: oauthenticator reads OAUTH_CLIENT_ID and
# OAUTH_CLIENT_SECRET from the environment; nothing about them is written here.

# Who may log in: the accounts in the course's Unix groups at that moment, nobody else
# (check_allowed and refresh_user above; no allowed_users, which is read once at start).
c.Authenticator.allow_all = False
c.Authenticator.any_allow_config = True  # check_allowed is the rule: no "No allow config found" warning
# Valid Unix user names only, the rule deploy/add-accounts.sh applies.
c.Authenticator.username_pattern = r"^[a-z_][a-z0-9_-]{0,31}$"
