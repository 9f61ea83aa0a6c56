"""Does the LTI 1.3 test platform (tests/lti_plattform.py) speak the protocol with the real clients?

The tool's side is played by pylti1p3 2.0.0, the client ``course canvas`` and the
class-list sync use (token requests, NRPS, AGS), and by ``requests`` doing what
jupyterhub-ltiauthenticator 1.6.3's LTI13LoginInitHandler does between the
login initiation and the launch form (its authorization request, built the same
way). No hub, no browser: the tool URL is never contacted.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
import requests
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.registration import Registration
from pylti1p3.service_connector import ServiceConnector
from tornado.httputil import url_concat

from lti_plattform import ATTACKS, LTI, Platform, full_role, new_key, public_pem

TOOL_URL = "http://127.0.0.1:9"  # the hub's address in the claims; nothing listens there
LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = [SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE]
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"

# The course: seven who are in it (one inactive, one instructor), one who left.
MEMBERS = [(f"canvas-{n}", f"student{n}@example.no", f"Student Nummer{n}", "Learner") for n in range(1, 6)] + [
    ("canvas-laerer", "per@example.no", "Per Lærer", "Instructor"),
    ("canvas-inaktiv", "ida@example.no", "Ida Inaktiv", "Learner"),
    ("canvas-borte", "bo@example.no", "Bo Borte", "Learner"),
]


def _registration(platform: Platform, private_pem: str, client_id: str | None = None) -> Registration:
    return (Registration().set_issuer(platform.issuer).set_client_id(client_id or platform.client_id)
            .set_auth_token_url(platform.token_url).set_key_set_url(platform.jwks_url)
            .set_tool_private_key(private_pem).set_tool_public_key(public_pem(private_pem)))


@pytest.fixture(scope="module")
def tool_key() -> str:
    return new_key()


@pytest.fixture(scope="module")
def platform(tool_key: str):
    tool_jwks = {"keys": Registration().set_tool_public_key(public_pem(tool_key)).get_jwks()}
    with Platform(TOOL_URL, tool_jwks=tool_jwks, page_size=3) as p:
        for user_id, login_id, name, role in MEMBERS:
            p.add_member(user_id, login_id=login_id, name=name, roles=[role], email=login_id)
        p.set_status("canvas-inaktiv", "Inactive")
        p.set_status("canvas-borte", "Deleted")
        yield p


@pytest.fixture
def connector(platform: Platform, tool_key: str) -> ServiceConnector:
    """The tool's client, with a fresh token cache for each test."""
    return ServiceConnector(_registration(platform, tool_key))


def _ags(connector: ServiceConnector, platform: Platform) -> AssignmentsGradesService:
    return AssignmentsGradesService(connector, {"scope": AGS_SCOPES, "lineitems": platform.lineitems_url})


def _now(offset: float = 0) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset)).isoformat(timespec="seconds")


def _grade(user_id: str, given: float, maximum: float = 10, timestamp: str | None = None) -> Grade:
    return (Grade().set_score_given(given).set_score_maximum(maximum).set_user_id(user_id)
            .set_activity_progress("Submitted").set_grading_progress("FullyGraded")
            .set_timestamp(timestamp or _now()))


def _lineitem(ags: AssignmentsGradesService, resource_id: str, maximum: float = 10) -> LineItem:
    wanted = (LineItem().set_label(f"Oppgave {resource_id}").set_resource_id(resource_id)
              .set_tag("samskaping-kurs").set_score_maximum(maximum))
    return ags.find_or_create_lineitem(wanted, find_by="resource_id")


# --- tokens ------------------------------------------------------------------------------------------------

def test_the_tool_gets_a_token_with_its_key_and_not_with_another(platform: Platform, tool_key: str,
                                                                    connector: ServiceConnector):
    before = platform.token_requests
    token = connector.get_access_token([SCOPE_NRPS, SCOPE_SCORE])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == platform.issuer and claims["sub"] == platform.client_id
    assert set(claims["scopes"].split()) == {SCOPE_NRPS, SCOPE_SCORE}
    assert platform.token_requests == before + 1

    # Another key under the tool's key id: the signature does not verify.
    forged = _registration(platform, new_key())
    forged.get_kid = lambda: _registration(platform, tool_key).get_kid()
    with pytest.raises(LtiServiceException) as refused:
        ServiceConnector(forged).get_access_token([SCOPE_SCORE])
    assert refused.value.response.status_code == 401
    assert refused.value.response.json()["error"] == "invalid_client"
    assert "InvalidSignatureError" in platform.refused_tokens[-1]["why"]

    # The tool's key, but claiming to be another client.
    with pytest.raises(LtiServiceException) as refused:
        ServiceConnector(_registration(platform, tool_key, client_id="annen-klient")).get_access_token([SCOPE_SCORE])
    assert refused.value.response.status_code == 401

    # Not the client-credentials grant.
    wrong_grant = requests.post(platform.token_url, data={
        "grant_type": "password", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "x.y.z", "scope": SCOPE_SCORE}, timeout=10)
    assert wrong_grant.status_code == 400 and wrong_grant.json()["error"] == "unsupported_grant_type"
    assert platform.token_requests == before + 1


# --- the class list (NRPS) -----------------------------------------------------------------------------------

def test_the_class_list_pages_and_carries_each_login_id_with_rlid(platform: Platform, connector: ServiceConnector):
    nrps = NamesRolesProvisioningService(connector, {"context_memberships_url": platform.memberships_url})
    first = requests.get(f"{platform.memberships_url}?rlid={platform.resource_link_id}", timeout=10, headers={
        "Authorization": "Bearer " + connector.get_access_token([SCOPE_NRPS]),
        "Accept": "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"})
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
    assert len(first.json()["members"]) == 3
    assert first.json()["context"] == {"id": platform.context_id, "label": platform.context_label,
                                       "title": platform.context_title}
    assert re.fullmatch(r'<http://127\.0\.0\.1:\d+/\S+page=2\S*>; rel="next"', first.headers["Link"])
    assert f"rlid={platform.resource_link_id}" in first.headers["Link"]
    instructors = requests.get(platform.memberships_url, params={"role": "Instructor"}, headers=first.request.headers,
                               timeout=10)
    assert [m["user_id"] for m in instructors.json()["members"]] == ["canvas-laerer"]
    assert "Link" not in instructors.headers

    pages = 0
    url = platform.memberships_url + f"?rlid={platform.resource_link_id}"
    while url:
        _members, url = nrps.get_members_page(url)
        pages += 1
    assert pages == 3  # seven members, three a page

    members = {m["user_id"]: m for m in nrps.get_members(platform.resource_link_id)}
    assert set(members) == {user_id for user_id, *_ in MEMBERS} - {"canvas-borte"}  # Deleted is gone
    for user_id, login_id, name, role in MEMBERS[:-1]:
        member = members[user_id]
        assert member["message"] == [{LTI + "message_type": "LtiResourceLinkRequest",
                                      LTI + "custom": {"login_id": login_id}}]
        assert member["roles"] == [LIS + role] and member["name"] == name and member["email"] == login_id
    assert members["canvas-inaktiv"]["status"] == "Inactive" and members["canvas-1"]["status"] == "Active"

    without_rlid = nrps.get_members()
    assert len(without_rlid) == 7 and not any("message" in m for m in without_rlid)
    with pytest.raises(LtiServiceException) as refused:
        nrps.get_members("en-annen-lenke")
    assert refused.value.response.status_code == 403


# --- grades (AGS) --------------------------------------------------------------------------------------------

def test_a_score_reaches_its_line_item_and_an_older_one_is_refused(platform: Platform, connector: ServiceConnector):
    ags = _ags(connector, platform)
    lineitem = _lineitem(ags, "oppgave_01")
    assert lineitem.get_id() == f"{platform.lineitems_url}/{lineitem.get_id().rsplit('/', 1)[1]}"
    assert _lineitem(ags, "oppgave_01").get_id() == lineitem.get_id()  # found, not made again
    assert [li["resourceId"] for li in platform.lineitems()].count("oppgave_01") == 1

    first = _now(-60)
    ags.put_grade(_grade("canvas-1", 7, timestamp=first), lineitem)
    posted = platform.scores(lineitem.get_id())
    assert [(s["userId"], s["scoreGiven"], s["timestamp"]) for s in posted] == [("canvas-1", 7, first)]
    assert platform.scores(lineitem.get_id().rsplit("/", 1)[1]) == posted  # by URL or by id
    results = ags.get_grades(lineitem)
    assert [(r["userId"], r["resultScore"], r["resultMaximum"]) for r in results] == [("canvas-1", 7, 10)]

    # AGS 2.0: the platform MUST NOT update a result whose last timestamp is later.
    with pytest.raises(LtiServiceException) as refused:
        ags.put_grade(_grade("canvas-1", 2, timestamp=_now(-120)), lineitem)
    assert refused.value.response.status_code == 409
    assert len(platform.scores(lineitem.get_id())) == 1
    assert ags.get_grades(lineitem)[0]["resultScore"] == 7

    ags.put_grade(_grade("canvas-1", 9, timestamp=_now()), lineitem)
    assert [s["scoreGiven"] for s in platform.scores(lineitem.get_id())] == [7, 9]
    assert ags.get_grades(lineitem)[0]["resultScore"] == 9

    # Not a member, and not the score media type.
    with pytest.raises(LtiServiceException) as refused:
        ags.put_grade(_grade("canvas-borte", 5), lineitem)
    assert refused.value.response.status_code == 422
    token = connector.get_access_token(AGS_SCOPES)
    plain_json = requests.post(lineitem.get_id() + "/scores", timeout=10, data=_grade("canvas-2", 5).get_value(),
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert plain_json.status_code == 415
    assert len(platform.scores(lineitem.get_id())) == 2


def test_line_items_are_filtered_changed_and_deleted(platform: Platform, connector: ServiceConnector):
    ags = _ags(connector, platform)
    kept, gone = _lineitem(ags, "oppgave_02"), _lineitem(ags, "oppgave_03")
    auth = {"Authorization": "Bearer " + connector.get_access_token(AGS_SCOPES)}

    def listed(**query) -> list[str]:
        reply = requests.get(platform.lineitems_url, params=query, headers=auth, timeout=10)
        assert reply.status_code == 200
        assert reply.headers["Content-Type"].startswith("application/vnd.ims.lis.v2.lineitemcontainer+json")
        return [li["id"] for li in reply.json()]

    assert listed(resource_id="oppgave_02") == [kept.get_id()]
    assert listed(resource_id="finnes-ikke") == []
    assert {kept.get_id(), gone.get_id()} <= set(listed(tag="samskaping-kurs"))
    assert listed(tag="annen-merkelapp") == []

    changed = requests.put(kept.get_id(), headers={**auth, "Content-Type": "application/vnd.ims.lis.v2.lineitem+json"},
                           data=json.dumps({"label": "Oppgave 2 (ny tittel)", "scoreMaximum": 20,
                                            "resourceId": "oppgave_02"}), timeout=10)
    assert changed.status_code == 200 and changed.json()["id"] == kept.get_id()
    assert requests.get(kept.get_id(), headers=auth, timeout=10).json()["label"] == "Oppgave 2 (ny tittel)"
    assert requests.put(kept.get_id(), headers=auth, json={"label": "x", "scoreMaximum": 0},
                        timeout=10).status_code == 400

    assert requests.delete(gone.get_id(), headers=auth, timeout=10).status_code == 204
    assert gone.get_id() not in [li["id"] for li in platform.lineitems()]
    assert requests.get(gone.get_id(), headers=auth, timeout=10).status_code == 404
    assert requests.post(gone.get_id() + "/scores", headers={**auth, "Content-Type": SCORE_TYPE},
                         data=_grade("canvas-1", 1).get_value(), timeout=10).status_code == 404


def test_each_endpoint_needs_its_own_scope(platform: Platform, tool_key: str, connector: ServiceConnector):
    lineitem = _lineitem(_ags(connector, platform), "oppgave_04")
    score_url, results_url = lineitem.get_id() + "/scores", lineitem.get_id() + "/results"
    client = ServiceConnector(_registration(platform, tool_key))

    def bearer(*scopes: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + client.get_access_token(list(scopes)), "Content-Type": SCORE_TYPE}

    def post_score(headers: dict[str, str]) -> int:
        return requests.post(score_url, data=_grade("canvas-2", 4).get_value(), headers=headers, timeout=10).status_code

    assert post_score(bearer(SCOPE_LINEITEM)) == 401
    assert post_score(bearer(SCOPE_LINEITEM, SCOPE_RESULT)) == 401
    assert post_score({"Content-Type": SCORE_TYPE}) == 401                         # no token
    assert post_score({"Authorization": "Bearer x.y.z", "Content-Type": SCORE_TYPE}) == 401  # not a token
    assert platform.scores(lineitem.get_id()) == []
    assert requests.get(results_url, headers=bearer(SCOPE_SCORE), timeout=10).status_code == 401
    assert requests.get(platform.lineitems_url, headers=bearer(SCOPE_SCORE), timeout=10).status_code == 401
    assert requests.post(platform.lineitems_url, json={"label": "x", "scoreMaximum": 1},
                         headers=bearer(SCOPE_RESULT), timeout=10).status_code == 401
    assert requests.get(platform.memberships_url, headers=bearer(*AGS_SCOPES), timeout=10).status_code == 401

    assert post_score(bearer(SCOPE_SCORE)) == 201
    assert requests.get(results_url, headers=bearer(SCOPE_RESULT), timeout=10).status_code == 200
    assert len(platform.scores(lineitem.get_id())) == 1


def test_the_next_score_posts_can_be_made_to_fail(platform: Platform, connector: ServiceConnector):
    ags = _ags(connector, platform)
    lineitem = _lineitem(ags, "oppgave_05")
    platform.fail_next_scores(2)
    statuses = []
    for _ in range(3):
        try:
            ags.put_grade(_grade("canvas-3", 6), lineitem)
            statuses.append(201)
        except LtiServiceException as error:
            statuses.append(error.response.status_code)
            assert error.response.headers["Retry-After"] == "0"
    assert statuses == [503, 503, 201]
    assert len(platform.scores(lineitem.get_id())) == 1
    assert [r["status"] for r in platform.refused_scores[-2:]] == [503, 503]

    platform.fail_next_scores(1, 429, retry_after=None)
    with pytest.raises(LtiServiceException) as refused:
        ags.put_grade(_grade("canvas-3", 6), lineitem)
    assert refused.value.response.status_code == 429 and "Retry-After" not in refused.value.response.headers
    ags.put_grade(_grade("canvas-3", 6), lineitem)
    assert len(platform.scores(lineitem.get_id())) == 2


# --- launches ------------------------------------------------------------------------------------------------

def _hub_login_initiation(platform: Platform, location: str) -> tuple[str, str, str]:
    """What ltiauthenticator's LTI13LoginInitHandler.post does: the authorization URL, its state and nonce."""
    args = dict(parse_qsl(urlsplit(location).query))
    for required in ("iss", "login_hint", "target_link_uri"):  # LTI13_INIT_LOGIN_REQUEST_ARGS
        assert args.get(required), required
    state = base64.urlsafe_b64encode(json.dumps({"state_id": uuid.uuid4().hex, "next_url": "/"}).encode()).decode()
    nonce = hashlib.sha256(secrets.token_urlsafe(48).encode()).hexdigest()
    query = {"response_type": "id_token", "scope": "openid", "response_mode": "form_post", "prompt": "none",
             "client_id": args.get("client_id"), "redirect_uri": TOOL_URL + "/hub/lti13/oauth_callback",
             "login_hint": args["login_hint"], "nonce": nonce, "state": state}
    if "lti_message_hint" in args:
        query["lti_message_hint"] = args["lti_message_hint"]
    return url_concat(platform.authorize_url, query), state, nonce


def _form(page: str) -> tuple[str, dict[str, str]]:
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page).group(1))
    fields = {html.unescape(n): html.unescape(v)
              for n, v in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)}
    return action, fields


def _launch(platform: Platform, user_id: str, attack: str | None = None) -> tuple[str, dict[str, str], str, str]:
    """The link, the hub's redirect to authorization, the platform's form: (action, fields, state, nonce)."""
    link = requests.get(platform.launch_url(user_id, attack), allow_redirects=False, timeout=10)
    assert link.status_code == 302, link.text
    authorize, state, nonce = _hub_login_initiation(platform, link.headers["Location"])
    page = requests.get(authorize, timeout=10)
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    assert "document.getElementById(\"form\").submit()" in page.text  # submits itself
    action, fields = _form(page.text)
    return action, fields, state, nonce


@pytest.fixture(scope="module")
def jwks_client(platform: Platform) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(platform.jwks_url)


def _tampered(platform: Platform, jwks_client: jwt.PyJWKClient, id_token: str, user_id: str) -> set[str]:
    """Which attacks' marks an id_token bears, judged the way a careful tool would."""
    found = set()
    key = jwks_client.get_signing_key_from_jwt(id_token)  # by the kid in its header
    relaxed = {"verify_aud": False, "verify_exp": False, "verify_iat": False}
    try:
        claims = jwt.decode(id_token, key.key, algorithms=["RS256"], options=relaxed)
    except jwt.InvalidSignatureError:
        found.add("feil-signatur")
        claims = jwt.decode(id_token, options={"verify_signature": False})
    login_id = next(m for m in MEMBERS if m[0] == user_id)[1]
    roles = claims[LTI + "roles"]
    if claims["aud"] != platform.client_id or claims["azp"] != platform.client_id:
        found.add("feil-mottaker")
    if claims[LTI + "deployment_id"] != platform.deployment_id:
        found.add("feil-utrulling")
    if claims["exp"] < time.time() - 3000 and claims["iat"] < claims["exp"]:
        found.add("utlopt")
    if roles == []:
        found.add("uten-rolle")
    elif not any(r.startswith("http://purl.imsglobal.org/vocab/lis/v2/membership") for r in roles):
        found.add("ukjent-rolle")
    if claims[LTI + "custom"] != {"login_id": login_id}:
        found.add("usikkert-navn")
    if claims[LTI + "context"]["id"] != platform.context_id:
        found.add("annet-emne")
    return found


def test_a_launch_brings_a_signed_id_token_with_the_course_to_the_hub(platform: Platform,
                                                                        jwks_client: jwt.PyJWKClient):
    link = requests.get(platform.launch_url("canvas-1"), allow_redirects=False, timeout=10)
    initiation = dict(parse_qsl(urlsplit(link.headers["Location"]).query))
    assert link.headers["Location"].startswith(TOOL_URL + "/hub/lti13/oauth_login?")
    assert initiation == {"iss": platform.issuer, "login_hint": "canvas-1", "target_link_uri": TOOL_URL + "/",
                          "lti_message_hint": initiation["lti_message_hint"], "client_id": platform.client_id,
                          "lti_deployment_id": platform.deployment_id}

    action, fields, state, nonce = _launch(platform, "canvas-1")
    assert action == TOOL_URL + "/hub/lti13/oauth_callback" and set(fields) == {"id_token", "state"}
    assert fields["state"] == state
    key = jwks_client.get_signing_key_from_jwt(fields["id_token"])
    claims = jwt.decode(fields["id_token"], key.key, algorithms=["RS256"], audience=platform.client_id,
                        issuer=platform.issuer)
    assert claims["nonce"] == nonce and claims["sub"] == "canvas-1" and claims["exp"] > time.time()
    assert claims[LTI + "message_type"] == "LtiResourceLinkRequest" and claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == platform.deployment_id
    assert claims[LTI + "target_link_uri"] == TOOL_URL + "/"
    assert claims[LTI + "resource_link"] == {"id": platform.resource_link_id, "title": platform.resource_link_title}
    assert claims[LTI + "context"] == {"id": platform.context_id, "label": platform.context_label,
                                       "title": platform.context_title,
                                       "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]}
    assert claims[LTI + "roles"] == [full_role("Learner")] == [LIS + "Learner"]
    assert (claims["name"], claims["given_name"], claims["family_name"], claims["email"]) == (
        "Student Nummer1", "Student", "Nummer1", "student1@example.no")
    assert claims[LTI + "custom"] == {"login_id": "student1@example.no"}
    assert claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] == {
        "context_memberships_url": platform.memberships_url, "service_versions": ["2.0"]}
    assert claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] == {
        "lineitems": platform.lineitems_url, "scope": AGS_SCOPES}
    assert _tampered(platform, jwks_client, fields["id_token"], "canvas-1") == set()

    recorded = platform.launches[-1]
    assert (recorded["action"], recorded["id_token"], recorded["state"], recorded["user_id"]) == (
        action, fields["id_token"], state, "canvas-1")
    assert recorded["claims"] == claims and recorded["attack"] is None
    assert platform.authorize_requests[-1]["nonce"] == nonce


def test_the_authorization_endpoint_checks_the_hubs_request(platform: Platform):
    link = requests.get(platform.launch_url("canvas-2"), allow_redirects=False, timeout=10)
    authorize, _state, _nonce = _hub_login_initiation(platform, link.headers["Location"])
    for name, value in [("redirect_uri", "https://evil.example.org/callback"), ("lti_message_hint", "gjettet"),
                        ("login_hint", "canvas-1"), ("client_id", "annen-klient"), ("response_type", "code")]:
        bad = re.sub(rf"([?&]{name}=)[^&]*", lambda m: m.group(1) + value, authorize)
        reply = requests.get(bad, timeout=10)
        assert reply.status_code == 400, name
    assert requests.get(authorize, timeout=10).status_code == 200

    assert requests.get(platform.launch_url("canvas-ukjent"), allow_redirects=False, timeout=10).status_code == 404
    assert requests.get(platform.launch_url("canvas-inaktiv"), allow_redirects=False, timeout=10).status_code == 403
    with pytest.raises(ValueError, match="unknown attack"):
        platform.launch_url("canvas-1", "feil-alt")


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_each_attack_tampers_with_its_claim_and_nothing_else(platform: Platform, jwks_client: jwt.PyJWKClient,
                                                             attack: str):
    _action, fields, state, nonce = _launch(platform, "canvas-4", attack)
    assert _tampered(platform, jwks_client, fields["id_token"], "canvas-4") == {attack}
    header = jwt.get_unverified_header(fields["id_token"])
    assert header["kid"] == requests.get(platform.jwks_url, timeout=10).json()["keys"][0]["kid"]
    claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
    assert claims["nonce"] == nonce and fields["state"] == state and claims["sub"] == "canvas-4"
    assert platform.launches[-1]["attack"] == attack and platform.launches[-1]["claims"] == claims
