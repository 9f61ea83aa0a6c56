"""``course report``: item analysis per exercise and graded cell, plots, and a grade export for an LMS."""

from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .common import CourseError, gradebook_url, open_gradebook, shown_url

KEY_FILE = ".pseudonymnokkel"


@dataclass
class CellStats:
    cell: str
    max_score: float
    scores: list[float] = field(default_factory=list)  # one per submission with a score for this cell
    pending: int = 0                                    # submissions still waiting for a manual grade

    @property
    def mean(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def share_full(self) -> float | None:
        """Share of graded submissions with full marks on this cell (the item's facility)."""
        return sum(s >= self.max_score for s in self.scores) / len(self.scores) if self.scores else None

    @property
    def distribution(self) -> dict[float, int]:
        return dict(sorted(Counter(self.scores).items()))


@dataclass
class AssignmentStats:
    assignment: str
    max_score: float
    totals: dict[str, float] = field(default_factory=dict)  # student -> score after late penalty
    cells: list[CellStats] = field(default_factory=list)


def _graded(submission) -> bool:
    """Has autograde produced scores for this submission (a failed submission has none)?"""
    return any(g.auto_score is not None or g.manual_score is not None
               for nb in submission.notebooks for g in nb.grades)


def _score(submission) -> float:
    return max(0.0, float(submission.score) - float(submission.late_submission_penalty or 0))


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of an SQLite gradebook that does not exist yet (opening it would create an empty one), else None."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return None
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).is_file():
        return Path(parsed.database)
    return None


def collect_stats(root: Path) -> list[AssignmentStats]:
    url = gradebook_url(root)
    missing = _missing_sqlite_file(url)
    if missing:
        raise CourseError(f"Fant ingen karakterbok ({missing}). Kjør `course grade oppgave_NN` først.")
    result = []
    with open_gradebook(root, url) as gb:
        if not gb.assignments:
            raise CourseError(f"Karakterboken ({shown_url(url)}) har ingen oppgaver ennå. "
                              "Kjør `course grade oppgave_NN` først.")
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            stats = AssignmentStats(assignment.name, float(assignment.max_score))
            cells: dict[str, CellStats] = {}
            for notebook in assignment.notebooks:
                for cell in sorted(notebook.grade_cells + notebook.task_cells, key=lambda c: c.id):
                    cells[cell.name] = CellStats(cell.name, float(cell.max_score))
            for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                if not _graded(submission):
                    continue
                stats.totals[submission.student.id] = _score(submission)
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        item = cells.setdefault(grade.name, CellStats(grade.name, float(grade.max_score)))
                        if grade.manual_score is None and (grade.needs_manual_grade or grade.auto_score is None):
                            item.pending += 1
                        else:
                            item.scores.append(float(grade.score))
            stats.cells = _in_notebook_order(root, assignment.name, cells)
            result.append(stats)
    return result


def _in_notebook_order(root: Path, assignment: str, cells: dict[str, CellStats]) -> list[CellStats]:
    """The cells in the order students meet them (the source notebook), unknown ones last."""
    import nbformat

    order = []
    source = root / "solutions" / assignment / f"{assignment}.ipynb"
    if source.is_file():
        for cell in nbformat.read(source, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in cells and grade_id not in order:
                order.append(grade_id)
    order += [name for name in cells if name not in order]
    return [cells[name] for name in order]


def _n(value: float | None, pattern: str = "{:g}") -> str:
    return "–" if value is None else pattern.format(value)


def format_stats(stats: AssignmentStats) -> str:
    totals = sorted(stats.totals.values())
    lines = [f"## {stats.assignment} ({len(totals)} rettede innleveringer, maks {stats.max_score:g} poeng)", ""]
    if totals:
        mean = sum(totals) / len(totals)
        median = totals[len(totals) // 2] if len(totals) % 2 else (totals[len(totals) // 2 - 1] + totals[len(totals) // 2]) / 2
        lines.append(f"Snitt {mean:.1f} poeng, median {median:g}, lavest {totals[0]:g}, høyest {totals[-1]:g}.")
        dist = ", ".join(f"{score:g} p: {count}" for score, count in sorted(Counter(totals).items()))
        lines.append(f"Fordeling av totalpoeng (poeng: antall studenter): {dist}.")
        lines.append("")
    lines.append("| Celle | Maks | Rettet | Snitt | Andel med full pott | Fordeling (poeng: antall) | Venter på vurdering |")
    lines.append("|---|---|---|---|---|---|---|")
    for cell in stats.cells:
        dist = ", ".join(f"{score:g}: {count}" for score, count in cell.distribution.items()) or "–"
        lines.append(f"| {cell.cell} | {cell.max_score:g} | {len(cell.scores)} | {_n(cell.mean, '{:.2f}')} | "
                     f"{_n(None if cell.share_full is None else cell.share_full * 100, '{:.0f} %')} | {dist} | {cell.pending} |")
    hard = [c for c in stats.cells if c.share_full is not None and c.share_full < 0.5]
    lines.append("")
    if hard:
        lines.append("Under halvparten fikk full pott på: " + ", ".join(c.cell for c in hard)
                     + ". Dette er ideer klassen ikke har fått tak i ennå; ta dem opp igjen i undervisningen.")
    else:
        lines.append("Minst halvparten fikk full pott på hver celle.")
    return "\n".join(lines)


def plot_stats(stats: AssignmentStats):
    """A figure with the distribution of total scores and the share with full marks per cell."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.5))
    left, right = fig.subplots(1, 2)
    totals = list(stats.totals.values())
    counts = Counter(totals)
    left.bar([f"{s:g}" for s in sorted(counts)], [counts[s] for s in sorted(counts)], color="#0072B2")
    left.set_title(f"{stats.assignment}: totalpoeng")
    left.set_xlabel(f"Poeng (maks {stats.max_score:g})")
    left.set_ylabel("Antall studenter")
    graded = [c for c in stats.cells if c.share_full is not None]
    right.barh([c.cell for c in graded], [c.share_full * 100 for c in graded], color="#009E73")
    right.invert_yaxis()
    right.set_xlim(0, 100)
    right.set_title("Andel med full pott per celle")
    right.set_xlabel("Prosent av de rettede")
    fig.tight_layout()
    return fig


def pseudonym(student_id: str, key: bytes) -> str:
    """A stable pseudonym: the same student and key always give the same one; without the key it cannot be reversed."""
    return "p-" + hmac.new(key, student_id.encode("utf-8"), hashlib.sha256).hexdigest()[:10]


def pseudonym_key(root: Path) -> bytes:
    path = root / KEY_FILE
    if not path.is_file():
        path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip().encode("ascii")


def export_csv(root: Path, target: Path, *, names: bool = True, pseudonymise: bool = False) -> int:
    """One row per student, one column per exercise (score after late penalty), plus the total; returns the row count."""
    with open_gradebook(root) as gb:
        assignments = sorted(a.name for a in gb.assignments)
        rows = []
        for student in sorted(gb.students, key=lambda s: s.id):
            scores = {}
            for submission in student.submissions:
                if _graded(submission):
                    scores[submission.assignment.name] = _score(submission)
            rows.append((student, scores))
        key = pseudonym_key(root) if pseudonymise else b""
        header = ["pseudonym" if pseudonymise else "student_id"]
        if names and not pseudonymise:
            header += ["fornavn", "etternavn", "epost"]
        header += assignments + ["totalt"]
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for student, scores in rows:
                row = [pseudonym(student.id, key) if pseudonymise else student.id]
                if names and not pseudonymise:
                    row += [student.first_name or "", student.last_name or "", student.email or ""]
                row += [f"{scores[a]:g}" if a in scores else "" for a in assignments]
                row.append(f"{sum(scores.values()):g}")
                writer.writerow(row)
    return len(rows)


def run_report(root: Path, folder: Path, csv_path: Path, *, names: bool = True, pseudonymise: bool = False) -> str:
    all_stats = collect_stats(root)
    folder.mkdir(parents=True, exist_ok=True)
    parts = ["# Rapport: poengfordeling og analyse av hver celle", ""]
    for stats in all_stats:
        text = format_stats(stats)
        parts += [text, ""]
        if stats.totals:
            fig = plot_stats(stats)
            png = folder / f"{stats.assignment}.png"
            fig.savefig(png, dpi=100)
            parts += [f"![Fordelingen av poeng i {stats.assignment}; tallene står i tabellen over.]({png.name})", ""]
        with (folder / f"{stats.assignment}_celler.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["celle", "maks", "rettet", "snitt", "andel_full_pott", "venter_paa_vurdering"])
            for cell in stats.cells:
                writer.writerow([cell.cell, f"{cell.max_score:g}", len(cell.scores),
                                 "" if cell.mean is None else f"{cell.mean:.3f}",
                                 "" if cell.share_full is None else f"{cell.share_full:.3f}", cell.pending])
    (folder / "rapport.md").write_text("\n".join(parts), encoding="utf-8")
    rows = export_csv(root, csv_path, names=names, pseudonymise=pseudonymise)
    parts.append(f"Rapporten er lagret i {folder}/ (rapport.md, figurer og tabeller).")
    parts.append(f"Karakterene ({rows} studenter) er eksportert til {csv_path}.")
    return "\n".join(parts)
