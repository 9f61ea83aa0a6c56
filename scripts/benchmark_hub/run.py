"""The command line, and the frame every scenario runs in.

The frame: check that this is the class server (root, the class-server
environment), set up the class, run the scenario, and clean up whatever
happens (Ctrl+C and SIGTERM included): the hub by its pid with its proxy and
servers, the PostgreSQL cluster, /srv/<tag>, the accounts and their processes.
Then the scenario's report, the JSON (with the hub log beside it), and the exit
code: 1 if a check failed or a student failed, 2 if this is not a class server.

A scenario is a module with ``add_arguments(group)``, ``check_arguments(parser,
args)``, ``run(klasse, args, stop, result, failures, log_marks)`` and
``report(result, args)``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import psutil

from unix import skip_unless_class_server

from . import frist, seminar
from .klasse import BenchClass
from .measure import GIB, free_m
from .report import hub_log_summary

SCENARIOS = {"frist": frist, "seminar": seminar}


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmark_hub.py",
        description="Belastningstest av kursserveren: N ekte studenter gjennom en ekte JupyterHub samtidig "
                    "(kjøres som root). frist: alle henter og leverer oppgave_01 samtidig. seminar: studentene "
                    "kommer etter hvert, henter leksjonene med lenken, kjører en leksjon og svarer på aktivitetene.",
    )
    parser.add_argument("--scenario", choices=SCENARIOS, default="frist",
                        help="hva studentene gjør (standard frist)")
    parser.add_argument("--studenter", type=int, default=30, metavar="N", help="antall studentkontoer (standard 30)")
    parser.add_argument("--json", type=Path, metavar="FIL",
                        help="hvor tallene skrives som JSON (standard /tmp/benchmark-hub-<tid>.json for frist, "
                             "/tmp/benchmark-hub-seminar-<tid>.json for seminar); hubloggen legges ved siden av")
    for name, module in SCENARIOS.items():
        module.add_arguments(parser.add_argument_group(f"--scenario {name}"))
    args = parser.parse_args(argv)
    if args.studenter < 1:
        parser.error("--studenter må være minst 1")
    SCENARIOS[args.scenario].check_arguments(parser, args)
    if args.json is None:
        kind = "" if args.scenario == "frist" else f"-{args.scenario}"
        args.json = Path(f"/tmp/benchmark-hub{kind}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    scenario = SCENARIOS[args.scenario]
    try:
        skip_unless_class_server()
    except BaseException as why:  # pytest's Skipped: not root, or no class-server environment
        print(f"benchmark-hub kan ikke kjøres her: {why}", file=sys.stderr)
        return 2

    # Ctrl+C and SIGTERM both end in the clean-up below.
    def interrupted(*_):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, interrupted)
    stop = threading.Event()
    result: dict = {"scenario": args.scenario, "n": args.studenter,
                    "started": dt.datetime.now().isoformat(timespec="seconds"),
                    "machine": {"cores": os.cpu_count(), "ram_gib": round(psutil.virtual_memory().total / GIB, 1),
                                "load_at_start": os.getloadavg()}}
    print(f"Maskin: {os.cpu_count()} kjerner, {psutil.virtual_memory().total / GIB:.1f} GiB minne, "
          f"lastsnitt {'/'.join(f'{x:.2f}' for x in os.getloadavg())} ved start")
    result["free_before"] = free_m()
    klasse = BenchClass(args.studenter)
    failures: list[str] = []
    log_marks: dict[str, int] = {}
    try:
        t = time.monotonic()
        klasse.set_up()
        result["setup_seconds"] = time.monotonic() - t
        print(f"Klassen er satt opp på {result['setup_seconds']:.0f} s: {args.studenter} studenter "
              f"({klasse.accounts.tag}s001 ...), huben på {klasse.hub.url}, PostgreSQL på {klasse.postgres.socket}")
        scenario.run(klasse, args, stop, result, failures, log_marks)
        result["machine"]["load_at_end"] = os.getloadavg()
        result["free_after"] = free_m()
    except KeyboardInterrupt:
        failures.append("interrupted")
        print("\nAvbrutt: rydder opp ...", file=sys.stderr)
    except Exception:
        failures.append(f"the benchmark stopped:\n{traceback.format_exc()}")
        print(f"\nMålingen stoppet: rydder opp ...\n{traceback.format_exc()}", file=sys.stderr)
    finally:
        stop.set()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the clean-up runs to its end
        try:
            if klasse.hub is not None:
                result["hub_log"] = hub_log_summary(klasse.hub.log_path, log_marks)
                shutil.copyfile(klasse.hub.log_path, args.json.with_suffix(".hub.log"))
        except Exception:
            result["hub_log"] = {"unreadable": traceback.format_exc()}
        t = time.monotonic()
        try:
            klasse.tear_down()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        result["teardown_seconds"] = time.monotonic() - t

    result["failures"] = failures
    scenario.report(result, args)
    args.json.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    print(f"\nTallene er skrevet til {args.json}")
    if failures:
        print(f"\nFEILET ({len(failures)}):", *failures[:40], sep="\n  ")
        return 1
    print("Alle kontrollene holdt.")
    return 0
