"""Start the students' servers ahead of a seminar, so that nobody waits for one when it begins.

    sudo /opt/samskaping-kurs/env/bin/python deploy/forhandsstart.py [--samtidig 4]

At the start of a seminar the whole class logs in within a couple of minutes,
and each log-in starts a server (JupyterLab) for that student: about 2.4
CPU-seconds each (``make benchmark-hub``). On a machine with two cores sixty
of those at once queue up for a minute or more before the first student sees
the lesson. Started beforehand, a few at a time, the servers are ready when
the students arrive, and the seminar's CPU goes to the lessons alone
(docs/drift.md, «Seminaret», has the figures).

Run by root (or a timer, docs/drift.md) on the class server, before the
seminar but no earlier than the idle limit (SAMSKAPING_STOPP_UBRUKT, an hour)
before it: a started server counts as used from its start, and the idle
culler stops it once nobody has used it for that long. It talks to the hub's
REST API with the token of the hub's service «forhandsstart»
(deploy/jupyterhub_config.py), which may list the users and start their
servers and nothing else; the token is in the hub's state folder, readable
by root only.

Who: the accounts in the students' Unix group (SAMSKAPING_STUDENTER) that the
hub knows, that is those who have logged in before (or, with a list of
allowed users, all of them). A student the hub does not know yet gets a
server at their first log-in, as before. Servers already running are left
alone. At most ``--samtidig`` servers start at once, so the machine stays
responsive for those already working.

Settings come from the same environment as the hub's (SAMSKAPING_HUB_PORT,
SAMSKAPING_HUB_STATE, SAMSKAPING_STUDENTER); ``--hub`` overrides the address.
The exit code is 0 when every server it started is ready, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import requests

from course.hubauth import members

READY_TIMEOUT = 300  # seconds a started server may take, as the hub's own http_timeout


@dataclass
class Outcome:
    started: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class Hub:
    """The hub's REST API with the service's token (plain requests, one connection per call: used from threads)."""

    def __init__(self, url: str, token: str) -> None:
        self.api = url.rstrip("/") + "/hub/api"
        self.headers = {"Authorization": f"token {token}"}

    def users(self) -> dict[str, dict]:
        """Every user the hub knows, with their servers, page by page."""
        found: dict[str, dict] = {}
        offset = 0
        while True:
            reply = requests.get(f"{self.api}/users", params={"offset": offset, "limit": 200}, timeout=60,
                                 headers={**self.headers, "Accept": "application/jupyterhub-pagination+json"})
            reply.raise_for_status()
            page = reply.json()
            for user in page["items"]:
                found[user["name"]] = user
            following = (page.get("_pagination") or {}).get("next")
            if not following:
                return found
            offset = following["offset"]

    def start(self, name: str) -> str | None:
        """Ask for ``name``'s server; None when asked, otherwise why not.

        The hub answers when the server is up if that takes less than its
        slow_spawn_timeout (10 s), so this call can take that long.
        """
        reply = requests.post(f"{self.api}/users/{name}/server", headers=self.headers, timeout=120)
        if reply.status_code in (201, 202):
            return None
        if reply.status_code == 400 and "already running" in reply.text:
            return None
        return f"huben svarte {reply.status_code}: {reply.text[:200]}"

    def state(self, name: str) -> str:
        """«klar», «starter» or «stoppet» (a start that failed ends stopped)."""
        reply = requests.get(f"{self.api}/users/{name}", headers=self.headers, timeout=60)
        reply.raise_for_status()
        server = reply.json().get("servers", {}).get("")
        if not server:
            return "stoppet"
        return "klar" if server.get("ready") else "starter"


def start_one(hub: Hub, name: str) -> tuple[str, str | None, float]:
    """Start ``name``'s server and wait until it is ready: (name, why it failed or None, seconds)."""
    asked = time.monotonic()
    why = hub.start(name)
    while why is None:
        state = hub.state(name)
        if state == "klar":
            break
        if state == "stoppet":
            why = "serveren startet ikke (se loggen til huben)"
        elif time.monotonic() - asked > READY_TIMEOUT:
            why = f"ikke klar etter {READY_TIMEOUT} s"
        else:
            time.sleep(0.5)  # the poll interval; the server's state is what is waited for
    return name, why, time.monotonic() - asked


def start_servers(hub: Hub, names: list[str], at_once: int, say=print) -> Outcome:
    """Start the servers of ``names`` the hub knows and are not running, ``at_once`` at a time; wait for each."""
    began = time.monotonic()
    outcome = Outcome()
    known = hub.users()
    waiting: list[str] = []
    for name in names:
        user = known.get(name)
        if user is None:
            outcome.unknown.append(name)
        elif user.get("servers", {}).get(""):
            outcome.running.append(name)
        else:
            waiting.append(name)
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        for future in as_completed([pool.submit(start_one, hub, name) for name in waiting]):
            name, why, seconds = future.result()
            if why:
                outcome.failed[name] = why
            else:
                outcome.started.append(name)
                say(f"  {name}: klar etter {seconds:.0f} s ({len(outcome.started)} av {len(waiting)})")
    outcome.seconds = time.monotonic() - began
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start studentenes servere før et seminar.")
    port = os.environ.get("SAMSKAPING_HUB_PORT", "8000")
    parser.add_argument("--hub", default=f"http://127.0.0.1:{port}", help="adressen til huben (%(default)s)")
    parser.add_argument("--samtidig", type=int, default=4, help="hvor mange servere som starter samtidig (%(default)s)")
    args = parser.parse_args(argv)
    if args.samtidig < 1:
        parser.error("--samtidig må være minst 1")
    state = Path(os.environ.get("SAMSKAPING_HUB_STATE", "/var/lib/samskaping-kurs/hub"))
    token_file = state / "forhandsstart.token"
    try:
        token = token_file.read_text().strip()
    except FileNotFoundError:
        sys.exit(f"Fant ikke {token_file}. Huben lager den når den starter; start huben først "
                 "(og kjør dette som root, med de samme SAMSKAPING_-innstillingene som huben).")
    except PermissionError:
        sys.exit(f"Får ikke lese {token_file}. Kjør dette som root (sudo).")
    names = sorted(members(os.environ.get("SAMSKAPING_STUDENTER", "samskaping-studenter")))
    print(f"Starter serverne til studentene i forkant, {args.samtidig} om gangen ...")
    try:
        outcome = start_servers(Hub(args.hub, token), names, args.samtidig)
    except requests.RequestException as error:
        sys.exit(f"Fikk ikke kontakt med huben på {args.hub}: {error}. Kjører huben, og er adressen riktig (--hub)?")
    print(f"Ferdig på {outcome.seconds:.0f} s: {len(outcome.started)} startet, {len(outcome.running)} kjørte fra før, "
          f"{len(outcome.unknown)} har ikke logget inn ennå (de får serveren sin når de logger inn).")
    for name, why in sorted(outcome.failed.items()):
        print(f"  Ikke startet: {name}: {why}", file=sys.stderr)
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
