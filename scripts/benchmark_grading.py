"""Benchmark: plain sequential `nbgrader autograde` against the course's grader, on the same submissions.

    .venv/bin/python scripts/benchmark_grading.py [--n 40] [--workers 2] [--assignment oppgave_01]

Builds a throw-away copy of the course in a temporary folder, fills N
submissions (the solution's answers, as a student would type them), and grades
them three ways in one run:

1. plain nbgrader: `nbgrader autograde <assignment>` in one process, with
   nbgrader 0.9.6's own pipeline (no sandbox; the course's other settings);
2. the course's grader: `autograde_submissions(workers=...)`, sandbox on;
3. the floor: starting a bare kernel and stopping it, once per submission.

It prints seconds per submission for each, the speed-up over plain nbgrader and
the distance to the floor, and checks that both graders gave the same scores.
Not a test: timings depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

PLAIN_PIPELINE = """
# The benchmark's baseline: nbgrader's own autograde pipeline, without the course's sandbox.
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
"""


def nbgrader(root: Path, *args: str) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "JUPYTER_PLATFORM_DIRS": "1"}
    subprocess.run([str(BIN / "nbgrader"), *args], cwd=root, env=env, check=True, capture_output=True)


def make_course(base: Path, assignment: str, n: int, plain: bool) -> tuple[Path, list[str]]:
    import nbformat

    sys.path.insert(0, str(ROOT / "tests"))
    from corpus import _answered  # the same filling as the tests

    root = base / ("vanlig" if plain else "kurs")
    root.mkdir()
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    (root / "nbgrader_config.py").write_text(config + (PLAIN_PIPELINE if plain else ""), encoding="utf-8")
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nbgrader(root, "generate_assignment", assignment, "--force")
    release = nbformat.read(root / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    solution = nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    students = [f"student_{i:03d}" for i in range(1, n + 1)]
    for i, student in enumerate(students):
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n")
        nbformat.write(_answered(release, solution, answer=i % 4 != 3), folder / f"{assignment}.ipynb")
    return root, students


def scores(root: Path) -> dict[str, float]:
    con = sqlite3.connect(root / "gradebook.db")
    return dict(
        con.execute(
            "select a.student_id, sum(g.auto_score) from grade g join submitted_notebook n on g.notebook_id = n.id "
            "join submitted_assignment a on n.assignment_id = a.id group by a.student_id"
        ).fetchall()
    )


async def kernel_floor(n: int) -> float:
    """Seconds to start a bare kernel, wait until it answers, and stop it, n times."""
    from jupyter_client.manager import AsyncKernelManager

    start = time.perf_counter()
    for _ in range(n):
        km = AsyncKernelManager(kernel_name="python3")
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40, help="submissions (default 40)")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers for the course's grader (default 2)")
    parser.add_argument("--assignment", default="oppgave_01")
    args = parser.parse_args()

    from course.instructor.autograde import autograde_submissions

    print(f"Machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="benchmark-") as tmp:
        base = Path(tmp)
        plain_root, students = make_course(base, args.assignment, args.n, plain=True)
        course_root, _ = make_course(base, args.assignment, args.n, plain=False)

        t = time.perf_counter()
        nbgrader(plain_root, "autograde", args.assignment)
        plain = time.perf_counter() - t

        t = time.perf_counter()
        outcomes = autograde_submissions(course_root, args.assignment, students, workers=args.workers)
        ours = time.perf_counter() - t

        floor = asyncio.run(kernel_floor(args.n))

        not_ok = [o for o in outcomes if o.status != "ok"]
        same = scores(plain_root) == scores(course_root)

    n = args.n
    print(f"Submissions: {n} of {args.assignment}; load average {os.getloadavg()[0]:.1f} at the end")
    print(f"plain nbgrader autograde (sequential, no sandbox): {plain / n:6.2f} s per submission ({plain:.1f} s)")
    print(f"course grader (workers={args.workers}, sandbox on):     {ours / n:6.2f} s per submission ({ours:.1f} s)")
    print(f"floor: start and stop a bare kernel:               {floor / n:6.2f} s per submission ({floor:.1f} s)")
    print(f"speed-up over plain nbgrader: {plain / ours:.2f}x (aim: at least 1.6x)")
    print(f"course grader against the floor: {ours / floor:.2f}x (aim: at most 2x)")
    print(f"same scores from both graders: {'yes' if same else 'NO'}; flagged by the course grader: {len(not_ok)}")
    if not same or not_ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
