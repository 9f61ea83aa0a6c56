"""A PostgreSQL cluster of the test's own, for the gradebook tests: Unix socket only, peer authentication.

``postgres_cluster(accounts)`` creates a cluster owned by a unique Unix account
(PostgreSQL's ``initdb`` and ``postgres`` refuse to run as root), in a unique
temporary folder, starts it listening on a socket only (no TCP), in a unique
folder under ``/run`` as Debian's cluster does (``/run/postgresql``),
with ``pg_hba.conf`` allowing peer authentication over the socket and nothing
else, and stops (by the server's pid) and removes it afterwards, also when the
test fails. Debian's PostgreSQL binaries are used (package ``postgresql``).

Durability is turned off (``initdb --no-sync``, ``fsync=off``): the cluster
lives for one test module.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from unix import Accounts, wait_for

PG_BIN = Path(os.environ.get("SAMSKAPING_PG_BIN", "/usr/lib/postgresql/15/bin"))
# Only the socket, and only peer authentication: the Unix account at the other end of
# the socket logs in as the role of the same name, or not at all.
PG_HBA = "# TYPE  DATABASE  USER  METHOD\nlocal   all       all   peer\n"


def skip_unless_root() -> None:
    """Skip (with the reason) unless this process is root and Debian's PostgreSQL is installed."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the PostgreSQL tests create Unix accounts (the cluster's owner, a grader, a student)")
    if not (PG_BIN / "postgres").is_file():
        pytest.skip(f"PostgreSQL's binaries are missing ({PG_BIN}); install Debian's package postgresql")


class PostgresCluster:
    """A running cluster: its owner account, data folder, socket folder and server process."""

    def __init__(self, owner: str, base: Path, socket: Path) -> None:
        self.owner = owner
        self.base = base
        self.data = base / "data"  # 0700, the owner's
        self.socket = socket       # where clients connect; every account may reach it
        self.log = base / "postgres.log"
        self.proc: subprocess.Popen | None = None

    def _as_owner(self) -> dict:
        pw = pwd.getpwnam(self.owner)
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [],
                "env": {"PATH": f"{PG_BIN}:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.base),
                        "USER": self.owner, "LOGNAME": self.owner},
                "cwd": self.base}

    def owner_run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """A PostgreSQL program (from PG_BIN) run as the cluster's owner."""
        return subprocess.run([str(PG_BIN / args[0]), *args[1:]], capture_output=True, text=True,
                              timeout=timeout, check=check, **self._as_owner())

    def url(self, database: str) -> str:
        """The gradebook URL for ``database``: the socket, no user name (libpq takes the Unix account's), no password."""
        return f"postgresql+psycopg2://@/{database}?host={self.socket}"

    def init(self) -> None:
        self.owner_run("initdb", "-D", str(self.data), "--no-sync", "--no-instructions", "--no-locale",
                       "-E", "UTF8", "-U", self.owner, "--auth-local=peer", "--auth-host=reject")
        (self.data / "pg_hba.conf").write_text(PG_HBA, encoding="utf-8")

    def start(self, timeout: float = 60) -> None:
        """Start the server (as the owner, by pid) and wait until it accepts connections on the socket."""
        log = self.log.open("wb")
        self.proc = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data), "-k", str(self.socket),
             "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=40", "-c", "shared_buffers=16MB"],
            stdout=log, stderr=subprocess.STDOUT, **self._as_owner())
        log.close()

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres stopped at start ({self.proc.returncode}):\n{self.log.read_text()}")
            return subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", str(self.socket)]).returncode == 0

        wait_for(ready, "postgres to accept connections on its socket", timeout, on_timeout=self.log.read_text)

    def stop(self) -> None:
        """Stop the server this object started: ``pg_ctl stop -m fast`` (by the pid in postmaster.pid), then its pid."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.owner_run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", check=False)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.proc = None

    def psql(self, sql: str, *, database: str = "postgres", check: bool = True) -> subprocess.CompletedProcess:
        """SQL run as the cluster's owner (its superuser), over the socket."""
        return self.owner_run("psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket),
                              "-d", database, "-c", sql, check=check)


@contextmanager
def postgres_cluster(accounts: Accounts) -> Iterator[PostgresCluster]:
    """A fresh cluster owned by a new account from ``accounts``; stopped and removed afterwards, even on failure.

    The caller removes the accounts (``accounts.remove_all()``), which also ends
    any process of the owner that might be left.
    """
    skip_unless_root()
    owner = accounts.plain("pg")
    base = Path(tempfile.mkdtemp(prefix="samskaping-pg-"))
    socket = Path(tempfile.mkdtemp(prefix="samskaping-pg-", dir="/run" if os.access("/run", os.W_OK) else None))
    cluster = PostgresCluster(owner, base, socket)
    try:
        pw = pwd.getpwnam(owner)
        base.chmod(0o700)
        socket.chmod(0o755)  # every account may reach the socket; peer authentication decides who gets in
        cluster.data.mkdir(mode=0o700)
        for folder in (base, socket, cluster.data):
            os.chown(folder, pw.pw_uid, pw.pw_gid)
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)
            shutil.rmtree(socket, ignore_errors=True)
