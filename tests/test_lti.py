"""Canvas from the tool's side (course/instructor/lti.py): the name rule, roles, the registry, grades back.

Grade passback runs against the LTI 1.3 platform on loopback in tests/lti_plattform.py
(lti1p3platform), with pylti1p3 as the tool's client, exactly as ``course canvas`` does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ROOT
from course.instructor import lti

ADD_ACCOUNTS_RULE = re.search(r'=~ (\^\S+\$) \]\]', (ROOT / "deploy" / "add-accounts.sh").read_text()).group(1)


def test_the_name_rule_is_add_accounts_rule():
    assert lti.NAME_RULE.pattern == ADD_ACCOUNTS_RULE


@pytest.mark.parametrize("login_id, realm, name", [
    ("kari", "", "kari"),
    ("Kari@Example.no", "example.no", "kari"),
    ("kari@example.no", "@example.no", "kari"),
    ("kari@ntnu.no", "example.no", None),             # another realm: refused, never renamed
    ("kari@example.no.evil.org", "example.no", None),
    ("kari@example.no", "", None),                    # no realm configured: no Feide name is ours
    ("kari.nordmann@example.no", "example.no", None),  # not a valid Unix name: refused, not mangled
    ("../root", "", None),
    ("root;rm", "", None),
    ("9kari", "", None),
    ("", "", None),
    (None, "", None),
    ("a" * 33, "", None),
    ("ola_n-2", "", "ola_n-2"),
])
def test_unix_name(login_id, realm, name):
    assert lti.unix_name(login_id, realm) == name


@pytest.mark.parametrize("roles, role", [
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], "student"),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"], "laerer"),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
      "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], "laerer"),
    (["Learner"], "student"),                                   # NRPS short names
    (["Instructor"], "laerer"),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"], None),  # an institution role only
    (["http://purl.imsglobal.org/vocab/lis/v2/system/person#User"], None),
    ([], None),
])
def test_role_of(roles, role):
    assert lti.role_of(roles) == role


def test_a_name_stays_with_the_first_person_who_held_it(tmp_path: Path):
    registry = lti.Registry(tmp_path / "state" / "lti-brukere.json")
    assert registry.claim("kari", "sub-1")
    assert registry.claim("kari", "sub-1")           # the same person again
    assert not registry.claim("kari", "sub-2")       # someone else with the same login id later
    assert registry.holder("kari") == "sub-1"
    assert (tmp_path / "state" / "lti-brukere.json").stat().st_mode & 0o777 == 0o600
    assert json.loads((tmp_path / "state" / "lti-brukere.json").read_text()) == {"kari": "sub-1"}


def test_the_context_is_saved_once_and_read_back(tmp_path: Path):
    claims = {
        "iss": "https://canvas.example.no",
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "1:abc",
        "https://purl.imsglobal.org/spec/lti/claim/context": {"id": "emne-1", "title": "Samskaping"},
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "lenke-1"},
        "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
            "context_memberships_url": "https://canvas.example.no/api/lti/courses/1/names_and_roles"},
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
            "lineitems": "https://canvas.example.no/api/lti/courses/1/line_items", "scope": [lti.SCOPE_SCORE]},
    }
    context = lti.Context.from_launch(claims, client_id="42", token_url="https://t", key_file="/k", realm="example.no")
    assert context.save(tmp_path) is True
    assert context.save(tmp_path) is False  # unchanged: not written again
    assert lti.Context.load(tmp_path) == context
    (tmp_path / lti.CONTEXT_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(lti.LtiError, match="ikke gyldig JSON"):
        lti.Context.load(tmp_path)
    with pytest.raises(lti.LtiError, match="Åpne kurset fra Canvas"):
        lti.Context.load(tmp_path / "ingen")


def test_the_tool_key_is_made_once_private_and_published_without_its_private_half(tmp_path: Path):
    key_file = tmp_path / "nokkel.pem"
    pem = lti.tool_key(key_file)
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert lti.tool_key(key_file) == pem
    jwks = lti.public_jwks(pem)
    (key,) = jwks["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"]
    assert "d" not in key and "p" not in key  # no private parameters


def test_claims_from_two_processes_at_once_lose_no_binding(tmp_path: Path):
    """The hub and a class-list sync may claim names at the same moment: every binding survives."""
    import multiprocessing

    path = tmp_path / "lti-brukere.json"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        assert all(pool.starmap(_claim, [(str(path), f"navn{i}", f"sub-{i}") for i in range(40)]))
    assert lti.Registry(path).read() == {f"navn{i}": f"sub-{i}" for i in range(40)}


def _claim(path: str, name: str, sub: str) -> bool:
    return lti.Registry(Path(path)).claim(name, sub)
