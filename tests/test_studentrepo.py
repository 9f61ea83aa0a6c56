"""The student-only repository (scripts/lag_studentrepo.py) that students pull with nbgitpuller.

Each test asks one question about the repository the script builds: does it
hold only allow-listed files, nothing an instructor keeps to themselves, links
that resolve inside it, and a git history that changes only when the lessons
do? The last test pulls it as a real student account with nbgitpuller's own
puller, as a student's server does behind an nbgitpuller link.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import ROOT
from unix import HUB_ENV, Accounts, run_as, skip_unless_class_server

SCRIPT = ROOT / "scripts" / "lag_studentrepo.py"

# What must never reach students, in a file's path or anywhere in its bytes
# (work tree and every object of the git history).
FORBIDDEN_TEXT = (
    "BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME", "MARK SCHEME",
    "course/instructor", "gradebook",
)
FORBIDDEN_PATH_PARTS = ("solutions", "solutions_nynorsk", "exercises", "course", "deploy", "tests", "scripts",
                        "submitted", "autograded", "feedback", "mine_oppgaver", ".ipynb_checkpoints")


def _load_script():
    spec = importlib.util.spec_from_file_location("lag_studentrepo", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lag_studentrepo = _load_script()


def build(target: Path, source: Path = ROOT, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the script as an instructor would, with the accounts' umask 077 (deploy/add-accounts.sh)."""
    proc = subprocess.run([sys.executable, str(SCRIPT), str(target), "--kurs", str(source), *extra],
                          capture_output=True, text=True, preexec_fn=lambda: os.umask(0o077))
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def work_tree_files(repo: Path) -> list[str]:
    return sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*")
                  if p.is_file() and p.relative_to(repo).parts[0] != ".git")


def commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def make_source(folder: Path) -> Path:
    """A copy of the course folder's student files plus what an instructor's checkout holds besides."""
    folder.mkdir(parents=True)
    for name in ("lessons", "docs"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "sammendrag_*"))
    for name in ("LICENSE", "LICENSE-innhold.md", "README.md", "nbgrader_config.py"):
        shutil.copy2(ROOT / name, folder / name)
    shutil.copytree(ROOT / "solutions" / "oppgave_01", folder / "solutions" / "oppgave_01")
    shutil.copytree(ROOT / "course" / "instructor", folder / "course" / "instructor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "gradebook.db").write_bytes(b"SQLite format 3\0")
    (folder / "submitted" / "ola" / "oppgave_01").mkdir(parents=True)
    (folder / "submitted" / "ola" / "oppgave_01" / "oppgave_01.ipynb").write_text("{}")
    (folder / "lessons" / "sammendrag_ola.md").write_text("Olas sammendrag av casen.\n")
    (folder / "lessons" / ".ipynb_checkpoints").mkdir()
    shutil.copy2(ROOT / "lessons" / "01_hva_er_samskaping.ipynb",
                 folder / "lessons" / ".ipynb_checkpoints" / "01_hva_er_samskaping-checkpoint.ipynb")
    (folder / "lessons" / "utkast.ipynb").write_text("{}")
    (folder / "docs" / "ny_laererfil.md").write_text("# Ny fil for lærere\n\nEn løsning: BEGIN SOLUTION\n")
    return folder


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The student repository built from this checkout (what an instructor publishes)."""
    target = tmp_path_factory.mktemp("studentrepo") / "leksjoner"
    build(target)
    return target


# --- What is in it ------------------------------------------------------------------------------

def test_every_file_is_on_the_allow_list(repo: Path):
    """Is every file in the work tree and in any commit of the history on the script's allow-list?"""
    files = work_tree_files(repo)
    ever = {line for line in git(repo, "log", "--all", "--name-only", "--format=").splitlines() if line}
    assert files and ever
    for path in sorted(set(files) | ever):
        assert lag_studentrepo.allowed(path), f"{path} er ikke på listen over det studentene skal ha"


def test_the_allow_list_is_written_down_in_the_docstring():
    """Does the script's docstring name every allow-list entry (so a reviewer reads the real list)?"""
    for pattern, _why in lag_studentrepo.ALLOW_LIST:
        assert f"``{pattern}``" in lag_studentrepo.__doc__, pattern


def test_it_has_every_lesson_and_what_they_link_to(repo: Path):
    """Are all the checkout's lessons there, with the glossary, reading list, student guide, licences and README?"""
    lessons = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    assert len(lessons) >= 8
    files = work_tree_files(repo)
    for path in [*lessons, "docs/ordliste.md", "docs/litteratur.md", "docs/studentveiledning.md",
                 "LICENSE", "LICENSE-innhold.md", "README.md"]:
        assert path in files
        if path != "README.md":
            assert (repo / path).read_bytes() == (ROOT / path).read_bytes(), f"{path} differs from the course's"


def _forbidden_in(data: bytes) -> list[str]:
    return [text for text in FORBIDDEN_TEXT if text.lower().encode() in data.lower()]


def test_nothing_for_instructors_anywhere(repo: Path):
    """No solutions, mark schemes, hidden tests, gradebook or instructor tooling: in names, files or history?"""
    ever = {line for line in git(repo, "log", "--all", "--name-only", "--format=").splitlines() if line}
    for path in set(work_tree_files(repo)) | ever:
        parts = path.split("/")
        assert not set(parts) & set(FORBIDDEN_PATH_PARTS), path
        assert "gradebook" not in path.lower(), path
    for path in work_tree_files(repo):
        assert not _forbidden_in((repo / path).read_bytes()), f"{path}: {_forbidden_in((repo / path).read_bytes())}"
    # Every object git stores (blobs of every version, trees, commit messages).
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo,
                             capture_output=True, check=True).stdout
    assert len(objects) > 100_000
    assert not _forbidden_in(objects)


def test_an_instructors_checkout_leaks_nothing(tmp_path: Path):
    """Built from a checkout with solutions, a gradebook, submissions, checkpoints and a new instructor file,
    is the repository exactly the allow-listed files?"""
    source = make_source(tmp_path / "kurs")
    target = tmp_path / "leksjoner"
    build(target, source)
    expected = sorted({*lag_studentrepo.selected_files(source), "README.md"})
    assert work_tree_files(target) == expected
    assert "lessons/01_hva_er_samskaping.ipynb" in expected
    assert not [p for p in expected if "sammendrag" in p or "utkast" in p or "checkpoint" in p
                or "laerer" in p or p.startswith(("solutions/", "course/", "submitted/"))]
    assert not _forbidden_in(subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=target,
                                            capture_output=True, check=True).stdout)


# --- Links ----------------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def _texts(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    ids = set(re.findall(r"""\bid\s*=\s*["']([^"']+)["']""", text))
    for heading in re.findall(r"^#+\s+(.*)$", text, flags=re.M):
        ids.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", heading.strip().lower())))
    return ids


def links_in(repo: Path) -> list[tuple[str, str]]:
    """(file, link) for every relative link and image in the Markdown files and lessons of ``repo``."""
    found = []
    for rel in work_tree_files(repo):
        if rel.endswith((".md", ".ipynb")):
            text = re.sub(r"```.*?```|`[^`\n]*`", " ", _texts(repo / rel), flags=re.S)
            for link in LINK.findall(text) + HTML_LINK.findall(text):
                if not urlsplit(link).scheme:
                    found.append((rel, link))
    return found


def broken_links(repo: Path) -> list[str]:
    problems = []
    for rel, link in links_in(repo):
        parts = urlsplit(link)
        base = repo / rel
        target = (base.parent / unquote(parts.path)).resolve() if parts.path else base
        if repo.resolve() not in target.parents and target != repo.resolve():
            problems.append(f"{rel}: {link} peker ut av repoet")
        elif not target.exists():
            problems.append(f"{rel}: {link} finnes ikke")
        elif parts.fragment and target.suffix == ".md" and parts.fragment not in _anchors(target):
            problems.append(f"{rel}: {link}: fant ikke ankeret #{parts.fragment}")
    return problems


def test_every_relative_link_and_image_resolves_inside_the_repo(repo: Path):
    """Does every relative link and image in the lessons and docs reach a file (and anchor) in the repo?"""
    links = links_in(repo)
    assert len(links) > 60, links  # the lessons' glossary links, the guide's screenshots, the README's list
    assert any(link.startswith("../docs/ordliste.md#") for _, link in links)
    assert any(link.endswith(".png") for _, link in links)
    assert broken_links(repo) == []


def test_the_link_check_finds_a_link_out_of_the_repo(repo: Path, tmp_path: Path):
    """Would a lesson link to an instructor document (left behind) be reported?"""
    copy = tmp_path / "kopi"
    shutil.copytree(repo, copy, ignore=shutil.ignore_patterns(".git"))
    with (copy / "docs" / "studentveiledning.md").open("a", encoding="utf-8") as f:
        f.write("\nSe [lærerveiledningen](laererveiledning.md) og ![bilde](../../kurs/bilde.png).\n")
    assert broken_links(copy) == [
        "docs/studentveiledning.md: laererveiledning.md finnes ikke",
        "docs/studentveiledning.md: ../../kurs/bilde.png peker ut av repoet",
    ]


# --- Git --------------------------------------------------------------------------------------------

def test_it_is_a_git_repository_whose_head_is_the_folder(repo: Path):
    """Is it a valid repository on branch main whose HEAD tree is exactly the work tree?"""
    git(repo, "fsck", "--strict")
    assert git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert git(repo, "rev-parse", "--is-bare-repository").strip() == "false"
    tree = {}
    for line in git(repo, "ls-tree", "-r", "HEAD").splitlines():
        meta, path = line.split("\t", 1)
        tree[path] = meta.split()[2]
    assert sorted(tree) == work_tree_files(repo)
    for path, blob in tree.items():
        assert git(repo, "hash-object", path).strip() == blob, path
    assert git(repo, "status", "--porcelain", "--ignored") == ""


def test_everyone_can_read_it_although_the_instructor_has_umask_077(repo: Path):
    """Can every account read every file and enter every folder (the script ran with umask 077)?"""
    for path in [repo, *repo.rglob("*")]:
        mode = path.stat().st_mode
        assert mode & 0o004, f"{path} kan ikke leses av andre"
        if path.is_dir():
            assert mode & 0o001, f"{path}: andre kommer ikke inn i mappen"


def test_it_warns_when_students_cannot_reach_the_folder(tmp_path: Path):
    """Built inside a folder others cannot enter, does it say so and name the folder?"""
    tmp_path.chmod(0o700)
    proc = build(tmp_path / "leksjoner", make_source(tmp_path / "kurs"))
    assert f"Advarsel: Studentene kommer ikke inn i {tmp_path}," in proc.stdout
    assert f"chmod o+x {tmp_path}" in proc.stdout


def test_the_gitconfig_trusts_the_repository_and_everyone_can_read_it(tmp_path: Path):
    """Does --gitconfig add safe.directory = <repo>/.git once, in a file and new folders everyone can read?"""
    tmp_path.chmod(0o755)
    gitconfig = tmp_path / "etc" / "samskaping-kurs" / "gitconfig"
    target = tmp_path / "leksjoner"
    source = make_source(tmp_path / "kurs")
    for _ in range(2):
        build(target, source, "--gitconfig", str(gitconfig))
    values = subprocess.run(["git", "config", "--file", str(gitconfig), "--get-all", "safe.directory"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert values == [f"{target}/.git"]
    assert gitconfig.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "etc").stat().st_mode & 0o777 == 0o755
    assert gitconfig.parent.stat().st_mode & 0o777 == 0o755


def test_one_commit_per_change_and_none_without(tmp_path: Path):
    """Does a run with nothing changed make no commit, and a changed, new or removed lesson exactly one?"""
    source = make_source(tmp_path / "kurs")
    target = tmp_path / "leksjoner"
    build(target, source)
    assert commits(target) == 1
    head = git(target, "rev-parse", "HEAD")
    assert "Ingen endringer" in build(target, source).stdout
    assert git(target, "rev-parse", "HEAD") == head

    lesson = source / "lessons" / "02_offentlig_sektor_kan_ikke_lose_alt.ipynb"
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("Leksjon 2", "Leksjon 2 (rettet)", 1),
                      encoding="utf-8")
    shutil.copy2(source / "lessons" / "08_case_flyktninger.ipynb", source / "lessons" / "09_ny_leksjon.ipynb")
    (source / "lessons" / "01_hva_er_samskaping.ipynb").unlink()
    build(target, source)
    assert commits(target) == 2
    changed = git(target, "show", "--name-status", "--format=", "HEAD").split("\n")
    assert "M\tlessons/02_offentlig_sektor_kan_ikke_lose_alt.ipynb" in changed
    assert "A\tlessons/09_ny_leksjon.ipynb" in changed
    assert "D\tlessons/01_hva_er_samskaping.ipynb" in changed
    assert "M\tREADME.md" in changed  # its list of lessons follows
    assert (target / "lessons" / "02_offentlig_sektor_kan_ikke_lose_alt.ipynb").read_bytes() == lesson.read_bytes()
    assert not (target / "lessons" / "01_hva_er_samskaping.ipynb").exists()
    build(target, source)
    assert commits(target) == 2


def test_it_refuses_a_folder_it_did_not_make(tmp_path: Path):
    """Pointed at a folder with someone's files, does it stop with a Norwegian message and delete nothing?"""
    target = tmp_path / "noe_annet"
    target.mkdir()
    (target / "viktig.txt").write_text("ikke slett meg")
    proc = build(target, ROOT, check=False)
    assert proc.returncode == 1
    assert "er ikke tom og er ikke et studentdepot laget av dette skriptet" in proc.stderr
    assert [p.name for p in target.iterdir()] == ["viktig.txt"]
    proc = build(ROOT / "lessons" / "studentrepo", ROOT, check=False)
    assert proc.returncode == 1 and "kan ikke ligge i kursmappen" in proc.stderr
    assert not (ROOT / "lessons" / "studentrepo").exists()


def test_students_readme_and_messages_are_spelt_right(repo: Path):
    """Does hunspell (nb_NO, with the course's word lists) know every word of the README and the messages?"""
    from test_language import _clean_markdown, _python_messages, misspelled

    assert misspelled(_clean_markdown((repo / "README.md").read_text(encoding="utf-8"))) == []
    messages = _python_messages(SCRIPT)
    assert "kursmappen" in messages and "Kjør skriptet" in messages
    assert misspelled(_clean_markdown(messages)) == []


# --- Pulled by a real student, as nbgitpuller does ------------------------------------------------

@pytest.fixture
def published(tmp_path: Path):
    """A student repository built by root (umask 077) in a world-readable folder, as on the class server,
    and a gitconfig the script wrote that trusts it. Yields (source, folder, repo, gitconfig)."""
    skip_unless_class_server()
    folder = Path(tempfile.mkdtemp(prefix="studentrepo", dir="/tmp"))
    try:
        folder.chmod(0o755)
        source = make_source(tmp_path / "kurs")
        repo = folder / "leksjoner"
        gitconfig = folder / "gitconfig"
        proc = build(repo, source, "--gitconfig", str(gitconfig))
        assert "safe.directory" in proc.stdout
        yield source, folder, repo, gitconfig
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def student():
    accounts = Accounts("sr")
    try:
        yield accounts.student("kari")
    finally:
        accounts.remove_all()


def _pull(student: str, repo: Path, target: str, **env: str):
    """nbgitpuller's own puller, as a student's server runs it for a link with branch=main."""
    return run_as(student, [str(HUB_ENV / "bin" / "python"), "-m", "nbgitpuller.pull", f"file://{repo}", "main", target],
                  check=False, timeout=120, **env)


@pytest.mark.slow
def test_a_student_pulls_it_with_nbgitpuller_when_the_hub_trusts_it(published, student):
    """As a real student: refused without safe.directory, pulled with the script's gitconfig, and updated
    by a second pull that keeps the student's own change?"""
    source, folder, repo, gitconfig = published
    home = Path(os.path.expanduser(f"~{student}"))

    # Git 2.39.5 (Debian 12) refuses a repository owned by another account.
    refused = run_as(student, ["git", "ls-remote", f"file://{repo}"], check=False)
    assert refused.returncode != 0 and "dubious ownership" in refused.stderr
    assert _pull(student, repo, str(home / "leksjoner")).returncode != 0
    assert not (home / "leksjoner").exists()
    # The trusted path must be the .git folder: the work tree's path is not enough.
    worktree_only = Path(tempfile.mkdtemp(prefix="gitconfig", dir=str(folder)))
    worktree_only.chmod(0o755)
    (worktree_only / "gitconfig").write_text(f"[safe]\n\tdirectory = {repo}\n")
    (worktree_only / "gitconfig").chmod(0o644)
    assert _pull(student, repo, str(home / "leksjoner"),
                 GIT_CONFIG_SYSTEM=str(worktree_only / "gitconfig")).returncode != 0

    pulled = _pull(student, repo, str(home / "leksjoner"), GIT_CONFIG_SYSTEM=str(gitconfig))
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    arrived = home / "leksjoner"
    assert work_tree_files(arrived) == work_tree_files(repo)
    assert arrived.stat().st_uid == pwd.getpwnam(student).pw_uid

    # The student writes in lesson 1; the instructor corrects lesson 2 and publishes again.
    mine = arrived / "lessons" / "01_hva_er_samskaping.ipynb"
    run_as(student, ["sed", "-i", "s/Hva er samskaping?/Hva er samskaping? (mine notater)/", str(mine)])
    lesson = source / "lessons" / "02_offentlig_sektor_kan_ikke_lose_alt.ipynb"
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("Leksjon 2", "Leksjon 2 (rettet)", 1),
                      encoding="utf-8")
    build(repo, source)

    again = _pull(student, repo, str(arrived), GIT_CONFIG_SYSTEM=str(gitconfig))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Leksjon 2 (rettet)" in (arrived / "lessons" / lesson.name).read_text(encoding="utf-8")
    assert "(mine notater)" in mine.read_text(encoding="utf-8")
