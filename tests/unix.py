"""Real Unix accounts for the class-server tests: created with unique names, removed afterwards.

The tests of the hub, the exchange and the PostgreSQL gradebook run nbgrader and
Jupyter as real students and instructors. They need root (to create accounts and
start processes as them) and the class server's environment, which
``make test`` builds as root (deploy/build-env.sh). Anywhere else they skip and
say why.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HUB_ENV = Path(os.environ.get("SAMSKAPING_HUB_ENV", "/opt/samskaping-kurs/env"))
RUNUSER = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"


def skip_unless_class_server() -> None:
    """Skip (with the reason) unless this process is root and the class server's environment is built."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the class-server tests create Unix accounts and run processes as them")
    if not (HUB_ENV / "bin" / "jupyterhub").is_file():
        pytest.skip(f"the class server's environment is missing ({HUB_ENV}); `make test` builds it as root")


def unique(prefix: str) -> str:
    """A name no other test run uses: a valid Unix user or group name (lowercase, <= 32 characters)."""
    return f"{prefix}{secrets.token_hex(3)}"


def wait_for(condition, what: str, timeout: float = 90, on_timeout=lambda: ""):
    """Poll ``condition`` until it returns something true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{on_timeout()}")
        time.sleep(0.1)  # poll interval; the wait itself is on the condition


def env_for(user: str, **extra: str) -> dict[str, str]:
    """A clean environment for a process run as ``user``: the class server's environment first on PATH."""
    home = pwd.getpwnam(user).pw_dir
    env = {
        "HOME": home,
        "USER": user,
        "LOGNAME": user,
        "PATH": f"{HUB_ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    env.update(extra)
    return env


def run_as(user: str, args: list[str], *, cwd: str | os.PathLike | None = None, check: bool = True,
           timeout: float = 300, **extra_env: str) -> subprocess.CompletedProcess:
    """Run ``args`` as ``user`` (with the user's groups, via runuser), in ``cwd`` or the user's home."""
    proc = subprocess.run(
        [RUNUSER, "-u", user, "--", *args],
        cwd=cwd or pwd.getpwnam(user).pw_dir,
        env=env_for(user, **extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} as {user} exited with {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def admin(args: list[str], *, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """An account command (useradd, usermod, userdel, groupadd, groupdel, or a script that runs them).

    These commands lock /etc/passwd and /etc/group and give up at once when
    another one holds the lock ("cannot lock /etc/passwd; try again later"),
    which happens when test processes side by side create accounts. So the
    command is run again until the lock was free, with a deadline.
    """
    deadline = time.monotonic() + 60
    while True:
        proc = subprocess.run(args, capture_output=True, text=True, env=env)
        if "try again later" not in proc.stderr or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # poll: the other process releases the lock within milliseconds
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited with {proc.returncode}: {proc.stdout}{proc.stderr}")
    return proc


class Accounts:
    """Unix accounts and groups created for one test (or module), all removed by ``remove_all``.

    Accounts are made by the course's own script (deploy/add-accounts.sh), so the
    tests use what an administrator uses. Removal kills only the processes of
    the accounts created here, then deletes the accounts, their homes and the
    groups.
    """

    def __init__(self, tag: str = "t") -> None:
        self.tag = unique(f"sk{tag}")  # shared part of every name, e.g. skt3f9a1c
        self.users: list[str] = []
        self.groups: list[str] = []
        self.student_group = f"{self.tag}stud"
        self.instructor_group = f"{self.tag}laer"

    def script_env(self) -> dict[str, str]:
        return {**os.environ, "SAMSKAPING_STUDENTER": self.student_group, "SAMSKAPING_LAERERE": self.instructor_group}

    def _add(self, role: str, names: list[str]) -> list[str]:
        """Accounts for ``names`` with one run of deploy/add-accounts.sh (as an administrator adds a class)."""
        users = [f"{self.tag}{name}" for name in names]
        group = self.student_group if role == "student" else self.instructor_group
        if group not in self.groups:
            self.groups.append(group)
        self.users.extend(users)  # before the script runs: a half-made class is removed all the same
        admin([str(ROOT / "deploy" / "add-accounts.sh"), role, *users], env=self.script_env())
        return users

    def student(self, name: str) -> str:
        return self._add("student", [name])[0]

    def students(self, names: list[str]) -> list[str]:
        return self._add("student", names)

    def instructor(self, name: str) -> str:
        return self._add("laerer", [name])[0]

    def plain(self, name: str) -> str:
        """An account in no course group (for example the grader), with a private home."""
        user = f"{self.tag}{name}"
        self.users.append(user)
        admin(["useradd", "--create-home", "--shell", "/bin/bash", "--key", "HOME_MODE=0700", user])
        return user

    def adopt(self, user: str) -> str:
        """An account made by other code (for example deploy/setup-server.sh), removed with the others."""
        self.users.append(user)
        return user

    def group(self, name: str, members: list[str] = ()) -> str:
        group = f"{self.tag}{name}"
        admin(["groupadd", group])
        self.groups.append(group)
        for member in members:
            admin(["usermod", "--append", "--groups", group, member])
        return group

    def remove_all(self) -> None:
        for user in self.users:
            try:
                uid = pwd.getpwnam(user).pw_uid
            except KeyError:
                continue
            _kill_processes_of(uid)
            admin(["userdel", "--remove", "--force", user], check=False)
        for group in self.groups:
            admin(["groupdel", group], check=False)
        self.users.clear()
        self.groups.clear()


def _kill_processes_of(uid: int) -> None:
    """SIGKILL every process owned by ``uid`` (an account this test created), and wait until none is left."""
    deadline = time.monotonic() + 20
    while True:
        pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _owner(p) == uid]
        if not pids:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of uid {uid} would not stop: {pids}")
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)  # poll: the processes are being reaped by their parents


def _owner(proc_dir: Path) -> int | None:
    try:
        return proc_dir.stat().st_uid
    except FileNotFoundError:
        return None
