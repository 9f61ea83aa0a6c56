"""Benchmarks of the class server: N real students work through a real JupyterHub at once.

    sudo make benchmark-hub HUB_BENCH_ARGS="--scenario frist --studenter 30 --json /tmp/frist.json"
    sudo make benchmark-hub HUB_BENCH_ARGS="--scenario seminar --studenter 60 --vindu 120 --json /tmp/seminar.json"
    sudo .venv/bin/python scripts/benchmark_hub.py --help

Run as root: a run sets up a class the way tests/test_hub.py does (its
``Klasse``: real Unix accounts made by deploy/add-accounts.sh,
deploy/setup-server.sh, a PostgreSQL cluster of its own, the hub from
deploy/jupyterhub_config.py) with N student accounts, all under one unique tag,
and removes everything again at the end, also on failure or Ctrl+C (the hub by
its pid, the cluster, /srv/<tag>, the accounts and their processes).

Each student is a thread that behaves as a browser would (the hub's log-in
form, the spawn-pending page's progress stream, JupyterLab's API calls, the
kernel's websocket), retrying what a busy server refuses as a student clicking
again would. The scenarios:

- ``frist`` (the default): the deadline. All log in, fetch, answer and submit
  oppgave_01 at once; then ``course grade`` and the checks that nothing was
  lost or mixed up; memory per server and what one machine holds.
- ``seminar``: a class working through a lesson. Students arrive over a window,
  pull the lessons with the course's nbgitpuller link, run the lesson's code
  and answer its first activities through the widgets' messages; the time from
  log-in to the first feedback and per answer, against the goals.

The modules, in the order they build on each other:

- ``klasse``: the class (test_hub's ``Klasse`` with N students of its own).
- ``browser``: one student's browser: requests, retry rules, log-in, spawn, JupyterLab.
- ``measure``: memory (RSS, USS, PSS), CPU, the processes of the hub and the
  servers, the proxy's routes, and the ``Sampler`` of the machine over time.
- ``report``: the figures as statistics, the hub log's summary, the capacity,
  and the printed reports (in Norwegian: the instructor reads them).
- ``frist``, ``seminar``: one scenario each: its steps, figures and checks.
- ``run``: the command line and the frame every scenario runs in (set-up,
  clean-up, JSON, exit code).

Not tests: the timings depend on the machine and on what else runs on it (the
load average is recorded).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# The hub tests' set-up (tests/test_hub.py, tests/hub.py, tests/unix.py, tests/postgres.py) is imported as it is.
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
