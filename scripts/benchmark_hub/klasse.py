"""The class a benchmark runs in: test_hub's ``Klasse`` with N student accounts of its own, under one tag."""

from __future__ import annotations

from test_hub import ASSIGNMENT, COURSE_ID, Klasse  # noqa: F401  (the hub tests' class set-up)
from unix import Accounts

# The kernel measured is one that has run this lesson's code: the heaviest (pandas, matplotlib, the charts).
LESSON = "02_offentlig_sektor_kan_ikke_lose_alt.ipynb"


class BenchClass(Klasse):
    """test_hub's class (instructor, grader, PostgreSQL, hub) with N students of its own, all under one tag."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.accounts = Accounts("b")
        self.n = n
        self.students: list[str] = []

    def set_up(self) -> "BenchClass":
        # Before the hub starts: it lets in the members the course's groups have when it starts.
        self.students = self.accounts.students([f"s{i:03d}" for i in range(1, self.n + 1)])
        return super().set_up()
