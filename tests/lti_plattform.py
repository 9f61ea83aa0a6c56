"""An LTI 1.3 platform on loopback, standing in for Canvas in the tests.

``Platform(tool_url).start()`` serves one Canvas-like course on 127.0.0.1 (a
free port) from a tornado server in a background thread with its own asyncio
event loop, so a test in the same process reads its state directly
(``platform.scores()``, ``platform.launches``...). It offers what the class
server uses of Canvas: the link that launches a member into the tool, the OIDC
authorization endpoint, the platform's JWKS, the OAuth 2 token endpoint for
the tool's client-credentials grant, Names and Role Provisioning Services 2.0
(NRPS) and Assignment and Grade Services 2.0 (AGS).

The course: ``add_member`` / ``set_status`` (only Active members can launch;
Deleted ones are gone from NRPS), ``launch_url(user_id, attack)`` (``ATTACKS``
lists the tampered launches). What happened, read directly by a test:
``launches`` (each form served, to replay), ``authorize_requests`` (what the
tool sent to the authorization endpoint), ``token_requests`` / ``tokens`` /
``refused_tokens``, ``lineitems()``, ``scores()`` (every score accepted, in
order), ``refused_scores``; and ``fail_next_scores(n, status)`` to make the
score service fail. ``tool_jwks`` may be set after ``start()`` (it is read at
each token request); if it is None, the tool's JWKS is fetched from
``tool_url + "/hub/lti13/jwks"``.

What comes from the PyPI package lti1p3platform (0.1.8), and what is glue here
------------------------------------------------------------------------------
lti1p3platform does the protocol:

* the third-party-initiated login (``OIDCLoginAbstract.initiate_login``: the
  redirect to the tool's login URL with iss, login_hint, target_link_uri,
  lti_message_hint, client_id and lti_deployment_id);
* the launch (``LTIAdvantageMessageLaunchAbstract``): checking the tool's
  authorization request (nonce, state, redirect_uri, client_id), building the
  id_token's claims (message type, version, deployment, target link, user,
  roles, resource link, context, custom, the NRPS and AGS claims) and signing
  it with the platform key under its kid; the auto-submitting form is its
  ``launch.html``;
* the platform's JWKS (``get_jwks``);
* the token endpoint (``get_access_token``: the grant type, the tool's JWT
  assertion verified against the tool's JWKS, the access token);
* the AGS and NRPS request handling (``service_connector``: bearer-token
  validation, methods, media types, the score status codes such as 409 for
  an old timestamp, the results and membership containers, paging links).

Written here by hand is only the host: the tornado web server and the
adapters between its requests and lti1p3platform's ``Request``/``Response``,
the in-memory course (members, line items, scores, results), the tampered
launches and the test controls (``fail_next_scores``, the recorded launches,
scores and token count).

lti1p3platform 0.1.8 bugs worked around in the glue (each marked
"lti1p3platform bug" where it is done):

1. ``lti1p3platform.framework.templates`` imports ``pkg_resources`` (gone with
   setuptools 81 and absent here), and renders ``launch.html`` without
   autoescaping, so the tool's ``state`` and ``redirect_uri`` would be pasted
   into the HTML raw. We load the same template with autoescaping on.
2. ``authenticate()`` lets a token through if it holds *any* scope of the
   service (``validate_token(..., allowed_scopes)`` with ``any``), so a token
   for line items alone could post scores. Each endpoint here names the one
   scope family it needs.
3. ``validate_token`` raises PyJWT's and its own exceptions for a forged,
   expired or garbled token, which ``handle_resp`` does not catch (a 500);
   they are answered 401 here.
4. The services do ``page + 1`` on the query string's ``page`` (a str): query
   parameters ``page`` and ``limit`` are handed over as integers.
5. NRPS pages only when the tool asks for a ``limit``; Canvas (and NRPS 2.0)
   page on their own, so a missing or larger ``limit`` becomes ``page_size``.
6. ``response.generate_next_link`` writes ``rel=next`` unquoted; pylti1p3's
   ServiceConnector only finds ``rel="next"`` (what Canvas sends), so the Link
   header is written with the quotes. (pylti1p3 also lower-cases the whole
   header before taking the URL from it, so every URL here is lower case.)
7. The token endpoint checks neither ``client_assertion_type`` nor that the
   assertion's iss and sub are the client id and its aud the token URL (RFC
   7523 §3, IMS Security Framework §4.1.1); the launch checks neither that the
   redirect_uri is the tool's registered one nor the fixed OIDC parameters
   (response_type, scope, response_mode, prompt) nor the login_hint. Those
   checks are added here, as Canvas makes them.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import secrets
import socket
import threading
import time
import typing as t
from datetime import datetime
from urllib.parse import urlencode

import jwt
import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jinja2 import Environment, PackageLoader
from lti1p3platform import exceptions as lti_errors
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.response import Response
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService, TPage

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# Short role names as Canvas's roles map to LIS v2 context roles; TeachingAssistant is Instructor's sub-role.
ROLES = {
    "Learner": LIS + "membership#Learner",
    "Instructor": LIS + "membership#Instructor",
    "TeachingAssistant": LIS + "membership/Instructor#TeachingAssistant",
    "ContentDeveloper": LIS + "membership#ContentDeveloper",
    "Mentor": LIS + "membership#Mentor",
    "Administrator": LIS + "membership#Administrator",
}
STATUSES = ("Active", "Inactive", "Deleted")
NON_COURSE_ROLES = [LIS + "institution/person#Guest", LIS + "system/person#User"]

# What each tampered launch changes (``Platform.launch_url(user_id, attack)``).
ATTACKS = {
    "feil-signatur": "signed with another RSA key under the platform key's kid",
    "feil-mottaker": "aud (and azp) is another client id",
    "feil-utrulling": "deployment_id is another deployment",
    "utlopt": "exp and iat an hour in the past",
    "uten-rolle": "roles is an empty list",
    "ukjent-rolle": "roles holds only roles outside the course (institution Guest, system User)",
    "usikkert-navn": "custom login_id is ../root",
    "annet-emne": "context is another course",
}
OTHER_CLIENT_ID = "annen-klient"
OTHER_DEPLOYMENT_ID = "1:annen-utrulling"
OTHER_CONTEXT = {"id": "emne-9999", "label": "EMNE-9999", "title": "Et annet emne (test)"}
COURSE_PATH = "/api/lti/courses/1"  # Canvas's shape; lower case (see bug 6 above)

# lti1p3platform bug 1: its template module imports pkg_resources and does not autoescape.
_LAUNCH_FORM = Environment(loader=PackageLoader("lti1p3platform.framework", "templates"),
                           autoescape=True).get_template("launch.html")


def new_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def full_role(role: str) -> str:
    """A short role ("Learner") as its LIS v2 URI; a URI stays as it is."""
    if "://" in role:
        return role
    return ROLES.get(role, LIS + "membership#" + role)


def _timestamp(value: t.Any) -> datetime:
    stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    return stamp


# --- lti1p3platform's abstract classes, made concrete for this host ----------------------------------

class _Conf(LTI1P3PlatformConfAbstract):
    """The platform's registration of the one tool, made fresh for each request from the Platform's fields."""

    def init_platform_config(self, platform: "Platform", forged: bool = False) -> None:
        self.platform = platform
        self.forged = forged
        self.get_registration()  # lti1p3platform's validate_token and get_jwks expect it loaded

    def get_registration_by_params(self, **kwargs: t.Any) -> Registration:
        p = self.platform
        registration = (Registration().set_iss(p.issuer).set_client_id(p.client_id)
                        .set_deployment_id(p.deployment_id).set_launch_url(p.target_link_uri)
                        .set_oidc_login_url(p.oidc_login_url)
                        .set_platform_private_key(p._private_pem).set_platform_public_key(p.public_pem))
        if p.tool_jwks is not None:
            registration.set_tool_key_set(p.tool_jwks)
        else:  # like Canvas's "Public JWK URL": fetched by lti1p3platform when a token is asked for
            registration.set_tool_key_set_url(p.tool_url + "/hub/lti13/jwks")
        if self.forged:  # the attack "feil-signatur": another key, the real key's kid
            kid = registration.get_kid()
            registration.set_platform_private_key(p._forged_key())
            registration.get_kid = lambda: kid
        return registration


class _Request(Request):
    """A tornado request as lti1p3platform's Request."""

    def build_metadata(self, request: tornado.httputil.HTTPServerRequest) -> TRequest:
        def args(arguments: dict[str, list[bytes]]) -> dict[str, t.Any]:
            return {k: v[-1].decode("utf-8", "replace") for k, v in arguments.items() if v}

        query = args(request.query_arguments)
        for name in ("page", "limit"):  # lti1p3platform bug 4: it adds 1 to the page it is given
            if name in query:
                try:
                    query[name] = int(query[name])
                except ValueError:
                    raise tornado.web.HTTPError(400, f"{name} is not a number") from None
                if query[name] < 1:
                    raise tornado.web.HTTPError(400, f"{name} must be at least 1")
        content_type = request.headers.get("Content-Type", "")
        body = None
        if "json" in content_type and request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                raise tornado.web.HTTPError(400, "the body is not JSON") from None
        elif request.method in ("POST", "PUT"):
            body = {}
        return {
            "method": request.method, "form_data": args(request.body_arguments), "get_data": query,
            "headers": request.headers, "content_type": content_type, "path": request.path, "json": body,
        }


class _OIDCLogin(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: t.Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class _Launch(LTIAdvantageMessageLaunchAbstract):
    backdate = 0  # seconds: the attack "utlopt"

    def render_launch_form(self, launch_data: dict[str, t.Any], **kwargs: t.Any) -> dict[str, t.Any]:
        return launch_data  # the host renders it (and records it)

    def generate_launch_request(self):
        if not self.backdate:
            return super().generate_launch_request()
        message, state = self.get_launch_data()
        issued = int(time.time()) - self.backdate
        message.update(iat=issued, exp=issued + self.id_token_expiration)
        assert self._registration is not None
        return {"state": state, "id_token": self._registration.platform_encode_and_sign(message)}


class _Scoped:
    """lti1p3platform bug 2: the scope (family) this one endpoint needs, not any of the service's."""

    scopes: list[str] = []

    @property
    def allowed_scopes(self) -> list[str]:
        return self.scopes


class _Gradebook(_Scoped, AssignmentsGradesService):
    """AGS over the Platform's line items and scores."""

    def __init__(self, platform: "Platform", request: _Request, lineitem_id: str | None, scopes: list[str]):
        super().__init__(request, _Conf(platform=platform), platform.lineitems_url,
                         platform.lineitem_url(lineitem_id) if lineitem_id else None)
        self.platform = platform
        self.scopes = scopes

    def find_lineitems(self, page: int = 1, limit: int | None = None, line_item_id: str | None = None,
                       resource_link_id: str | None = None, resource_id: str | None = None,
                       tag: str | None = None, **_ignored: t.Any) -> TPage:
        found = [item for key, item in self.platform._lineitems.items()
                 if (line_item_id is None or key == line_item_id)
                 and (resource_link_id is None or item.get("resourceLinkId") == resource_link_id)
                 and (resource_id is None or item.get("resourceId") == resource_id)
                 and (tag is None or item.get("tag") == tag)]
        return _page(copy.deepcopy(found), page, limit)

    def find_lineitem(self, line_item_id: str):
        return copy.deepcopy(self.platform._lineitem(line_item_id))

    def create_lineitem(self, creation_data):
        item = self.platform._checked_lineitem(creation_data)
        key = str(next(self.platform._ids))
        item["id"] = self.platform.lineitem_url(key)
        self.platform._lineitems[key] = item
        return copy.deepcopy(item)

    def update_lineitem(self, update_data):
        key = str(update_data.get("id"))
        item = self.platform._lineitem(key)
        changed = self.platform._checked_lineitem({**item, **update_data})
        changed["id"] = item["id"]
        self.platform._lineitems[key] = changed
        return copy.deepcopy(changed)

    def delete_lineitem(self, line_item_id: str) -> None:
        item = self.platform._lineitem(line_item_id)
        del self.platform._lineitems[line_item_id]
        self.platform._results.pop(item["id"], None)

    def update_score(self, line_item_id: str, score) -> UpdateScoreStatus:
        assert self.request is not None
        return self.platform._take_score(line_item_id, score, self.request.content_type)

    def get_results(self, line_item_id: str, page: int = 1, limit: int | None = None,
                    user_id: str | None = None, **_ignored: t.Any) -> TPage:
        item = self.platform._lineitem(line_item_id)
        found = [self.platform._result(item, score)
                 for user, score in self.platform._results.get(item["id"], {}).items()
                 if user_id is None or user == user_id]
        return _page(found, page, limit)


class _Roster(_Scoped, NamesRoleProvisioningService):
    """NRPS over the Platform's members."""

    scopes = [SCOPE_NRPS]

    def __init__(self, platform: "Platform", request: _Request):
        super().__init__(request, _Conf(platform=platform), platform.memberships_url)
        self.platform = platform

    def get_context_by_id(self) -> Context:
        p = self.platform
        return Context(id=p.context_id, label=p.context_label, title=p.context_title)

    def is_resource_link_valid(self, context_id: str, resource_link_id: str) -> bool:
        return context_id == self.platform.context_id and resource_link_id == self.platform.resource_link_id

    def get_member_data_page(self, page: int = 1, limit: int | None = None, role: str | None = None,
                             since: str | None = None, rlid: str | None = None, **_ignored: t.Any) -> TPage:
        members = [m for m in self.platform._members.values() if m["status"] != "Deleted"]
        if role:
            members = [m for m in members if full_role(role) in m["roles"]]
        shown = []
        for member in members:
            entry = {k: copy.deepcopy(v) for k, v in member.items() if k != "login_id" and v is not None}
            if rlid:
                # NRPS 2.0 "Message section": the claims a launch from this link would carry, here
                # Canvas's custom field ($Canvas.user.loginId) that the tool takes user names from.
                entry["message"] = [{LTI + "message_type": "LtiResourceLinkRequest",
                                     LTI + "custom": {"login_id": member["login_id"]}}]
            shown.append(entry)
        return _page(shown, page, limit)


def _page(items: list, page: int = 1, limit: int | None = None) -> TPage:
    if not limit:
        return {"content": items, "has_next": False}
    start = (page - 1) * limit
    return {"content": items[start:start + limit], "has_next": start + limit < len(items)}


# --- the web server ------------------------------------------------------------------------------------

class _Handler(tornado.web.RequestHandler):
    def initialize(self, platform: "Platform") -> None:
        self.platform = platform

    def write_error(self, status_code: int, **kwargs: t.Any) -> None:
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, tornado.web.HTTPError) and exc.log_message:
            reason = exc.log_message
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": reason}))

    def send(self, resp: Response, status: int | None = None) -> None:
        """lti1p3platform's Response as HTTP, the way its own Django wrapper renders it."""
        self.set_status(status or resp.code)
        if not 200 <= resp.code < 300:
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": resp.message}))
            return
        data = resp.result
        if isinstance(data, dict):
            data = dict(data)
            next_url = data.pop("next", None)
            if next_url:
                self.set_header("Link", f'<{next_url}>; rel="next"')  # lti1p3platform bug 6: quoted
            if "content" in data:
                data = data["content"]
        if data is None:
            self.finish()
            return
        self.set_header("Content-Type", resp.media_type)
        self.finish(json.dumps(data))


class _LaunchLink(_Handler):
    """The tool's link in the course: starts the third-party-initiated login (lti1p3platform)."""

    def get(self) -> None:
        user_id = self.get_query_argument("user_id")
        attack = self.get_query_argument("attack", None)
        if attack is not None and attack not in ATTACKS:
            raise tornado.web.HTTPError(400, f"unknown attack {attack!r}")
        with self.platform._lock:
            member = self.platform._members.get(user_id)
            if member is None:
                raise tornado.web.HTTPError(404, f"no member {user_id!r} in the course")
            if member["status"] != "Active":
                raise tornado.web.HTTPError(403, f"{user_id!r} is {member['status']} in the course")
            hint = secrets.token_urlsafe(16).lower()
            self.platform._hints[hint] = (user_id, attack)
        login = _OIDCLogin(None, _Conf(platform=self.platform))
        login.set_lti_message_hint(hint=hint)
        self.redirect(login.initiate_login(user_id))


class _Authorize(_Handler):
    """The OIDC authorization endpoint: the tool's authentication request, answered with the launch form."""

    def get(self) -> None:
        p = self.platform
        request = _Request(self.request)
        asked = request.get_data or request.form_data
        with p._lock:
            p.authorize_requests.append(dict(asked))
            user_id, attack = p._hints.get(asked.get("lti_message_hint", ""), (None, None))
            member = copy.deepcopy(p._members.get(user_id or ""))
        # lti1p3platform bug 7: what lti1p3platform does not check of the authentication request.
        expected = {"response_type": "id_token", "scope": "openid", "response_mode": "form_post",
                    "prompt": "none", "redirect_uri": p.redirect_uri}
        wrong = [k for k, v in expected.items() if asked.get(k) != v]
        if user_id is None:
            wrong.append("lti_message_hint")
        elif asked.get("login_hint") != user_id:
            wrong.append("login_hint")
        if wrong:
            raise tornado.web.HTTPError(400, "invalid_request: " + ", ".join(wrong))
        assert member is not None

        launch = _Launch(request, _Conf(platform=p, forged=attack == "feil-signatur"))
        roles = member["roles"]
        if attack == "uten-rolle":
            roles = []
        elif attack == "ukjent-rolle":
            roles = list(NON_COURSE_ROLES)
        launch.set_user_data(user_id, roles, full_name=member.get("name"), email_address=member.get("email"))
        names = {k: member[k] for k in ("given_name", "family_name") if member.get(k)}
        if names:
            launch.set_extra_claims(names)
        launch.set_resource_link_claim(p.resource_link_id, title=p.resource_link_title)
        context = OTHER_CONTEXT if attack == "annet-emne" else {
            "id": p.context_id, "label": p.context_label, "title": p.context_title}
        launch.set_launch_context_claim(context["id"], context_types=[LIS + "course#CourseOffering"],
                                        context_title=context["title"], context_label=context["label"])
        launch.set_custom_parameters_claim(
            {"login_id": "../root" if attack == "usikkert-navn" else member["login_id"]})
        launch.set_launch_presentation_claim(document_target="window")
        launch.set_nrps(p.memberships_url)
        launch.set_ags(p.lineitems_url)
        launch.set_extra_claims({LTI + "tool_platform": {
            "guid": p.issuer, "name": "LTI-testplattform", "product_family_code": "canvas", "version": "test"}})
        if attack == "feil-mottaker":
            launch.set_extra_claims({"aud": OTHER_CLIENT_ID, "azp": OTHER_CLIENT_ID})
        elif attack == "feil-utrulling":
            launch.set_extra_claims({LTI + "deployment_id": OTHER_DEPLOYMENT_ID})
        elif attack == "utlopt":
            launch.backdate = 3600 + launch.id_token_expiration
        try:
            form = launch.lti_launch()
        except lti_errors.PreflightRequestValidationException:
            raise tornado.web.HTTPError(400, "invalid_request: nonce, state, redirect_uri or client_id") from None
        record = {"action": form["launch_url"], "id_token": form["id_token"], "state": form["state"],
                  "claims": jwt.decode(form["id_token"], options={"verify_signature": False}),
                  "user_id": user_id, "attack": attack}
        with p._lock:
            p.launches.append(record)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(_LAUNCH_FORM.render(launch_url=form["launch_url"], id_token=form["id_token"],
                                        state=form["state"]))

    post = get


class _Jwks(_Handler):
    def get(self) -> None:
        conf = _Conf(platform=self.platform)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(conf.get_jwks()))


class _Token(_Handler):
    """OAuth 2 client credentials with a signed JWT (IMS Security Framework §4.1), by lti1p3platform."""

    def post(self) -> None:
        p = self.platform
        data = _Request(self.request).form_data
        conf = _Conf(platform=p)
        try:
            token = conf.get_access_token(data)
        except lti_errors.MissingRequiredClaim as error:
            return self._refuse(400, "invalid_request", str(error))
        except lti_errors.UnsupportedGrantType:
            return self._refuse(400, "unsupported_grant_type", data.get("grant_type", ""))
        except (lti_errors.LtiException, lti_errors.InvalidKeySetUrl, jwt.PyJWTError, AssertionError) as error:
            return self._refuse(401, "invalid_client", f"{type(error).__name__}: {error}")
        # lti1p3platform bug 7: the assertion's type, issuer, subject and audience.
        assertion = jwt.decode(data["client_assertion"], options={"verify_signature": False})
        audience = assertion.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if data.get("client_assertion_type") != ASSERTION_TYPE:
            return self._refuse(400, "invalid_request", "client_assertion_type")
        if assertion.get("iss") != p.client_id or assertion.get("sub") != p.client_id:
            return self._refuse(401, "invalid_client", "iss and sub must be the client id")
        if p.token_url not in audiences:
            return self._refuse(401, "invalid_client", "aud must be the token URL")
        with p._lock:
            p.token_requests += 1
            p.tokens.append({"scope": token["scope"]})
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(token))

    def _refuse(self, status: int, error: str, why: str) -> None:
        with self.platform._lock:
            self.platform.refused_tokens.append({"error": error, "why": why})
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": error, "error_description": why}))


class _Service(_Handler):
    """NRPS and AGS requests, handed to lti1p3platform's service classes."""

    def _answer(self, service, handle, **kwargs: t.Any) -> None:
        try:
            with self.platform._lock:
                resp = service.handle_resp(handle, **kwargs)
        except (jwt.PyJWTError, lti_errors.LtiException) as error:  # lti1p3platform bug 3
            resp = Response(result=None, code=401, message=f"Invalid LTI 1.3 authentication token ({error})")
        self.send(resp)


class _Memberships(_Service):
    def get(self) -> None:
        request = _Request(self.request)
        query = request.get_data
        # lti1p3platform bug 5: page without being asked, as Canvas does.
        query["limit"] = min(query.get("limit") or self.platform.page_size, self.platform.page_size)
        roster = _Roster(self.platform, request)
        self._answer(roster, roster.handle_get_members)


class _LineItems(_Service):
    def get(self) -> None:
        ags = _Gradebook(self.platform, _Request(self.request), None, [SCOPE_LINEITEM, SCOPE_LINEITEM_READ])
        self._answer(ags, ags.handle_get_lineitems)

    def post(self) -> None:
        ags = _Gradebook(self.platform, _Request(self.request), None, [SCOPE_LINEITEM])
        self._answer(ags, ags.handle_create_lineitem)


class _LineItem(_Service):
    def get(self, key: str) -> None:
        ags = _Gradebook(self.platform, _Request(self.request), key, [SCOPE_LINEITEM, SCOPE_LINEITEM_READ])
        self._answer(ags, ags.handle_get_lineitem, line_item_id=key)

    def put(self, key: str) -> None:
        ags = _Gradebook(self.platform, _Request(self.request), key, [SCOPE_LINEITEM])
        self._answer(ags, ags.handle_update_lineitem, line_item_id=key)

    def delete(self, key: str) -> None:
        ags = _Gradebook(self.platform, _Request(self.request), key, [SCOPE_LINEITEM])
        self._answer(ags, ags.handle_delete_lineitem, line_item_id=key)


class _Scores(_Service):
    def post(self, key: str) -> None:
        p = self.platform
        with p._lock:
            failing = p._failing_scores
            if failing:
                p._failing_scores = (failing[0] - 1, failing[1], failing[2]) if failing[0] > 1 else None
        if failing:  # the test control fail_next_scores: an outage in front of the service
            _, status, retry_after = failing
            with p._lock:
                p.refused_scores.append({"lineitem": p.lineitem_url(key), "status": status,
                                         "score": _loads(self.request.body)})
            self.set_status(status)
            if retry_after is not None:
                self.set_header("Retry-After", str(retry_after))
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": "test control: fail_next_scores"}))
            return
        ags = _Gradebook(p, _Request(self.request), key, [SCOPE_SCORE])
        self._answer(ags, ags.handle_update_score, line_item_id=key)


class _Results(_Service):
    def get(self, key: str) -> None:
        ags = _Gradebook(self.platform, _Request(self.request), key, [SCOPE_RESULT])
        self._answer(ags, ags.handle_get_results, line_item_id=key)


def _loads(body: bytes) -> t.Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


# --- the platform --------------------------------------------------------------------------------------

class Platform:
    """One Canvas-like course with one tool (the class server) on loopback. See the module docstring."""

    def __init__(self, tool_url: str, *, client_id: str = "samskaping-test", deployment_id: str = "1:emne-samskaping",
                 context_id: str = "emne-4242", context_title: str = "Samskaping og velferdsledelse (test)",
                 tool_jwks: dict | None = None, page_size: int = 50, context_label: str | None = None,
                 resource_link_id: str = "lenke-samskaping-1",
                 resource_link_title: str = "Kursserveren (JupyterLab)") -> None:
        self.tool_url = tool_url.rstrip("/")
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.context_id = context_id
        self.context_title = context_title
        self.context_label = context_label or context_id.upper()
        self.tool_jwks = tool_jwks  # None: fetched from tool_url + /hub/lti13/jwks at each token request
        self.page_size = page_size
        self.resource_link_id = resource_link_id
        self.resource_link_title = resource_link_title
        # The tool's registered endpoints (ltiauthenticator's).
        self.oidc_login_url = self.tool_url + "/hub/lti13/oauth_login"
        self.redirect_uri = self.tool_url + "/hub/lti13/oauth_callback"
        self.target_link_uri = self.tool_url + "/"

        self.url = ""
        self.launches: list[dict] = []
        self.authorize_requests: list[dict] = []
        self.token_requests = 0
        self.tokens: list[dict] = []           # the scope of each token issued
        self.refused_tokens: list[dict] = []   # each token request refused, with the reason
        self.refused_scores: list[dict] = []   # each score POST refused: lineitem, status, score

        self._private_pem = new_key()
        self.public_pem = public_pem(self._private_pem)
        self._forged_pem: str | None = None
        self._lock = threading.RLock()
        self._members: dict[str, dict] = {}
        self._hints: dict[str, tuple[str, str | None]] = {}
        self._lineitems: dict[str, dict] = {}
        self._results: dict[str, dict[str, dict]] = {}  # line item URL -> user id -> latest accepted score
        self._scores: list[dict] = []
        self._ids = itertools.count(1)
        self._failing_scores: tuple[int, int, int | None] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None

    # -- addresses (all lower case: see bug 6 in the module docstring) --
    @property
    def issuer(self) -> str:
        return self.url

    @property
    def authorize_url(self) -> str:
        return self.url + "/api/lti/authorize_redirect"

    @property
    def jwks_url(self) -> str:
        return self.url + "/api/lti/security/jwks"

    @property
    def token_url(self) -> str:
        return self.url + "/login/oauth2/token"

    @property
    def memberships_url(self) -> str:
        return self.url + COURSE_PATH + "/names_and_roles"

    @property
    def lineitems_url(self) -> str:
        return self.url + COURSE_PATH + "/line_items"

    def lineitem_url(self, key: str) -> str:
        return f"{self.lineitems_url}/{key}"

    # -- running --
    def start(self) -> "Platform":
        if self._thread:
            return self
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
        app = tornado.web.Application([
            (r"/courses/1/external_tools/1", _LaunchLink, {"platform": self}),
            (r"/api/lti/authorize_redirect", _Authorize, {"platform": self}),
            (r"/api/lti/security/jwks", _Jwks, {"platform": self}),
            (r"/login/oauth2/token", _Token, {"platform": self}),
            (COURSE_PATH + r"/names_and_roles", _Memberships, {"platform": self}),
            (COURSE_PATH + r"/line_items", _LineItems, {"platform": self}),
            (COURSE_PATH + r"/line_items/(\d+)", _LineItem, {"platform": self}),
            (COURSE_PATH + r"/line_items/(\d+)/scores", _Scores, {"platform": self}),
            (COURSE_PATH + r"/line_items/(\d+)/results", _Results, {"platform": self}),
        ], log_function=lambda handler: None)
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                self._loop = loop
                self._server = tornado.httpserver.HTTPServer(app)
                self._server.add_sockets(sockets)
            except BaseException as error:  # reported to start()
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                self._server.stop()
                loop.run_until_complete(self._server.close_all_connections())
                loop.close()

        self._thread = threading.Thread(target=serve, name=f"lti-plattform {self.url}", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the LTI platform's server thread did not start")
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if not thread:
            return
        if loop and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        self._thread = self._loop = self._server = None

    def __enter__(self) -> "Platform":
        return self.start()

    def __exit__(self, *exc: t.Any) -> None:
        self.stop()

    # -- the course --
    def add_member(self, user_id: str, *, login_id: str, name: str, roles: list[str], email: str | None = None,
                   status: str = "Active") -> None:
        """Enrol someone (or change them): roles short ("Learner") or as LIS URIs."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        given, _, family = name.rpartition(" ")
        with self._lock:
            self._members[user_id] = {
                "user_id": user_id, "status": status, "name": name,
                "given_name": given or name, "family_name": family if given else None,
                "email": email, "roles": [full_role(r) for r in roles], "login_id": login_id,
            }

    def set_status(self, user_id: str, status: str) -> None:
        """Active, Inactive, or Deleted (gone from NRPS)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self._lock:
            self._members[user_id]["status"] = status

    def members(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(list(self._members.values()))

    def launch_url(self, user_id: str, attack: str | None = None) -> str:
        """The tool's link in the course as this member sees it (optionally with one claim tampered with)."""
        if attack is not None and attack not in ATTACKS:
            raise ValueError(f"unknown attack {attack!r}; known: {', '.join(ATTACKS)}")
        params = {"user_id": user_id, **({"attack": attack} if attack else {})}
        return f"{self.url}/courses/1/external_tools/1?{urlencode(params)}"

    def launch_form(self, launch: dict) -> str:
        """A recorded launch as the HTML form the platform served (to replay it in a browser)."""
        return _LAUNCH_FORM.render(launch_url=launch["action"], id_token=launch["id_token"], state=launch["state"])

    # -- grades --
    def lineitems(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(list(self._lineitems.values()))

    def scores(self, lineitem_id: str | None = None) -> list[dict]:
        """Every score POST accepted, in order; each is the score as posted plus ``lineitem`` (its URL)."""
        with self._lock:
            found = [s for s in self._scores if lineitem_id is None
                     or s["lineitem"] in (lineitem_id, self.lineitem_url(lineitem_id))]
            return copy.deepcopy(found)

    def fail_next_scores(self, n: int, status: int = 503, *, retry_after: int | None = 0) -> None:
        """The next ``n`` score POSTs answer ``status`` (with ``Retry-After``, unless None) and change nothing."""
        with self._lock:
            self._failing_scores = (n, status, retry_after) if n > 0 else None

    # -- used by the handlers, under the lock --
    def _forged_key(self) -> str:
        with self._lock:
            if self._forged_pem is None:
                self._forged_pem = new_key()
            return self._forged_pem

    def _lineitem(self, key: str) -> dict:
        try:
            return self._lineitems[str(key)]
        except KeyError:
            raise lti_errors.LineItemNotFoundException(key) from None

    @staticmethod
    def _checked_lineitem(data: dict) -> dict:
        """AGS 2.0 §3.2: a line item has a label and a positive scoreMaximum."""
        from lti1p3platform.exceptions import LtiServiceException

        if not isinstance(data, dict) or not str(data.get("label") or "").strip():
            raise LtiServiceException("A line item needs a label", 400)
        maximum = data.get("scoreMaximum")
        if isinstance(maximum, bool) or not isinstance(maximum, (int, float)) or maximum <= 0:
            raise LtiServiceException("scoreMaximum must be a positive number", 400)
        keep = ("label", "scoreMaximum", "resourceId", "tag", "resourceLinkId", "startDateTime", "endDateTime",
                "gradesReleased")
        return {k: data[k] for k in keep if data.get(k) is not None}

    def _take_score(self, key: str, score: t.Any, content_type: str | None) -> UpdateScoreStatus:
        """AGS 2.0 §3.4: check a score, and keep it unless it is older than the last one for that user."""
        from lti1p3platform.exceptions import LtiServiceException

        item = self._lineitem(key)

        def refuse(why: str, status: int):
            self.refused_scores.append({"lineitem": item["id"], "status": status, "score": copy.deepcopy(score)})
            raise LtiServiceException(why, status)

        if (content_type or "").split(";")[0].strip() != SCORE_MEDIA_TYPE:
            refuse(f"Content-Type must be {SCORE_MEDIA_TYPE}", 415)
        if not isinstance(score, dict):
            refuse("The score must be a JSON object", 400)
        missing = [k for k in ("userId", "timestamp", "activityProgress", "gradingProgress") if k not in score]
        if missing:
            refuse("Missing " + ", ".join(missing), 400)
        if "scoreGiven" in score:
            given, maximum = score.get("scoreGiven"), score.get("scoreMaximum")
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (given, maximum)) \
                    or maximum <= 0 or given < 0:
                refuse("scoreGiven needs a positive scoreMaximum", 400)
        try:
            stamp = _timestamp(score["timestamp"])
        except ValueError:
            refuse("timestamp is not an ISO 8601 time with a time zone", 400)
        member = self._members.get(str(score["userId"]))
        if member is None or member["status"] == "Deleted":
            refuse(f"User {score['userId']} is not in the course", 422)
        latest = self._results.setdefault(item["id"], {}).get(str(score["userId"]))
        if latest is not None and _timestamp(latest["timestamp"]) > stamp:
            self.refused_scores.append({"lineitem": item["id"], "status": 409, "score": copy.deepcopy(score)})
            return UpdateScoreStatus.OLD_TIMESTAMP  # lti1p3platform answers it 409
        kept = {**copy.deepcopy(score), "lineitem": item["id"]}
        self._results[item["id"]][str(score["userId"])] = kept
        self._scores.append(kept)
        return UpdateScoreStatus.SUCCESS if latest is not None else UpdateScoreStatus.CREATED

    def _result(self, item: dict, score: dict) -> dict:
        """AGS 2.0 §3.3: the result from the latest score, on the line item's scale."""
        result = {"id": f"{item['id']}/results/{score['userId']}", "scoreOf": item["id"],
                  "userId": str(score["userId"]), "resultMaximum": item["scoreMaximum"]}
        if "scoreGiven" in score:
            result["resultScore"] = score["scoreGiven"] * item["scoreMaximum"] / score["scoreMaximum"]
        if score.get("comment"):
            result["comment"] = score["comment"]
        return result

    def __repr__(self) -> str:
        return f"<Platform {self.url or '(not started)'} for {self.tool_url}>"
