"""Canvas from the tool's side (LTI 1.3 Advantage): who is who, the course's services, grades back.

The class server is an LTI 1.3 *tool*. jupyterhub-ltiauthenticator receives the
launches (deploy/auth/canvas_lti13.py); this module holds what the hub, the
class-list sync (deploy/klasseliste.py, as root) and ``course canvas`` (as the
grading account) share:

* :func:`unix_name` is the documented rule from a Canvas login id to a Unix
  account name; :class:`Registry` keeps each name bound to the one LTI user id
  that first held it, so no second person can ever get someone's account.
* :class:`Context` is what a launch told the hub about the course (the
  platform, the deployment, the Names and Role Provisioning (NRPS) and
  Assignment and Grade Services (AGS) endpoints). The hub saves it in the course
  folder, so that commands run later reach the same Canvas course without
  configuration of their own.
* The tool's own RSA key signs its requests for an access token (the client
  credentials grant with a signed JWT, IMS Security Framework §4); its public
  half is published by the hub at ``/hub/lti13/jwks`` for Canvas to fetch.
* :func:`members` lists the course (NRPS, with ``rlid`` so each member carries
  the launch's custom field ``login_id``), and :func:`post_scores` posts
  scores to line items (AGS), through pylti1p3's ServiceConnector.

The protocol work (token request, paging, score media types) is pylti1p3's;
what is written here is only the course's policy: the name rule, which roles
count, and which scores go back when.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

# The rule deploy/add-accounts.sh applies to a new account's name (tests check they agree).
NAME_RULE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
CONTEXT_FILE = ".lti-kontekst.json"
LEDGER_FILE = ".canvas-karakterer.json"

ROLE_PREFIXES = ("http://purl.imsglobal.org/vocab/lis/v2/membership#",
                 "http://purl.imsglobal.org/vocab/lis/v2/membership/",)
INSTRUCTOR_ROLES = {"Instructor", "TeachingAssistant", "ContentDeveloper", "Administrator", "Mentor"}
LEARNER_ROLES = {"Learner"}

SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
CUSTOM_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/custom"


class LtiError(Exception):
    """Something about Canvas the lecturer or administrator must fix; the message is Norwegian."""


# --- who is who -------------------------------------------------------------

def unix_name(login_id: str | None, realm: str = "") -> str | None:
    """The Unix account name for a Canvas login id, or None when there is no safe one.

    The rule (docs/canvas-og-feide.md): lower case; a Feide name in the
    institution's own realm (``kari@uio.no`` with realm ``uio.no``) loses the
    realm; the result must be a valid Unix name (``^[a-z_][a-z0-9_-]{0,31}$``).
    Another realm, dots, spaces, ``..`` or ``/`` give None: such a person is
    refused, never renamed, so two people can never be folded into one name.
    """
    if not login_id:
        return None
    name = login_id.strip().lower()
    local, at, domain = name.rpartition("@")
    if at:
        if not realm or domain != realm.strip().lower().lstrip("@"):
            return None
        name = local
    return name if NAME_RULE.match(name) else None


def role_of(roles: Iterable[str]) -> str | None:
    """``laerer``, ``student`` or None, from LTI membership roles (full URIs or NRPS short names)."""
    short = set()
    for role in roles or ():
        for prefix in ROLE_PREFIXES:
            if role.startswith(prefix):
                role = role[len(prefix):]
                break
        short.add(role.split("#")[-1])
    if short & INSTRUCTOR_ROLES:
        return "laerer"
    if short & LEARNER_ROLES:
        return "student"
    return None


class Registry:
    """Which LTI user id (``sub``) holds which Unix name: the first to hold a name keeps it.

    A JSON file readable by root only (the hub's state folder). Written
    atomically (a temporary file, then rename); the hub and the class-list sync
    are its only writers and both run as root.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def holder(self, name: str) -> str | None:
        return self.read().get(name)

    def claim(self, name: str, sub: str) -> bool:
        """Bind ``name`` to ``sub`` if it is free; True if ``sub`` holds it now.

        Read, check and write happen under an exclusive lock on a file beside the
        registry, so the hub and a class-list sync running at once lose no binding.
        """
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            names = self.read()
            if names.get(name, sub) != sub:
                return False
            if names.get(name) != sub:
                names[name] = sub
                _write_json(self.path, names, mode=0o600)
            return True
        finally:
            os.close(fd)


def _write_atomic(path: Path, data: bytes, mode: int = 0o600, owner: tuple[int, int] | None = None) -> None:
    """Write ``path`` whole or not at all (a temporary file with its mode and owner, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    if owner:
        os.chown(tmp, *owner)
    os.replace(tmp, path)


def _write_json(path: Path, data, mode: int = 0o600, owner: tuple[int, int] | None = None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    _write_atomic(path, text.encode("utf-8"), mode=mode, owner=owner)


# --- the course's services ------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """What a launch said about the Canvas course, and where the platform takes token requests."""

    issuer: str
    client_id: str
    deployment_id: str
    token_url: str
    key_file: str
    context_id: str = ""
    context_title: str = ""
    memberships_url: str = ""
    lineitems_url: str = ""
    resource_link_id: str = ""
    ags_scopes: tuple[str, ...] = ()
    realm: str = ""  # the institution's realm, dropped from login ids (unix_name)

    @classmethod
    def from_launch(cls, claims: dict, *, client_id: str, token_url: str, key_file: str,
                    realm: str = "") -> "Context":
        lti = "https://purl.imsglobal.org/spec/lti/claim/"
        ags = claims.get("https://purl.imsglobal.org/spec/lti-ags/claim/endpoint") or {}
        nrps = claims.get("https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice") or {}
        context = claims.get(lti + "context") or {}
        return cls(
            issuer=claims["iss"], client_id=client_id, deployment_id=claims[lti + "deployment_id"],
            token_url=token_url, key_file=key_file,
            context_id=context.get("id", ""), context_title=context.get("title", ""),
            memberships_url=nrps.get("context_memberships_url", ""), lineitems_url=ags.get("lineitems", ""),
            resource_link_id=(claims.get(lti + "resource_link") or {}).get("id", ""),
            ags_scopes=tuple(ags.get("scope", ())), realm=realm,
        )

    def save(self, course_dir: Path, owner: tuple[int, int] | None = None) -> bool:
        """Write it to the course folder if it changed; True if written."""
        path = Path(course_dir) / CONTEXT_FILE
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}
        try:
            if json.loads(path.read_text(encoding="utf-8")) == data:
                return False
        except (FileNotFoundError, ValueError):
            pass
        _write_json(path, data, mode=0o640, owner=owner)
        return True

    @classmethod
    def load(cls, course_dir: Path) -> "Context":
        path = Path(course_dir) / CONTEXT_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LtiError(
                f"Fant ikke {path}. Kursserveren lagrer adressene til Canvas-emnet første gang en lærer åpner "
                "kurset fra lenken i Canvas. Åpne kurset fra Canvas én gang som lærer, og prøv igjen.") from None
        except ValueError:
            raise LtiError(f"{path} er ikke gyldig JSON. Slett filen, og åpne kurset fra Canvas som lærer "
                           "for å lage den på nytt.") from None
        data["ags_scopes"] = tuple(data.get("ags_scopes", ()))
        return cls(**data)


def tool_key(path: Path, owner: tuple[int, int] | None = None) -> str:
    """The tool's private RSA key (PEM); made (2048 bits, mode 0600) the first time it is asked for."""
    path = Path(path)
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        _write_atomic(path, pem, mode=0o600, owner=owner)
    return path.read_text(encoding="ascii")


def public_jwks(private_pem: str) -> dict:
    """The public half of the tool's key as a JSON Web Key Set (what Canvas's developer key points to)."""
    from jwcrypto.jwk import JWK

    key = JWK.from_pem(private_pem.encode("ascii"))
    public = json.loads(key.export_public())
    public.update(alg="RS256", use="sig", kid=key.thumbprint())
    return {"keys": [public]}


def connector(context: Context, private_pem: str | None = None):
    """pylti1p3's ServiceConnector for the course: access tokens signed with the tool's key."""
    from pylti1p3.registration import Registration
    from pylti1p3.service_connector import ServiceConnector

    if not context.token_url:
        raise LtiError("Kursserveren vet ikke adressen til Canvas (SAMSKAPING_CANVAS_ADRESSE, for eksempel "
                       "https://uio.instructure.com). Be administrator sette den i hubens miljøfil, starte huben på "
                       "nytt og åpne kurset fra Canvas som lærer.")
    if private_pem is None:
        try:
            private_pem = Path(context.key_file).read_text(encoding="ascii")
        except OSError as error:
            raise LtiError(f"Kan ikke lese verktøynøkkelen {context.key_file} ({error.strerror}). Kjør kommandoen "
                           "som retteren (kontoen som eier kursmappen), eller be administrator sjekke filen.") from None
    jwks = public_jwks(private_pem)
    registration = (Registration().set_issuer(context.issuer).set_client_id(context.client_id)
                    .set_auth_token_url(context.token_url).set_tool_private_key(private_pem))
    # pylti1p3 takes the key id from the public key; the JWKS the hub publishes uses the same thumbprint.
    registration.get_kid = lambda: jwks["keys"][0]["kid"]
    return ServiceConnector(registration)


# --- the class list (NRPS) -------------------------------------------------------

@dataclass(frozen=True)
class Member:
    user_id: str
    login_id: str | None
    name: str
    role: str | None  # laerer, student or None (a role the course does not know)
    active: bool


def members(context: Context, service_connector=None) -> list[Member]:
    """Everyone in the Canvas course, with the custom field ``login_id`` from NRPS's message section."""
    from pylti1p3.names_roles import NamesRolesProvisioningService

    if not context.memberships_url:
        raise LtiError("Canvas sendte ingen adresse til klasselisten (Names and Role Provisioning Services). "
                       "Slå på tjenesten for utviklernøkkelen i Canvas, og åpne kurset fra Canvas som lærer.")
    nrps = NamesRolesProvisioningService(service_connector or connector(context),
                                         {"context_memberships_url": context.memberships_url})
    found = []
    for raw in _with_retry(lambda: nrps.get_members(context.resource_link_id or None)):
        login = None
        for message in raw.get("message") or ():
            login = (message.get(CUSTOM_CLAIM) or {}).get("login_id") or login
        found.append(Member(
            user_id=str(raw["user_id"]), login_id=login, name=raw.get("name") or "",
            role=role_of(raw.get("roles") or ()), active=(raw.get("status") or "Active") == "Active"))
    return found


# --- grades back (AGS) ------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    """One student's score for one exercise, as the gradebook has it."""

    student: str
    score: float
    max_score: float
    submitted: str | None  # ISO 8601, UTC
    needs_manual: bool


@dataclass
class Outcome:
    posted: list[str] = field(default_factory=list)       # students whose score went to Canvas now
    unchanged: list[str] = field(default_factory=list)    # posted before with the same score
    waiting: list[str] = field(default_factory=list)      # not graded by hand yet (the lecturer chose to wait)
    not_in_canvas: list[str] = field(default_factory=list)  # no member of the Canvas course has this name
    failed: dict[str, str] = field(default_factory=dict)  # student -> Norwegian reason
    dry_run: bool = False


def score_comment(score: Score) -> str:
    pending = " Noen svar rettes for hånd; poengsummen kan endre seg." if score.needs_manual else ""
    return f"Fra kursserveren: {_points(score.score)} av {_points(score.max_score)} poeng.{pending}"


def _points(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def post_scores(context: Context, assignment: str, label: str, scores: list[Score], *, course_dir: Path,
                after_manual: bool = True, dry_run: bool = False,
                service_connector=None, roster: list[Member] | None = None,
                log: Callable[[str], None] = lambda _m: None) -> Outcome:
    """Post each student's score for ``assignment`` to its line item in Canvas, once.

    The line item is found by its ``resourceId`` (the exercise's name) or made.
    A ledger in the course folder (``.canvas-karakterer.json``) remembers what
    was posted; a score that is unchanged is not posted again, so the command
    can be run after every grading round. With ``after_manual`` a submission
    with answers still to be graded by hand waits; without it its automatic
    score goes now, marked ``PendingManual``, and the final one follows later.
    Passing failures (HTTP 429 and 5xx, a dropped connection) are retried.
    """
    from pylti1p3.assignments_grades import AssignmentsGradesService
    from pylti1p3.grade import Grade
    from pylti1p3.lineitem import LineItem

    outcome = Outcome(dry_run=dry_run)
    if not context.lineitems_url:
        raise LtiError("Canvas sendte ingen adresse til karakterkolonnene (Assignment and Grade Services). "
                       "Slå på tjenesten for utviklernøkkelen i Canvas, og åpne kurset fra Canvas som lærer.")
    service_connector = service_connector or connector(context)
    roster = roster if roster is not None else members(context, service_connector)
    by_name = {}
    for member in roster:
        name = unix_name(member.login_id, context.realm)
        if name and member.active:
            by_name[name] = member
    ledger_path = Path(course_dir) / LEDGER_FILE
    ledger = _read_ledger(ledger_path)
    done = ledger.setdefault(assignment, {})

    ags = AssignmentsGradesService(service_connector, {
        "scope": list(context.ags_scopes) or [SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE],
        "lineitems": context.lineitems_url})
    lineitem = None
    if not dry_run:
        maximum = max((s.max_score for s in scores), default=0) or 1
        wanted = (LineItem().set_label(label).set_resource_id(assignment).set_tag("samskaping-kurs")
                  .set_score_maximum(maximum))
        lineitem = _with_retry(lambda: ags.find_or_create_lineitem(wanted, find_by="resource_id"))

    for score in sorted(scores, key=lambda s: s.student):
        member = by_name.get(score.student)
        if member is None:
            outcome.not_in_canvas.append(score.student)
            continue
        if score.needs_manual and after_manual:
            outcome.waiting.append(score.student)
            continue
        progress = "PendingManual" if score.needs_manual else "FullyGraded"
        key = f"{score.score:g}/{score.max_score:g}/{progress}"
        if done.get(member.user_id) == key:
            outcome.unchanged.append(score.student)
            continue
        if dry_run:
            log(f"ville sendt {score.student}: {_points(score.score)} av {_points(score.max_score)} ({progress})")
            outcome.posted.append(score.student)
            continue
        grade = (Grade().set_score_given(score.score).set_score_maximum(score.max_score)
                 .set_activity_progress("Submitted" if score.submitted else "Completed")
                 .set_grading_progress(progress).set_user_id(member.user_id)
                 .set_timestamp(_now_iso()).set_comment(score_comment(score)))
        if score.submitted:
            # Canvas's extension: the submission time shown in SpeedGrader and used for lateness.
            grade.set_extra_claims({"https://canvas.instructure.com/lti/submission": {
                "submitted_at": score.submitted}})
        try:
            _with_retry(lambda: ags.put_grade(grade, lineitem))
        except LtiError as error:
            outcome.failed[score.student] = str(error)
            continue
        done[member.user_id] = key
        _write_json(ledger_path, ledger, mode=0o600)
        outcome.posted.append(score.student)
    return outcome


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def _read_ledger(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        raise LtiError(f"{path} er ikke gyldig JSON. Flytt den bort (da sendes alle poengsummene på nytt; "
                       "Canvas beholder bare den siste), og prøv igjen.") from None


PASSING = {408, 425, 429, 500, 502, 503, 504}


def _with_retry(call, attempts: int = 4, first_wait: float = 1.0):
    """Call ``call``; retry a passing failure (429, 5xx, a dropped connection) with growing waits.

    A refusal that will not pass (401, 403, 404, 400) is raised at once as an
    LtiError with a Norwegian reason.
    """
    import requests
    from pylti1p3.exception import LtiException, LtiServiceException

    wait = first_wait
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except LtiServiceException as error:
            response = error.response
            status = response.status_code
            if status in PASSING and attempt < attempts:
                retry_after = (response.headers or {}).get("Retry-After", "")
                time.sleep(float(retry_after) if retry_after.isdigit() else wait)
                wait *= 2
                continue
            raise LtiError(_refusal(status)) from None
        except requests.RequestException as error:
            if attempt < attempts:
                time.sleep(wait)
                wait *= 2
                continue
            raise LtiError(f"Fikk ikke kontakt med Canvas ({type(error).__name__}). Sjekk nettet og prøv igjen; "
                           "det som alt er sendt, sendes ikke to ganger.") from None
        except LtiException as error:
            raise LtiError(f"Canvas-tjenesten kan ikke brukes: {error}. Sjekk at utviklernøkkelen har "
                           "tjenestene for klasseliste og karakterer slått på.") from None


def _refusal(status: int | None) -> str:
    if status in (401, 403):
        return (f"Canvas avviste forespørselen ({status}). Sjekk at utviklernøkkelen er slått på, at den "
                "offentlige nøkkelen (JWK-adressen) er riktig, og at tjenestene for karakterer og klasseliste er valgt.")
    if status == 404:
        return "Canvas fant ikke karakterkolonnen eller emnet (404). Er kurset slettet eller flyttet i Canvas?"
    if status in PASSING:
        return f"Canvas svarte {status} flere ganger på rad. Prøv igjen senere; det som alt er sendt, sendes ikke på nytt."
    return f"Canvas avviste poengsummen ({status}). Se loggen i Canvas for utviklernøkkelen."


def gradebook_scores(root: Path, assignment: str) -> list[Score]:
    """Every graded submission of ``assignment`` in the course's gradebook, after any late penalty."""
    from .common import gradebook_url, open_gradebook
    from .report import _graded, _score

    scores = []
    with open_gradebook(root, gradebook_url(root)) as gb:
        try:
            found = gb.find_assignment(assignment)
        except Exception:
            raise LtiError(f"Karakterboken har ingen oppgave som heter {assignment}. "
                           f"Kjør `course grade {assignment}` først.") from None
        for submission in found.submissions:
            if not _graded(submission):
                continue
            pending = any(g.manual_score is None and g.needs_manual_grade
                          for nb in submission.notebooks for g in nb.grades)
            stamp = submission.timestamp
            scores.append(Score(
                student=submission.student.id, score=_score(submission), max_score=float(found.max_score),
                submitted=stamp.strftime("%Y-%m-%dT%H:%M:%S+00:00") if stamp else None, needs_manual=pending))
    return scores


def format_outcome(outcome: Outcome, assignment: str) -> str:
    """What happened, for the lecturer: counts, and names only where something must be done."""
    verb = "ville blitt sendt" if outcome.dry_run else "sendt til Canvas"
    lines = [f"{assignment}: {len(outcome.posted)} poengsummer {verb}, {len(outcome.unchanged)} uendret "
             f"(sendt før), {len(outcome.waiting)} venter på retting for hånd."]
    if outcome.not_in_canvas:
        lines.append("Står ikke i Canvas-emnet (sjekk klasselisten i Canvas): " + ", ".join(outcome.not_in_canvas))
    for student, reason in sorted(outcome.failed.items()):
        lines.append(f"Ikke sendt for {student}: {reason}")
    if outcome.failed:
        lines.append("Kjør kommandoen igjen når feilen er rettet; det som alt er sendt, sendes ikke på nytt.")
    return "\n".join(lines)
