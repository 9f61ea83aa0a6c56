"""A corpus of bad submissions, generated from a real exercise so that it stays current.

``build_corpus`` writes one collected submission per case into
``<course>/submitted/<student>/<assignment>/`` (as ``nbgrader collect`` would)
and returns what each case must end with. Every case starts from the released
exercise (``exercises/``) answered like the solution, or left blank, and then
does one bad thing. Cells a case adds are plain code cells (no nbgrader
metadata), put before the first answer cell.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path

import nbformat

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass
class Expect:
    status: str  # "ok" | "review" | "failed"
    score: float | None = None  # autograded points expected (None for failed)
    reason: str = ""  # a part of the Norwegian reason


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def auto_points(nb) -> float:
    return sum(float(_meta(c).get("points", 0)) for c in nb.cells if _meta(c).get("grade") and not _meta(c).get("solution") and c.cell_type == "code")


def _answered(release, solution, answer: bool = True):
    """The released notebook with every answer cell answered like the solution (or left blank)."""
    nb = copy.deepcopy(release)
    if not answer:
        return nb
    sol = {_meta(c)["grade_id"]: c for c in solution.cells if _meta(c).get("solution")}
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        if _meta(cell).get("solution") and gid in sol and cell.cell_type == "code":
            cell.source = "\n".join(l for l in sol[gid].source.splitlines() if not any(m in l for m in SOLUTION_MARKERS))
    return nb


def _insert_code(nb, source: str):
    first_answer = next(i for i, c in enumerate(nb.cells) if _meta(c).get("solution") and c.cell_type == "code")
    nb.cells.insert(first_answer, nbformat.v4.new_code_cell(source))
    return nb


def _cheating(nb, code: str):
    """Every answer cell runs ``code`` after its blank answer, so that what it copies is what the tests see."""
    for cell in nb.cells:
        if _meta(cell).get("solution") and cell.cell_type == "code":
            cell.source += "\n" + code
    return nb


def _first_test_points(nb) -> float:
    """Points of the test cells that check the first answer (between it and the next answer cell)."""
    cells = nb.cells
    first = next(i for i, c in enumerate(cells) if _meta(c).get("solution") and c.cell_type == "code")
    total = 0.0
    for c in cells[first + 1 :]:
        if _meta(c).get("solution"):
            break
        if _meta(c).get("grade") and c.cell_type == "code":
            total += float(_meta(c).get("points", 0))
    return total


def cheat_code(course_root: Path, assignment: str) -> str:
    """Code that looks for the solution, the gradebook and another student's work, and copies answers from them."""
    targets = [
        f"../../../solutions/{assignment}/{assignment}.ipynb",
        f"{course_root}/solutions/{assignment}/{assignment}.ipynb",
        f"../../../source/{assignment}/{assignment}.ipynb",
        f"{course_root}/submitted/riktig/{assignment}/{assignment}.ipynb",
        f"{course_root}/autograded/riktig/{assignment}/{assignment}.ipynb",
    ]
    return f"""import json, sqlite3
funnet = []
for sti in {targets!r}:
    try:
        celler = json.load(open(sti, encoding="utf-8"))["cells"]
    except Exception as feil:
        print("fant ikke", sti, type(feil).__name__)
        continue
    funnet.append(sti)
    for celle in celler:
        if celle["cell_type"] == "code" and "svar_" in "".join(celle["source"]):
            try:
                exec("".join(celle["source"]))
            except Exception:
                pass
for db in ["../../../gradebook.db", "{course_root}/gradebook.db"]:
    try:
        sqlite3.connect("file:" + db + "?mode=ro", uri=True).execute("select * from student").fetchall()
        funnet.append(db)
    except Exception as feil:
        print("fant ikke", db, type(feil).__name__)
print("funnet:", funnet)
"""


def write_code(course_root: Path, assignment: str) -> str:
    """Code that tries to write outside its own folder."""
    targets = [
        f"{course_root}/hacket.txt",
        f"../../../solutions/{assignment}/hacket.txt",
        f"{course_root}/autograded/riktig/{assignment}/{assignment}.ipynb",
        f"{course_root}/gradebook.db",
        "/usr/hacket.txt",
    ]
    return f"""for sti in {targets!r}:
    try:
        open(sti, "w").write("hacket")
        print("skrev", sti)
    except Exception as feil:
        print("kunne ikke skrive", sti, type(feil).__name__)
"""


def build_corpus(course_root: Path, assignment: str, *, time_limit: float, cell_timeout: float) -> dict[str, Expect]:
    """Write every case's submission into submitted/ and return the expected outcomes.

    ``time_limit`` and ``cell_timeout`` are the caps the batch will run with: the
    case "treg" has cells that each sleep just under the cell timeout, so that
    only the cap on the whole notebook stops it.
    """
    assert cell_timeout >= 2, "the case \"treg\" needs cells that sleep at least a second"
    release = nbformat.read(course_root / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    solution = nbformat.read(course_root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    full = auto_points(solution)
    first = _first_test_points(release)
    right = lambda: _answered(release, solution)  # noqa: E731
    blank = lambda: _answered(release, solution, answer=False)  # noqa: E731

    cases: dict[str, tuple[object, Expect]] = {}

    def case(student: str, content, expect: Expect, extra: dict[str, bytes] | None = None):
        cases[student] = (content, expect, extra or {})

    case("riktig", right(), Expect("ok", full))
    case("tom", blank(), Expect("ok", 0))
    case("evig_lokke", _insert_code(right(), "while True:\n    pass"), Expect("review", full, "ble avbrutt"))
    case(
        "ignorerer_avbrudd",
        _insert_code(right(), "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        Expect("failed", None, "heller ikke da den ble avbrutt"),
    )
    nb = right()
    # Cells that each stay under the cell timeout, but together run past the cap on the notebook.
    slow_cell = cell_timeout - 1
    for _ in range(math.ceil((time_limit + 5) / slow_cell)):
        _insert_code(nb, f"import time\ntime.sleep({slow_cell:g})")
    case("treg", nb, Expect("failed", None, "tidsavbrudd"))
    case("dreper_kjernen", _insert_code(right(), "import os\nos._exit(1)"), Expect("failed", None, "kjernen stoppet"))
    case("minnebombe", _insert_code(right(), "blokker = [bytearray(10**8) for _ in range(10**4)]"), Expect("ok", full))
    # 50 times the bytes a cell may keep (sandbox.MAX_OUTPUT_BYTES), yet small enough to print well
    # inside the short cell timeout of the tests even on a loaded machine (50 MB took over 4 s there).
    case("stor_utskrift", _insert_code(right(), 'print("x" * 5_000_000)'), Expect("ok", full))
    nb = right()
    first_answer = next(c for c in nb.cells if _meta(c).get("solution") and c.cell_type == "code")
    first_answer.source += '\nsvar = "uten slutt'
    case("syntaksfeil", nb, Expect("ok", full - first))
    case("input", _insert_code(right(), 'navn = input("Hva heter du? ")'), Expect("ok", full))
    nb = right()
    test = next(c for c in nb.cells if _meta(c).get("grade") and not _meta(c).get("solution"))
    nb.cells.remove(test)
    case("slettet_test", nb, Expect("review", full, "låste celler"))
    nb = blank()
    for c in nb.cells:
        if _meta(c).get("grade") and c.cell_type == "code":
            c.source = "assert True"
    case("endret_test", nb, Expect("review", 0, "låste celler"))
    nb = blank()
    for c in nb.cells:
        if _meta(c).get("grade") and c.cell_type == "code":
            c.metadata["nbgrader"].update(solution=True, locked=False, grade=False)
            c.source = "pass"
    case("test_som_svar", nb, Expect("review", 0, "låste celler"))
    nb = right()
    for c in nb.cells:
        c["id"] = "samme-id"
    case("like_id", nb, Expect("review", full, "like celle-id"))
    case("nytt_navn", ("rename", right()), Expect("failed", None, "nytt navn"))
    case("mangler", ("none", None), Expect("failed", None, "notatboken mangler"))
    case("tom_fil", ("raw", b""), Expect("failed", None, "tom"))
    case("ikke_json", ("raw", b"Dette er ikke en notatbok.\n"), Expect("failed", None, "JSON"))
    case("ikke_utf8", ("raw", nbformat.writes(right()).encode("latin-1", "replace")), Expect("failed", None, "UTF-8"))
    case(
        "ekstra_filer",
        right(),
        Expect("ok", full),
        {"notater.txt": "Mine notater.\n".encode(), "data/tall.csv": b"a,b\n1,2\n", "nbgrader_config.py": b"c = get_config()\n"},
    )
    case(
        "skjuler_feil",
        _insert_code(
            blank(),
            "import sys\nip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
            "ip._showtraceback = lambda *a, **k: None\nsys.excepthook = lambda *a: None",
        ),
        Expect("review", 0, "mistenkelig"),
    )
    case("leser_fasit", _cheating(blank(), cheat_code(course_root, assignment)), Expect("ok", 0))
    case(
        "fasit_lenke",
        _cheating(blank(), cheat_code(course_root, assignment).replace(f"../../../solutions/{assignment}/{assignment}.ipynb", "fasit.json")),
        Expect("review", 0, "symbolske lenker"),
        {"fasit.json": ("symlink", course_root / "solutions" / assignment / f"{assignment}.ipynb")},
    )
    case("skriver_utenfor", _insert_code(right(), write_code(course_root, assignment)), Expect("ok", full))

    expected = {}
    for student, (content, expect, extra) in cases.items():
        folder = course_root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n")
        target = folder / f"{assignment}.ipynb"
        if isinstance(content, tuple):
            kind, value = content
            if kind == "rename":
                nbformat.write(value, folder / f"{assignment} (1).ipynb")
            elif kind == "raw":
                target.write_bytes(value)
        else:
            # json, not nbformat.write: nbformat would repair the duplicated cell ids of one case.
            target.write_text(json.dumps(content, ensure_ascii=False, indent=1), encoding="utf-8")
        for name, data in extra.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, tuple):
                path.symlink_to(data[1])
            else:
                path.write_bytes(data)
        expected[student] = expect
    return expected
