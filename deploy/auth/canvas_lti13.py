"""Log-in from Canvas via LTI 1.3 (jupyterhub-ltiauthenticator's LTI13Authenticator).

Loaded by deploy/jupyterhub_config.py (``load_subconfig``) when
SAMSKAPING_INNLOGGING=canvas. Students open the hub from a link (an external
tool) in the Canvas course; Canvas vouches for who they are with a signed
id_token, checked against Canvas's public keys. There is no client secret: the
tool only receives launches and verifies their signature.

This is for Instructure-hosted Canvas ("Canvas cloud"). A self-hosted Canvas
has its own issuer and endpoints on its own domain.

What the Canvas administrator registers (Admin > Developer Keys > + LTI Key):
  OpenID Connect Initiation URL   https://<hub>/hub/lti13/oauth_login
  Redirect URI                    https://<hub>/hub/lti13/oauth_callback
  Target Link URI                 https://<hub>/
  Custom Fields                   login_id=$Canvas.user.loginId
  Privacy level                   public (the custom field needs it)
The key's id (a number like 10000000000042) is the client id below. The hub
also serves a ready-made JSON configuration at https://<hub>/hub/lti13/config.

Unix accounts. LocalProcessSpawner runs each server as a Unix account, and
LTI13Authenticator has no ``create_system_users`` (it is no
LocalAuthenticator): the accounts are made beforehand with
deploy/add-accounts.sh from the class list, and only members of the course's
Unix groups may log in. Restart the hub after adding accounts.

User names. The user name is Canvas's login id (the custom field ``login_id``).
Where Canvas logs in through Feide it is a Feide name (``ola@uio.no``): our own
realm (SAMSKAPING_REALM) is dropped, giving ``ola``; another realm keeps its
"@", fails ``username_pattern`` and is refused. Without the custom field,
ltiauthenticator falls back to Canvas's opaque ``sub`` (a 36-character id),
which is refused as well.

Environment (no secret is needed; none is written here):
  SAMSKAPING_LTI_CLIENT_ID   the developer key's client id
  SAMSKAPING_REALM           optional: the realm dropped from login ids, e.g. uio.no
  SAMSKAPING_STUDENTER / SAMSKAPING_LAERERE   the course's Unix groups
"""

import grp
import os
import sys

from ltiauthenticator.lti13.auth import LTI13Authenticator

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)

CLIENT_ID = os.environ.get("SAMSKAPING_LTI_CLIENT_ID", "").strip()
if not CLIENT_ID:
    sys.exit("Innlogging fra Canvas: miljøvariabelen SAMSKAPING_LTI_CLIENT_ID mangler. Sett den til "
             "klient-ID-en til utviklernøkkelen i Canvas, i hubens miljøfil (ikke i en fil i depotet).")
REALM = os.environ.get("SAMSKAPING_REALM", "").strip().lower().lstrip("@")
STUDENTS = os.environ.get("SAMSKAPING_STUDENTER") or "samskaping-studenter"
INSTRUCTORS = os.environ.get("SAMSKAPING_LAERERE") or "samskaping-laerere"


def members(*groups: str) -> set[str]:
    """The Unix accounts in these groups (as supplementary members; add-accounts.sh puts them there)."""
    found: set[str] = set()
    for group in groups:
        try:
            found |= set(grp.getgrnam(group).gr_mem)
        except KeyError:
            pass  # no such group yet: nobody from it can log in
    return found


# Canvas cloud. The issuer: Canvas's "Launch Overview"
# (https://developerdocs.instructure.com/services/canvas/external-tools/lti/file.lti_launch_overview):
# every Instructure-hosted Canvas uses https://canvas.instructure.com in production.
# The JWKS and the OIDC authorization endpoint moved to sso.canvaslms.com (the old
# canvas.instructure.com addresses still answer): Canvas's "Configuring LTI Advantage Tools"
# (https://developerdocs.instructure.com/services/canvas/external-tools/lti/file.lti_dev_key_config)
# and the Canvas Community post "Minor LTI 1.3 Changes: New OIDC Auth Endpoint".
CANVAS_ISSUER = "https://canvas.instructure.com"
CANVAS_AUTHORIZE_URL = "https://sso.canvaslms.com/api/lti/authorize_redirect"
CANVAS_JWKS_URL = "https://sso.canvaslms.com/api/lti/security/jwks"


class CanvasAuthenticator(LTI13Authenticator):
    """LTI13Authenticator whose user names are the institution's Unix names."""

    def normalize_username(self, username: str) -> str:
        # Lower case and username_map first, then drop our own realm.
        username = super().normalize_username(username)
        user, at, realm = username.rpartition("@")
        return user if at and REALM and realm == REALM else username


c.JupyterHub.authenticator_class = CanvasAuthenticator
c.LTI13Authenticator.issuer = CANVAS_ISSUER
c.LTI13Authenticator.authorize_url = CANVAS_AUTHORIZE_URL
c.LTI13Authenticator.jwks_endpoint = CANVAS_JWKS_URL
c.LTI13Authenticator.client_id = {CLIENT_ID}
# The custom field login_id=$Canvas.user.loginId on the developer key.
c.LTI13Authenticator.username_key = "custom_login_id"
# Canvas only launches tools over HTTPS; behind a TLS proxy the scheme cannot be guessed.
c.LTI13Authenticator.uri_scheme = "https"
c.LTI13Authenticator.tool_name = "Samskaping og velferdsledelse"
c.LTI13Authenticator.tool_description = "Leksjoner og innleveringsoppgaver i JupyterLab"

# Who may log in: the accounts in the course's Unix groups, nobody else.
c.Authenticator.allow_all = False
c.Authenticator.allowed_users = members(STUDENTS, INSTRUCTORS)
# Valid Unix user names only, the rule deploy/add-accounts.sh applies.
c.Authenticator.username_pattern = r"^[a-z_][a-z0-9_-]{0,31}$"
