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
the class list, not from the log-in. Restart the hub after adding accounts
(``allowed_users`` is read at start).

User names. A Feide name is ``<user>@<realm>``. Names in the institution's own
realm (SAMSKAPING_REALM) become ``<user>``; any other realm keeps its "@",
fails ``username_pattern`` and is refused, so ``ola@ntnu.no`` can never become
the local ``ola``. A local part that is no valid Unix name (``ola.nordmann``) is
refused too; map such people explicitly::

    c.Authenticator.username_map = {"ola.nordmann@uio.no": "olanordm"}

Environment (secrets only here, never in this file):
  OAUTH_CLIENT_ID        the client id of the service registered in Feide's customer portal
  OAUTH_CLIENT_SECRET    its client secret (oauthenticator reads it from the environment itself)
  OAUTH_CALLBACK_URL     https://<hub>/hub/oauth_callback, as registered in Feide as redirect URI
  SAMSKAPING_REALM       the institution's Feide realm, e.g. uio.no
  SAMSKAPING_STUDENTER / SAMSKAPING_LAERERE   the course's Unix groups
"""

import grp
import os
import sys

from oauthenticator.generic import GenericOAuthenticator

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)


def required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        sys.exit(f"Innlogging med Feide: miljøvariabelen {name} mangler. Sett den i hubens "
                 "miljøfil (for eksempel EnvironmentFile i systemd-enheten), ikke i en fil i depotet.")
    return value


def members(*groups: str) -> set[str]:
    """The Unix accounts in these groups (as supplementary members; add-accounts.sh puts them there)."""
    found: set[str] = set()
    for group in groups:
        try:
            found |= set(grp.getgrnam(group).gr_mem)
        except KeyError:
            pass  # no such group yet: nobody from it can log in
    return found


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
FEIDE_AUTHORIZE_URL = "https://auth.dataporten.no/oauth/authorization"
FEIDE_TOKEN_URL = "https://auth.dataporten.no/oauth/token"
FEIDE_USERINFO_URL = "https://auth.dataporten.no/openid/userinfo"
# The Feide name (eduPersonPrincipalName, "ola@uio.no") in the userinfo
# response; it needs the attribute group (scope) userid-feide. Feide's
# documentation "Userinfo" (https://docs.feide.no/reference/apis/userinfo.html).
FEIDE_NAME_CLAIM = "https://n.feide.no/claims/eduPersonPrincipalName"


class FeideAuthenticator(GenericOAuthenticator):
    """GenericOAuthenticator whose user names are the institution's Unix names."""

    def normalize_username(self, username: str) -> str:
        # Lower case and username_map first (keys are Feide names), then drop our own realm.
        username = super().normalize_username(username)
        user, at, realm = username.rpartition("@")
        return user if at and realm == REALM else username


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

# Who may log in: the accounts in the course's Unix groups, nobody else.
c.Authenticator.allow_all = False
c.Authenticator.allowed_users = members(STUDENTS, INSTRUCTORS)
# Valid Unix user names only, the rule deploy/add-accounts.sh applies.
c.Authenticator.username_pattern = r"^[a-z_][a-z0-9_-]{0,31}$"
