"""Build or update the student-only git repository that students pull with nbgitpuller.

Students get the lessons on the class server through an nbgitpuller link. The
link must point at a repository that holds what students may see and nothing
else: this course's own repository also holds the exercises' solutions, hidden
tests and mark schemes (solutions/), the instructor tooling and, in an
instructor's checkout, a gradebook and submissions.

Usage (from the course folder; standard library only, so any Python 3.11 will do)::

    python3 scripts/lag_studentrepo.py /srv/samskaping/leksjoner
    sudo python3 scripts/lag_studentrepo.py /srv/samskaping/leksjoner \\
        --gitconfig /etc/samskaping-kurs/gitconfig

The target becomes an ordinary git repository (with a work tree) on branch
``main``. Every run that changes something makes exactly one new commit; a run
with nothing changed makes none, so students' clones only see real updates.
Files in the target that are no longer on the allow-list are deleted, so the
target must be empty, missing, or made by this script before (its README.md
carries a marker).

Files and folders get modes that every account can read (0644/0755), whatever
the caller's umask (deploy/add-accounts.sh gives accounts umask 077).

``--gitconfig FILE`` also adds ``safe.directory = <target>/.git`` to FILE.
Git (2.39.5 in Debian 12, which has the fix for CVE-2024-32004 since 2.39.4) refuses to clone or
fetch from a local repository owned by another user ("detected dubious
ownership"); students' servers must read a gitconfig that trusts the lesson
repository. The value must name the ``.git`` folder: the check runs in
``git upload-pack``, which works in the git directory. It only counts in a
system or global gitconfig (git drops ``GIT_CONFIG_COUNT``/``-c`` settings for
local transports), so the hub points the servers' ``GIT_CONFIG_SYSTEM`` at FILE.

The allow-list (ALLOW_LIST below; nothing else is ever copied, so a new
instructor file cannot reach students by default):

- ``lessons/[0-9][0-9]_*.ipynb``: the lesson notebooks (not students' saved
  summaries such as ``lessons/sammendrag_*.md``, nor checkpoints);
- ``docs/ordliste.md``: the glossary every lesson links to
  (``../docs/ordliste.md#term``);
- ``docs/litteratur.md``: the reading list every lesson links to, and that
  the glossary and the content licence link to;
- ``docs/studentveiledning.md``: the student guide to the exercises;
- ``docs/bilder/oppgave_validert.png``, ``docs/bilder/oppgaveliste_innlevert.png``:
  the two screenshots in the student guide;
- ``LICENSE-innhold.md`` (CC BY 4.0 for the content) and ``LICENSE`` (MIT for
  the code cells): the lessons may only be shared with their licences.

and ``README.md``, written by this script for students.

Deliberately left out: the ``course`` package (the lessons import it from the
class server's environment), ``exercises/`` (students fetch them through
nbgrader's exchange when they are released), ``solutions/``, ``docs/`` for
instructors (instructor guide, teaching notes, coverage, course plan, secure
grading, style sheet), ``deploy/``, ``scripts/``, ``tests/``, ``config/`` and
any gradebook or student data.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (pattern relative to the course folder, why students need it). fnmatch
# patterns; "*" does not cross a "/" here (checked per path part).
ALLOW_LIST: tuple[tuple[str, str], ...] = (
    ("lessons/[0-9][0-9]_*.ipynb", "the lesson notebooks"),
    ("docs/ordliste.md", "the glossary the lessons link to"),
    ("docs/litteratur.md", "the reading list the lessons link to"),
    ("docs/studentveiledning.md", "the student guide to the exercises"),
    ("docs/bilder/oppgave_validert.png", "screenshot in the student guide"),
    ("docs/bilder/oppgaveliste_innlevert.png", "screenshot in the student guide"),
    ("LICENSE-innhold.md", "CC BY 4.0 licence of the content"),
    ("LICENSE", "MIT licence of the code cells"),
)
# Files this script writes itself (not copied from the course folder).
GENERATED = ("README.md",)

MARKER = "<!-- Laget av scripts/lag_studentrepo.py i kurset. Ikke rediger her: endringer overskrives. -->"
BRANCH = "main"
AUTHOR = ("Samskaping og velferdsledelse", "kurs@samskaping.invalid")


class Feil(Exception):
    """A problem the person running the script can fix; the message (Norwegian) says how."""


def allowed(path: str) -> bool:
    """Whether ``path`` (relative, with "/") may be in the student repository."""
    if path in GENERATED:
        return True
    parts = path.split("/")
    for pattern, _why in ALLOW_LIST:
        pattern_parts = pattern.split("/")
        if len(parts) == len(pattern_parts) and all(
            fnmatch.fnmatchcase(part, pat) for part, pat in zip(parts, pattern_parts)
        ):
            return True
    return False


def selected_files(source: Path) -> list[str]:
    """The allow-listed files found in the course folder ``source``, as sorted relative paths."""
    found: list[str] = []
    for pattern, _why in ALLOW_LIST:
        if any(ch in pattern for ch in "*?["):
            matches = sorted(p for p in source.glob(pattern) if p.is_file())
            if not matches:
                raise Feil(f"Fant ingen filer som passer med «{pattern}» i {source}. "
                           "Kjør skriptet fra kursmappen, eller oppgi den med --kurs.")
            found += [p.relative_to(source).as_posix() for p in matches]
        else:
            if not (source / pattern).is_file():
                raise Feil(f"Fant ikke {pattern} i {source}. Kjør skriptet fra kursmappen, "
                           "eller oppgi den med --kurs.")
            found.append(pattern)
    assert all(allowed(path) for path in found)
    return sorted(set(found))


def lesson_title(notebook: Path) -> str:
    """The first heading of a lesson notebook, without the leading '#'."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return notebook.stem


def readme(source: Path, files: list[str]) -> str:
    """The students' README.md: what is here and how to use it."""
    lessons = "\n".join(
        f"- [{lesson_title(source / path)}]({path})" for path in files if path.startswith("lessons/")
    )
    return f"""# Samskaping og velferdsledelse: leksjonene

{MARKER}

Her er leksjonene i kurset *Samskaping og velferdsledelse*. Du får dem inn i
JupyterLab på kursserveren med lenken fra faglæreren. Klikker du på lenken
igjen senere, får du nye og rettede leksjoner. Det du selv har skrevet i en
leksjon, blir beholdt.

Åpne en leksjon i mappen `lessons` og kjør cellene ovenfra og ned med
**Shift+Enter**.

{lessons}

Vil du begynne på nytt med en leksjon, sletter du den eller gir den et nytt
navn og klikker på lenken igjen. Da får du en ny kopi.

- [Ordlisten](docs/ordliste.md) forklarer begrepene i kurset. Leksjonene lenker til den.
- [Litteraturlisten](docs/litteratur.md) har de fullstendige referansene.
- [Studentveiledningen](docs/studentveiledning.md) viser hvordan du henter, svarer på og leverer
  innleveringsoppgavene. Oppgavene ligger ikke her: du henter dem i JupyterLab med
  *Nbgrader → Assignment List* når faglæreren har lagt dem ut.

Innholdet kan deles under lisensen CC BY 4.0 ([LICENSE-innhold.md](LICENSE-innhold.md)),
og koden i notatbøkene under MIT-lisensen ([LICENSE](LICENSE)).
"""


def git(target: Path, *args: str, capture: bool = True) -> str:
    env = {**os.environ, "LC_ALL": "C"}
    proc = subprocess.run(["git", *args], cwd=target, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise Feil(f"git {' '.join(args)} feilet i {target}:\n{proc.stderr.strip()}")
    return proc.stdout


def source_version(source: Path) -> str | None:
    """``git describe --always --dirty`` of the course folder, or None if it is no git checkout."""
    proc = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=source,
                          capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def prepare_target(target: Path) -> None:
    """Create the target repository, or check that an existing one was made by this script."""
    if target.exists() and not target.is_dir():
        raise Feil(f"{target} finnes og er ikke en mappe. Velg en annen mappe for studentdepotet.")
    if target.is_dir() and any(target.iterdir()):
        ours = (target / ".git").is_dir() and MARKER in _read(target / "README.md")
        if not ours:
            raise Feil(
                f"{target} er ikke tom og er ikke et studentdepot laget av dette skriptet. "
                "Skriptet sletter filer som ikke skal til studentene, så det skriver bare i en tom "
                "mappe eller i et studentdepot det har laget før. Velg en annen mappe."
            )
        return
    target.mkdir(parents=True, exist_ok=True)
    # No template (no sample hooks); objects readable by every account whatever the umask.
    git(target, "init", "--quiet", "--template=", f"--initial-branch={BRANCH}", "--shared=0644")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return ""


def sync_work_tree(source: Path, target: Path, files: list[str]) -> None:
    """Make the target's work tree hold exactly ``files`` (from ``source``) plus README.md."""
    wanted: dict[str, bytes] = {path: (source / path).read_bytes() for path in files}
    wanted["README.md"] = readme(source, files).encode("utf-8")
    # Remove what is no longer wanted (never .git), deepest first so emptied folders go too.
    for path in sorted(target.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        rel = path.relative_to(target)
        if rel.parts[0] == ".git":
            continue
        if path.is_symlink() or path.is_file():
            if rel.as_posix() not in wanted:
                path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for rel, content in wanted.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)


def make_readable(target: Path) -> None:
    """Give every file and folder in the target read access for all (and folders search access)."""
    for path in [target, *target.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        extra = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        if path.is_dir():
            extra |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
        if mode & extra != extra:
            path.chmod(stat.S_IMODE(mode) | extra)


def closed_parents(target: Path) -> list[Path]:
    """The folders above ``target`` that other accounts cannot enter (no search permission for others)."""
    return [parent for parent in target.parents if not parent.stat().st_mode & stat.S_IXOTH]


def commit(target: Path, version: str | None) -> str | None:
    """Commit the work tree if it differs from HEAD; return the new commit's id, or None."""
    git(target, "add", "--all")
    if not git(target, "status", "--porcelain"):
        return None
    message = f"Lessons from course version {version}" if version else "Lessons from the course"
    name, email = AUTHOR
    git(target, "-c", f"user.name={name}", "-c", f"user.email={email}", "-c", "commit.gpgsign=false",
        "commit", "--quiet", "--no-verify", "-m", message)
    return git(target, "rev-parse", "HEAD").strip()


def trust_in_gitconfig(gitconfig: Path, target: Path) -> bool:
    """Add ``safe.directory = <target>/.git`` to ``gitconfig`` unless it is there; True if added."""
    value = str(target.resolve() / ".git")
    missing = [d for d in [gitconfig.parent, *gitconfig.parent.parents] if not d.exists()]
    gitconfig.parent.mkdir(parents=True, exist_ok=True)
    for folder in missing:  # every server must read the file, whatever the caller's umask
        folder.chmod(0o755)
    present = subprocess.run(["git", "config", "--file", str(gitconfig), "--get-all", "safe.directory"],
                             capture_output=True, text=True).stdout.splitlines()
    if value in present:
        return False
    subprocess.run(["git", "config", "--file", str(gitconfig), "--add", "safe.directory", value],
                   check=True, capture_output=True)
    gitconfig.chmod(0o644)
    return True


def build(source: Path, target: Path) -> str | None:
    """Build or update the student repository at ``target``; return the new commit id, or None if unchanged."""
    if shutil.which("git") is None:
        raise Feil("Fant ikke git. Installer det først (apt-get install git).")
    source, target = source.resolve(), target.resolve()
    if target == source or source in target.parents:
        raise Feil(f"Studentdepotet kan ikke ligge i kursmappen ({source}). Velg en mappe utenfor.")
    files = selected_files(source)
    prepare_target(target)
    sync_work_tree(source, target, files)
    new = commit(target, source_version(source))
    make_readable(target)
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Lag eller oppdater studentdepotet: leksjonene og det de trenger, uten løsninger "
                    "og lærerverktøy. Studentene henter det med en nbgitpuller-lenke.",
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="help", help="vis denne hjelpeteksten og avslutt")
    parser.add_argument("mappe", type=Path, metavar="MAPPE",
                        help="mappen studentdepotet skal ligge i (lages om den ikke finnes)")
    parser.add_argument("--kurs", type=Path, default=ROOT, metavar="MAPPE",
                        help=f"kursmappen leksjonene hentes fra (standard: {ROOT})")
    parser.add_argument("--gitconfig", type=Path, metavar="FIL",
                        help="legg studentdepotet inn som safe.directory i denne gitconfig-filen "
                             "(den kursserveren gir studentene i GIT_CONFIG_SYSTEM)")
    args = parser.parse_args(argv)
    try:
        new = build(args.kurs, args.mappe)
        target = args.mappe.resolve()
        if new:
            print(f"Studentdepotet i {target} er oppdatert (commit {new[:10]} på grenen {BRANCH}).")
        else:
            print(f"Ingen endringer: studentdepotet i {target} er allerede oppdatert.")
        for parent in closed_parents(target):
            print(f"Advarsel: Studentene kommer ikke inn i {parent}, og da heller ikke til studentdepotet. "
                  f"Gi alle tilgang med «chmod o+x {parent}», eller legg depotet et annet sted.")
        if args.gitconfig:
            if trust_in_gitconfig(args.gitconfig, target):
                print(f"La til safe.directory = {target / '.git'} i {args.gitconfig}.")
            for parent in closed_parents(args.gitconfig.resolve()):
                print(f"Advarsel: Studentene kommer ikke inn i {parent}, og da heller ikke til "
                      f"{args.gitconfig}. Gi alle tilgang med «chmod o+x {parent}».")
    except Feil as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
