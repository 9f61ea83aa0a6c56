"""Does the course's Zero to JupyterHub values file hold, for the chart and for the course? (deploy/z2jh/)

No cluster is needed, and none is used: the values are merged over the chart's
default values the way Helm merges them (mappings key by key, everything else
replaced, ``null`` deletes a key), and the result is validated with jsonschema
against the chart's own schema, as ``helm install`` does before it renders
anything. Both chart files are vendored in ``deploy/z2jh/chart/`` (CI has a
clean clone only). The schema says which keys exist; the course's own rules
(per-student exchange mounts, no internet, culling, limits, no secrets, the
grader's server) are asserted one by one, and the Python the values give the
hub (``hub.extraConfig``) is run against stand-ins for the hub's spawner.
"""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
import yaml
from traitlets.config import Config

from conftest import ROOT

Z2JH = ROOT / "deploy" / "z2jh"
CHART = Z2JH / "chart"
VALUES = Z2JH / "values.yaml"
CLASS_LIST = Z2JH / "klasseliste.example.yaml"

COURSE_ID = "samskaping"
EXCHANGE_ROOT = "/srv/nbgrader/exchange"
GRADER = "samskaping-retter"
INSTRUCTORS = "samskaping-laerere"
# What the one-machine hub's jupyterhub-idle-culler uses (issue 12): idle for an hour, checked every 5 minutes.
CULL_TIMEOUT, CULL_EVERY = 3600, 300

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)


def load_all_yaml(path: Path) -> list[dict]:
    return [doc for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=Loader) if doc]


def helm_merge(base, override):
    """``override`` merged over ``base`` as Helm merges a values file over a chart's values.

    Mappings are merged recursively; anything else (lists, scalars) in
    ``override`` replaces what ``base`` has; a ``None`` in ``override`` removes
    the key. Neither argument is changed.
    """
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def schema_errors(validator, values) -> list[str]:
    """Every schema error in ``values``, as "path: message"."""
    return sorted(
        f"{'.'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(values)
    )


@pytest.fixture(scope="module")
def defaults():
    return load_yaml(CHART / "values.yaml")


@pytest.fixture(scope="module")
def validator():
    schema = load_yaml(CHART / "values.schema.yaml")
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def ours():
    return load_yaml(VALUES)


@pytest.fixture(scope="module")
def merged(defaults, ours):
    return helm_merge(defaults, ours)


@pytest.fixture(scope="module")
def resources():
    return load_all_yaml(Z2JH / "course-resources.yaml")


def by_kind(documents, kind):
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


# ---------------------------------------------------------------------------
# The chart and the schema


def test_the_vendored_chart_files_are_unchanged():
    """Are the chart files in deploy/z2jh/chart/ the ones its README names (a changed copy would check nothing)?"""
    listed = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", (CHART / "README.md").read_text(), re.M)
    )
    assert set(listed) == {"values.yaml", "values.schema.yaml", "LICENSE"}
    for name, digest in listed.items():
        assert hashlib.sha256((CHART / name).read_bytes()).hexdigest() == digest, f"{name} differs from the chart's"


def test_helm_merge_merges_mappings_replaces_the_rest_and_null_deletes():
    """Does the merge follow Helm's rules, so that validating its result means what `helm install` checks?"""
    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": "x", "g": {"h": 1}}
    override = {"a": {"b": 2, "c": [3], "d": {"k": 2}}, "f": None, "g": "flat"}
    assert helm_merge(base, override) == {"a": {"b": 2, "c": [3], "d": {"e": 1, "k": 2}}, "g": "flat"}
    assert base == {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": "x", "g": {"h": 1}}


def test_values_are_valid_for_the_chart(validator, merged):
    """Do the course's values, merged over the chart's defaults, pass the chart's schema?"""
    assert schema_errors(validator, merged) == []


def test_values_with_the_class_list_on_top_are_valid(validator, merged):
    """Does the class-list file's shape (given after values.yaml) pass the schema too?"""
    assert schema_errors(validator, helm_merge(merged, load_yaml(CLASS_LIST))) == []


@pytest.mark.parametrize(
    "path, wrong",
    [
        (("singleuser", "memory", "limit"), "limitt"),
        (("hub", "db", "type"), "tpye"),
        (("cull", "every"), "evry"),
        (("singleuser", "networkPolicy", "egressAllowRules", "nonPrivateIPs"), "nonPrivateIP"),
        (("singleuser",), "singelUser"),
    ],
)
def test_a_misspelt_key_is_an_error_that_names_it(validator, defaults, ours, path, wrong):
    """A key the chart does not know (here a misspelt one in a copy of our values) must fail validation by name."""
    broken = copy.deepcopy(ours)
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    parent[wrong] = parent.pop(path[-1])
    errors = schema_errors(validator, helm_merge(defaults, broken))
    assert errors, f"{'.'.join(path)} misspelt as {wrong} passed the schema"
    assert any(f"'{wrong}'" in error for error in errors), errors


# ---------------------------------------------------------------------------
# The hub: database, secrets, log-in, roles


def test_the_hub_database_is_postgresql_without_a_password_in_the_file(merged):
    db = merged["hub"]["db"]
    assert db["type"] == "postgres"
    assert db["url"].startswith("postgresql+psycopg2://")
    userinfo = db["url"].split("://", 1)[1].split("@", 1)[0]
    assert ":" not in userinfo, "the hub database's URL holds a password"
    assert not db.get("password")
    # libpq reads the password from PGPASSWORD, taken from a Secret.
    assert merged["hub"]["extraEnv"]["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"]


SECRET_WORDS = re.compile(r"password|passord|secret|token|client_id|cookie|api_key|PGPASSWORD", re.I)


def _secret_leaks(node, path=()):
    """Paths where a secret-looking key holds a literal value instead of nothing or a Secret reference."""
    leaks = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = (*path, str(key))
            secret_like = SECRET_WORDS.search(str(key)) and not str(key).endswith("_url")  # token_url: an address
            if secret_like and value not in (None, "", {}, []):
                if not (isinstance(value, dict) and "secretKeyRef" in value.get("valueFrom", {})):
                    leaks.append(".".join(here))
                continue  # a reference to a Secret: nothing below it is a value
            leaks += _secret_leaks(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            leaks += _secret_leaks(value, (*path, str(i)))
    return leaks


def test_no_secret_is_written_in_the_values(ours):
    """Is every secret in values.yaml a reference to a Kubernetes Secret, never a value?"""
    assert _secret_leaks(ours) == []
    text = VALUES.read_text()
    assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", text), "a URL with a password"
    assert "cookieSecret" not in text and "secretToken" not in text  # the chart generates both
    # OAUTH_CLIENT_ID and _SECRET come from the Secret (oauthenticator reads them from the environment).
    env = ours["hub"]["extraEnv"]
    for name in ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "PGPASSWORD"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "samskaping-hub"


def test_the_secret_check_catches_a_password(ours):
    """Would the check above notice a password written into the file?"""
    broken = copy.deepcopy(ours)
    broken["hub"]["db"]["password"] = "hemmelig"
    broken["hub"]["extraEnv"]["OAUTH_CLIENT_SECRET"] = "hemmelig"
    assert _secret_leaks(broken) == ["hub.db.password", "hub.extraEnv.OAUTH_CLIENT_SECRET"]


def test_feide_log_in_is_the_one_machine_feide_log_in(merged, monkeypatch):
    """Are the endpoints and the name claim those deploy/auth/feide.py gives the one-machine hub, and who
    may log in closed by default?"""
    from test_auth_examples import AUTH, load

    _app, feide = load(AUTH / "feide.py", monkeypatch)  # as the hub loads it, Feide's own addresses
    oauth = merged["hub"]["config"]["GenericOAuthenticator"]
    assert oauth["authorize_url"] == feide.authorize_url
    assert oauth["token_url"] == feide.token_url
    assert oauth["userdata_url"] == feide.userdata_url
    assert oauth["username_claim"] == feide.username_claim
    assert oauth["oauth_callback_url"].endswith("/hub/oauth_callback")
    assert merged["hub"]["config"]["JupyterHub"]["authenticator_class"] != "dummy"
    auth = merged["hub"]["config"]["Authenticator"]
    assert auth["allow_all"] is False and auth["allow_existing_users"] is False
    assert not auth.get("admin_users") and not auth.get("allowed_users")  # the class list is not in the repository


def _run_extra_config(merged, key: str, monkeypatch) -> Config:
    for name, value in merged["hub"]["extraEnv"].items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    c = Config()
    exec(compile(merged["hub"]["extraConfig"][key], f"hub.extraConfig.{key}", "exec"), {"c": c})
    return c


def test_feide_names_become_user_names_as_on_one_machine(merged, monkeypatch):
    """Does 10-feide drop our own realm only, and does username_pattern refuse what it cannot use?"""
    c = _run_extra_config(merged, "10-feide", monkeypatch)
    cls = c.JupyterHub.authenticator_class
    auth = cls(config=Config({"Authenticator": merged["hub"]["config"]["Authenticator"]}))
    realm = merged["hub"]["extraEnv"]["SAMSKAPING_REALM"]
    assert auth.normalize_username(f"Ola@{realm.upper()}") == "ola"
    assert auth.validate_username("ola")
    other = auth.normalize_username("ola@ntnu.no")
    assert other == "ola@ntnu.no" and not auth.validate_username(other)
    assert not auth.validate_username(auth.normalize_username(f"ola_n@{realm}"))


def _is_kubespawner_safe(name: str) -> bool:
    """KubeSpawner's "safe" slug leaves a name unchanged when it is a DNS label without "--" (kubespawner/slugs.py)."""
    return bool(re.fullmatch(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?", name)) and "--" not in name


@pytest.mark.parametrize(
    "name", ["ola", "a", "kari-nordmann", "per2", GRADER, "x" * 32,
             "ola_n", "Ola", "2ola", "ola-", "ola--n", "ola.n", "x" * 33, "-ola", ""]
)
def test_user_names_are_their_own_kubespawner_slug(merged, name):
    """Is every accepted name one that KubeSpawner's {username} leaves as it is (so exchange folders match nbgrader)?"""
    accepted = re.match(merged["hub"]["config"]["Authenticator"]["username_pattern"], name) is not None
    assert accepted == (_is_kubespawner_safe(name) and len(name) <= 32)


def test_only_instructors_reach_the_graders_server(merged):
    """Do instructors, and only they, get to start and open the grading account's server?"""
    roles = merged["hub"]["loadRoles"]
    granting = {
        name: role for name, role in roles.items()
        if any(scope.endswith(f"!user={GRADER}") for scope in role.get("scopes", []))
    }
    assert list(granting) == ["retting-for-laerere"]
    role = granting["retting-for-laerere"]
    assert role["groups"] == [INSTRUCTORS] and not role.get("users")
    assert {f"servers!user={GRADER}", f"access:servers!user={GRADER}"} <= set(role["scopes"])
    # The grading account exists in the hub (load_groups creates it) but is on no class list.
    assert GRADER in merged["hub"]["config"]["JupyterHub"]["load_groups"]["samskaping-retting"]["users"]
    class_list = load_yaml(CLASS_LIST)["hub"]["config"]
    assert GRADER not in class_list["Authenticator"]["allowed_users"]
    assert class_list["JupyterHub"]["load_groups"][INSTRUCTORS]["users"]


# ---------------------------------------------------------------------------
# User pods: exchange, lessons, network, culling, resources


def _mounts_of(merged, volume: str) -> list[dict]:
    return [m for m in merged["singleuser"]["storage"]["extraVolumeMounts"].values() if m["name"] == volume]


def test_each_student_sees_only_their_own_exchange_folders(merged):
    """Outbound read-only, inbound and feedback mounted from the student's own {username} folders, nothing else."""
    volumes = merged["singleuser"]["storage"]["extraVolumes"]
    assert volumes["utveksling"]["persistentVolumeClaim"]["claimName"] == "samskaping-utveksling"
    course = f"{EXCHANGE_ROOT}/{COURSE_ID}"
    mounts = {m["subPath"]: m for m in _mounts_of(merged, "utveksling")}
    assert set(mounts) == {
        f"{COURSE_ID}/outbound", f"{COURSE_ID}/inbound/{{username}}", f"{COURSE_ID}/feedback/{{username}}"
    }, "a student pod mounts more of the exchange than its own folders"
    assert mounts[f"{COURSE_ID}/outbound"] == {
        "name": "utveksling", "mountPath": f"{course}/outbound", "subPath": f"{COURSE_ID}/outbound", "readOnly": True}
    inbound = mounts[f"{COURSE_ID}/inbound/{{username}}"]
    assert inbound["mountPath"] == f"{course}/inbound" and not inbound.get("readOnly")
    feedback = mounts[f"{COURSE_ID}/feedback/{{username}}"]
    assert feedback["mountPath"] == f"{course}/feedback" and feedback["readOnly"] is True
    env = merged["singleuser"]["extraEnv"]
    assert env["NBGRADER_EXCHANGE"] == EXCHANGE_ROOT and env["SAMSKAPING_KURS_ID"] == COURSE_ID
    nbgrader_config = (ROOT / "nbgrader_config.py").read_text()
    assert f'c.CourseDirectory.course_id = "{COURSE_ID}"' in nbgrader_config


def test_the_students_exchange_folders_are_made_before_their_server_starts(merged):
    """Does the init container make exactly the folders mounted, as the non-root student, from the course image?"""
    (init,) = merged["singleuser"]["initContainers"]
    image = merged["singleuser"]["image"]
    assert init["image"] == f"{image['name']}:{image['tag']}"
    (mount,) = init["volumeMounts"]
    assert mount["name"] == "utveksling" and mount["subPath"] == COURSE_ID
    made = {path.removeprefix(mount["mountPath"] + "/") for path in init["command"][2:]}
    assert init["command"][:2] == ["mkdir", "-p"]
    assert made == {"outbound", "inbound/{username}", "feedback/{username}"}
    security = init["securityContext"]
    assert security["runAsUser"] == merged["singleuser"]["uid"] != 0
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True


def test_lessons_come_read_only_from_the_lesson_repository_volume(merged):
    (mount,) = _mounts_of(merged, "leksjoner")
    assert mount == {"name": "leksjoner", "mountPath": "/srv/samskaping/leksjoner", "readOnly": True}
    assert merged["singleuser"]["storage"]["extraVolumes"]["leksjoner"]["persistentVolumeClaim"]["claimName"] \
        == "samskaping-leksjoner"
    # The nbgitpuller link of docs/kursserver.md points at the same path.
    assert "repo=file%3A%2F%2F%2Fsrv%2Fsamskaping%2Fleksjoner" in (ROOT / "docs" / "kursserver.md").read_text()


def test_user_pods_have_no_internet(merged):
    """Is egress closed but for the hub, the proxy and DNS (the chart's own rules), with no extra rule?"""
    policy = merged["singleuser"]["networkPolicy"]
    assert policy["enabled"] is True
    assert policy["egress"] == []
    rules = policy["egressAllowRules"]
    assert rules["nonPrivateIPs"] is False and rules["privateIPs"] is False
    assert rules["cloudMetadataServer"] is False and rules["dnsPortsCloudMetadataServer"] is False
    assert merged["singleuser"]["cloudMetadata"]["blockWithIptables"] is False  # the policy blocks it instead


def test_idle_servers_are_culled_as_on_one_machine(merged):
    cull = merged["cull"]
    assert cull["enabled"] is True
    assert (cull["timeout"], cull["every"]) == (CULL_TIMEOUT, CULL_EVERY)
    assert cull["users"] is False  # users (and their volumes) are kept
    assert cull["maxAge"] == 0


def _bytes(quantity: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30}  # JupyterHub's ByteSpecification
    return int(float(quantity[:-1]) * units[quantity[-1]])


def test_user_servers_have_memory_and_cpu_limits(merged):
    memory, cpu = merged["singleuser"]["memory"], merged["singleuser"]["cpu"]
    assert 0 < _bytes(memory["guarantee"]) <= _bytes(memory["limit"]) <= 2 * 2**30
    assert 0 < cpu["guarantee"] <= cpu["limit"]


# ---------------------------------------------------------------------------
# The grader's server (hub.extraConfig 20-retter)


def _spawner(merged, user: str):
    """A stand-in for KubeSpawner with the traits the chart's jupyterhub_config.py sets from the values."""
    single = merged["singleuser"]
    return SimpleNamespace(
        user=SimpleNamespace(name=user),
        volumes={"volume-{user_server}": {"name": "volume-{user_server}",
                                          "persistentVolumeClaim": {"claimName": "{pvc_name}"}},
                 **single["storage"]["extraVolumes"]},
        volume_mounts={"volume-{user_server}": {"name": "volume-{user_server}", "mountPath": "/home/jovyan"},
                       **single["storage"]["extraVolumeMounts"]},
        init_containers=list(single["initContainers"]),
        environment=dict(single["extraEnv"]),
        working_dir=None,
        mem_guarantee=single["memory"]["guarantee"], mem_limit=single["memory"]["limit"],
        cpu_guarantee=single["cpu"]["guarantee"], cpu_limit=single["cpu"]["limit"],
        extra_labels=dict(single["extraLabels"]),
    )


def test_a_students_server_is_left_as_the_values_say(merged, monkeypatch):
    hook = _run_extra_config(merged, "20-retter", monkeypatch).KubeSpawner.pre_spawn_hook
    student = _spawner(merged, "kari")
    before = copy.deepcopy(vars(student))
    hook(student)
    assert vars(student) == before


def test_the_graders_server_has_the_course_the_exchange_and_the_gradebook(merged, resources, monkeypatch):
    hook = _run_extra_config(merged, "20-retter", monkeypatch).KubeSpawner.pre_spawn_hook
    grader = _spawner(merged, GRADER)
    shared_mounts = grader.volume_mounts
    shared_copy = copy.deepcopy(shared_mounts)
    hook(grader)
    # The configured dicts are shared by every spawner: they must be replaced, never changed in place.
    assert shared_mounts == shared_copy
    mounts = list(grader.volume_mounts.values())
    exchange = [m for m in mounts if m["name"] == "utveksling"]
    assert exchange == [{"name": "utveksling", "mountPath": EXCHANGE_ROOT}], "not the whole exchange, or student mounts"
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in grader.volumes.values()}
    course = next(m for m in mounts if m["name"] == "kursmappe")
    assert claims["kursmappe"] == "samskaping-kursmappe" and course["mountPath"] == grader.working_dir
    assert {"name": "leksjoner", "mountPath": "/srv/samskaping/leksjoner"} in mounts  # writable here
    assert claims["retting"] == "samskaping-retting"
    assert grader.environment["NBGRADER_DB_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "samskaping-karakterbok", "key": "url"}
    assert grader.init_containers == []
    # Formgrader's settings: the folder the Dockerfile installs deploy/formgrader/ into.
    formgrader = {dest for src, dest in _dockerfile_copies() if src.startswith("deploy/formgrader/")}
    assert {str(Path(d).parent) for d in formgrader} >= {grader.environment["JUPYTER_CONFIG_PATH"]}
    # The label the grader's NetworkPolicy selects.
    policy = by_kind(resources, "NetworkPolicy")["samskaping-retter"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= grader.extra_labels.items()
    assert _bytes(grader.mem_limit) >= _bytes(merged["singleuser"]["memory"]["limit"])


def test_every_volume_claimed_is_a_shared_readwritemany_volume(merged, resources, monkeypatch):
    hook = _run_extra_config(merged, "20-retter", monkeypatch).KubeSpawner.pre_spawn_hook
    grader = _spawner(merged, GRADER)
    hook(grader)
    claimed = {v["persistentVolumeClaim"]["claimName"] for v in grader.volumes.values()} - {"{pvc_name}"}
    claimed.add(load_all_yaml(Z2JH / "grading-job.yaml")[1]["spec"]["template"]["spec"]["volumes"][0]
                ["persistentVolumeClaim"]["claimName"])
    pvcs = by_kind(resources, "PersistentVolumeClaim")
    assert claimed == set(pvcs)
    for name, pvc in pvcs.items():
        assert pvc["spec"]["accessModes"] == ["ReadWriteMany"], name


# ---------------------------------------------------------------------------
# The image and the grading Job


def _dockerfile_instructions() -> list[str]:
    text = (Z2JH / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _dockerfile_copies() -> list[tuple[str, str]]:
    pairs = []
    for line in _dockerfile_instructions():
        if line.startswith("COPY "):
            *sources, dest = line.split()[1:]
            pairs += [(src, dest) for src in sources]
    return pairs


ENV_DIR = "/opt/samskaping-kurs/env"


def _build_env_installs() -> set[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", (ROOT / "deploy" / "build-env.sh").read_text())
    return set(re.findall(r'install -D -m 644 "\$repo/([^"]+)"\s+"\$HUB_ENV/([^"]+)"', text))


def test_the_image_is_built_from_the_lock_as_the_class_servers_environment(merged):
    lines = _dockerfile_instructions()
    assert lines[0] == "FROM python:3.11-slim-bookworm"
    pip = [line for line in lines if "pip install" in line and "-c requirements/lock.txt" in line]
    assert pip and '".[hub]"' in pip[0], "the course is not installed from requirements/lock.txt"
    assert any("apt-get install" in line and " git" in line for line in lines)
    user = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user and user[-1].isdigit() and int(user[-1]) == merged["singleuser"]["uid"] != 0
    image = merged["singleuser"]["image"]
    assert image["tag"] != "latest"


def test_the_image_has_every_configuration_file_build_env_installs():
    """Does the Dockerfile copy existing files, and exactly the configuration deploy/build-env.sh installs, to the same places?"""
    copies = _dockerfile_copies()
    for src, _dest in copies:
        assert (ROOT / src).exists(), f"the Dockerfile copies {src}, which is not in the repository"
    into_env = {(src, dest.removeprefix(ENV_DIR + "/")) for src, dest in copies if dest.startswith(ENV_DIR + "/")}
    installs = _build_env_installs()
    assert len(installs) >= 5, "deploy/build-env.sh's install lines were not found"
    assert into_env == installs
    ignore = (Z2JH / "Dockerfile.dockerignore").read_text().splitlines()
    kept = [line[1:] for line in ignore if line.startswith("!")]
    for src, _dest in copies:
        assert any(src == k.rstrip("/") or src.startswith(k) for k in kept), f"{src} is left out of the build context"


def test_the_grading_job_has_no_network_and_bounds_on_everything(merged):
    policy, job = load_all_yaml(Z2JH / "grading-job.yaml")
    assert job["kind"] == "Job" and policy["kind"] == "NetworkPolicy"
    pod = job["spec"]["template"]
    # The NetworkPolicy selects the Job's pods, and allows nothing either way.
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert policy["spec"]["ingress"] == [] and policy["spec"]["egress"] == []
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["backoffLimitPerIndex"] == 0
    assert 0 < pod["spec"]["activeDeadlineSeconds"] <= 600 < spec["activeDeadlineSeconds"]
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["spec"]["containers"]
    image = merged["singleuser"]["image"]
    assert container["image"] == f"{image['name']}:{image['tag']}"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    limits = container["resources"]["limits"]
    assert {"cpu", "memory", "ephemeral-storage"} <= set(limits)
    # Each pod mounts only its own student's folder: the batch and the pod's index, from the Job's annotation.
    (shared,) = [m for m in container["volumeMounts"] if m["name"] == "retting"]
    assert shared["subPathExpr"] == "$(RETTING)/$(INDEKS)" and "subPath" not in shared
    env = {e["name"]: e for e in container["env"]}
    assert env["INDEKS"]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert set(volumes) == {m["name"] for m in container["volumeMounts"]} == {"retting", "tmp"}
    assert volumes["tmp"]["emptyDir"]["sizeLimit"]
