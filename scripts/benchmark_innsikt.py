"""Does the class overview slow the lesson's feedback when a whole class answers at once? Ratios, not seconds.

N student processes (60 by default) each build lesson 1's first multiple-choice
widget, wait at a barrier, and then all choose and press «Sjekk svaret» at
once; each records how long the click took to show its feedback. This runs
twice in the same run: first with nothing sent (the baseline: ``make lab``, or
a student who said no), then with every first try sent to the class-insight
service, which counts them in a real store. The script prints the median
and the 95th percentile of the feedback time for both, their ratio, and how
long the service took to count every answer.

The service is the real tornado application (course/instructor/innsikt_tjeneste.py) with
the real store (course/innsikt_lager.py) on SQLite in a temporary folder;
only the hub's authentication is replaced, by reading the user name from the
token (there is no hub here). On the class server the store is PostgreSQL and
the service checks each token with the hub once (the hub's client caches it).

    .venv/bin/python scripts/benchmark_innsikt.py [--students 60]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

ACTIVITY = "l01_repetisjon_1"


def student(index: int, url: str | None, barrier, results) -> None:
    """One student's process: import the lesson's widgets, wait for the others, answer, time the feedback."""
    if url:
        os.environ["SAMSKAPING_INNSIKT_URL"] = url
        os.environ["JUPYTERHUB_API_TOKEN"] = f"student{index}"
    os.environ["HOME"] = tempfile.mkdtemp(prefix="benk-")  # no choice file: sending allowed
    from course import innsikt
    from course.widgets import activity

    w = activity(ACTIVITY)
    barrier.wait()
    w.choice.value = index % len(w.model.options)
    start = time.perf_counter()
    w.check.click()
    feedback = time.perf_counter() - start
    assert w.feedback.value, "no feedback"
    innsikt.wait_for_sending()
    results.put((feedback, time.perf_counter() - start))


def run_class(n: int, url: str | None) -> tuple[list[float], list[float]]:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=student, args=(i, url, barrier, results)) for i in range(n)]
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return [g[0] for g in got], [g[1] for g in got]


def start_service(folder: Path):
    """The real service application, with the user name read from the token instead of asking a hub."""
    from tornado import web
    from tornado.httpserver import HTTPServer

    from course import innsikt_lager as lager
    from course.instructor import innsikt_tjeneste as tjeneste

    class BenchAnswer(tjeneste.Answer):
        def get_current_user(self):
            return {"name": self.request.headers["Authorization"].split()[-1], "scopes": []}

    store = lager.Store(f"sqlite:///{folder / 'innsikt.db'}", lager.read_key(folder))
    prefix = "/services/innsikt/"
    app = web.Application([(prefix + "api/svar", BenchAnswer)], prefix=prefix, store=store,
                          limiter=defaultdict(deque))
    ready, holder = threading.Event(), {}

    def serve() -> None:
        async def main() -> None:
            server = HTTPServer(app)
            server.listen(0, "127.0.0.1")
            holder["port"] = next(iter(server._sockets.values())).getsockname()[1]
            ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    threading.Thread(target=serve, daemon=True).start()
    ready.wait(timeout=30)
    return store, f"http://127.0.0.1:{holder['port']}/services/innsikt"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    args = parser.parse_args()
    n = args.students
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        store, url = start_service(Path(folder))
        base_feedback, _ = run_class(n, None)
        sent_feedback, sent_done = run_class(n, url)
        counted = store.counts().get(ACTIVITY)
    print(f"{n} studenter svarer samtidig (lastsnitt før start: {load[0]:.2f}, {os.cpu_count()} kjerner)")
    print(f"  tid til tilbakemelding, uten sending:  median {statistics.median(base_feedback) * 1000:.1f} ms, "
          f"p95 {p95(base_feedback) * 1000:.1f} ms")
    print(f"  tid til tilbakemelding, med sending:   median {statistics.median(sent_feedback) * 1000:.1f} ms, "
          f"p95 {p95(sent_feedback) * 1000:.1f} ms")
    print(f"  forhold med/uten sending: median {statistics.median(sent_feedback) / statistics.median(base_feedback):.2f}, "
          f"p95 {p95(sent_feedback) / p95(base_feedback):.2f}")
    print(f"  alle svar talt: {counted.answered if counted else 0} av {n}; siste svar framme etter "
          f"{max(sent_done) * 1000:.0f} ms (median {statistics.median(sent_done) * 1000:.0f} ms)")
    if not counted or counted.answered != n:
        sys.exit("Ikke alle svarene ble talt.")


if __name__ == "__main__":
    main()
