"""ipywidgets views over the models in :mod:`course.models`.

A widget builds its children and wires them to its model; it never calls
``display()`` itself, so a test can create it, set values, click and read the
feedback. In a notebook the widget is the last expression of a cell::

    from course.widgets import activity
    activity("samarbeid_eller_samskaping")
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from course import loader, models

# Colour is never the only signal: every verdict also has a symbol and a word.
# The two colours are from the Okabe-Ito palette, safe for colour-blind readers.
RIGHT_COLOUR = "#0072B2"
WRONG_COLOUR = "#D55E00"


def _feedback_html(feedback: models.Feedback | None) -> str:
    if feedback is None:
        return ""
    colour, symbol = (RIGHT_COLOUR, "✔") if feedback.correct else (WRONG_COLOUR, "✘")
    return (
        f'<div role="status" style="border-left: 4px solid {colour}; padding-left: 0.5em;">'
        f'<span aria-hidden="true" style="color: {colour};">{symbol}</span> {html.escape(feedback.message)}</div>'
    )


class MultipleChoiceWidget(widgets.VBox):
    """A multiple-choice question that explains every option when checked."""

    def __init__(self, question: models.MultipleChoice):
        self.model = question
        self.prompt = widgets.HTML(f"<p><strong>{html.escape(question.question)}</strong></p>")
        self.choice = widgets.RadioButtons(
            options=[(option.text, i) for i, option in enumerate(question.options)],
            value=None,
            description="Svar:",
            layout=widgets.Layout(width="100%"),
        )
        self.check = widgets.Button(description="Sjekk svaret", button_style="primary", tooltip="Sjekk svaret")
        self.feedback = widgets.HTML()
        self.check.on_click(self._show_feedback)
        super().__init__([self.prompt, self.choice, self.check, self.feedback])

    @classmethod
    def from_content(cls, entry_id: str) -> MultipleChoiceWidget:
        return cls(loader.get(entry_id, models.MultipleChoice))

    def _show_feedback(self, _button=None) -> None:
        self.feedback.value = _feedback_html(self.model.check(self.choice.value))


class SortingWidget(widgets.VBox):
    """Sort short cases into categories, with an explanation for every case."""

    def __init__(self, task: models.SortingTask):
        self.model = task
        header = widgets.HTML(
            f"<h4>{html.escape(task.title)}</h4><p>{html.escape(task.instructions)}</p>"
        )
        self.choices: list[widgets.Dropdown] = []
        self.case_feedback: list[widgets.HTML] = []
        rows = []
        for number, case in enumerate(task.cases, start=1):
            text = widgets.HTML(f"<p><strong>Sak {number}.</strong> {html.escape(case.text)}</p>")
            choice = widgets.Dropdown(
                options=[("Velg kategori", None), *[(c, c) for c in task.categories]],
                index=0,  # shows "Velg kategori"; value=None would show an empty box
                description=f"Sak {number}:",
            )
            feedback = widgets.HTML()
            self.choices.append(choice)
            self.case_feedback.append(feedback)
            rows.append(widgets.VBox([text, choice, feedback]))
        self.check = widgets.Button(description="Sjekk svarene", button_style="primary", tooltip="Sjekk svarene")
        self.summary = widgets.HTML()
        self.check.on_click(self._show_feedback)
        super().__init__([header, *rows, self.check, self.summary])

    @classmethod
    def from_content(cls, entry_id: str) -> SortingWidget:
        return cls(loader.get(entry_id, models.SortingTask))

    def _show_feedback(self, _button=None) -> None:
        result = self.model.check([choice.value for choice in self.choices])
        for widget, feedback in zip(self.case_feedback, result.feedback):
            widget.value = _feedback_html(feedback)
        self.summary.value = f'<p role="status"><strong>{html.escape(result.summary)}</strong></p>'


def _summary_html(result: models.SortingResult) -> str:
    return f'<p role="status"><strong>{html.escape(result.summary)}</strong></p>'


class MatchingTableWidget(widgets.VBox):
    """A table to fill in: one dropdown per cell, with an explanation for every cell when checked."""

    def __init__(self, table: models.MatchingTable):
        self.model = table
        header = widgets.HTML(f"<h4>{html.escape(table.title)}</h4><p>{html.escape(table.instructions)}</p>")
        self.choices: list[list[widgets.Dropdown]] = []
        self.cell_feedback: list[list[widgets.HTML]] = []
        rows = []
        for row in table.rows:
            row_choices, row_feedback, children = [], [], [widgets.HTML(f"<p><strong>{html.escape(row.name)}</strong></p>")]
            for column in table.columns:
                choice = widgets.Dropdown(
                    options=[("Velg", None), *[(o, o) for o in column.options]],
                    index=0,
                    description=column.title,
                    style={"description_width": "initial"},
                    layout=widgets.Layout(width="100%"),
                )
                feedback = widgets.HTML()
                row_choices.append(choice)
                row_feedback.append(feedback)
                children += [choice, feedback]
            self.choices.append(row_choices)
            self.cell_feedback.append(row_feedback)
            rows.append(widgets.VBox(children))
        self.check = widgets.Button(description="Sjekk svarene", button_style="primary", tooltip="Sjekk svarene")
        self.summary = widgets.HTML()
        self.check.on_click(self._show_feedback)
        super().__init__([header, *rows, self.check, self.summary])

    def _show_feedback(self, _button=None) -> None:
        result = self.model.check([[c.value for c in row] for row in self.choices])
        flat = [w for row in self.cell_feedback for w in row]
        for widget, feedback in zip(flat, result.feedback):
            widget.value = _feedback_html(feedback)
        self.summary.value = _summary_html(result)


class LadderWidget(widgets.VBox):
    """Place scenarios on a participation ladder: the ladder as a table, then one vertical list of rungs per scenario."""

    def __init__(self, task: models.LadderTask):
        self.model = task
        numbered = list(enumerate(task.rungs, start=1))
        has_groups = any(r.group for r in task.rungs)
        head = "<th>Trinn</th><th>Navn</th>" + ("<th>Gruppe</th>" if has_groups else "") + "<th>Kjennetegn</th>"
        body = "".join(
            f"<tr><td>{n}</td><td>{html.escape(r.name)}</td>"
            + (f"<td>{html.escape(r.group)}</td>" if has_groups else "")
            + f"<td>{html.escape(r.description)}</td></tr>"
            for n, r in reversed(numbered)
        )
        caption = html.escape(f"{task.ladder}, fra øverste til nederste trinn")
        header = widgets.HTML(
            f"<h4>{html.escape(task.title)}</h4><p>{html.escape(task.instructions)}</p>"
            f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
        labels = [
            (f"{n}. {r.name}" + (f" ({r.group})" if r.group else ""), n) for n, r in reversed(numbered)
        ]
        self.choices: list[widgets.RadioButtons] = []
        self.case_feedback: list[widgets.HTML] = []
        rows = []
        for number, scenario in enumerate(task.scenarios, start=1):
            text = widgets.HTML(f"<p><strong>Sak {number}.</strong> {html.escape(scenario.text)}</p>")
            choice = widgets.RadioButtons(options=labels, value=None, description=f"Sak {number}:", layout=widgets.Layout(width="100%"))
            feedback = widgets.HTML()
            self.choices.append(choice)
            self.case_feedback.append(feedback)
            rows.append(widgets.VBox([text, choice, feedback]))
        self.check = widgets.Button(description="Sjekk svarene", button_style="primary", tooltip="Sjekk svarene")
        self.summary = widgets.HTML()
        self.check.on_click(self._show_feedback)
        super().__init__([header, *rows, self.check, self.summary])

    def _show_feedback(self, _button=None) -> None:
        result = self.model.check([c.value for c in self.choices])
        for widget, feedback in zip(self.case_feedback, result.feedback):
            widget.value = _feedback_html(feedback)
        self.summary.value = _summary_html(result)

class EstimateWidget(widgets.VBox):
    """Type a guess first, then see the real figure and how close the guess was."""

    def __init__(self, estimate: models.Estimate):
        self.model = estimate
        self.prompt = widgets.HTML(f"<p><strong>{html.escape(estimate.question)}</strong></p>")
        self.guess = widgets.Text(
            value="",
            placeholder="Skriv et tall",
            description="Ditt anslag:",
            style={"description_width": "initial"},
        )
        self.unit = widgets.HTML(html.escape(estimate.unit))
        self.check = widgets.Button(description="Se det riktige tallet", button_style="primary", tooltip="Se det riktige tallet")
        self.feedback = widgets.HTML()
        self.check.on_click(self._show_feedback)
        super().__init__([self.prompt, widgets.HBox([self.guess, self.unit]), self.check, self.feedback])

    @classmethod
    def from_content(cls, entry_id: str) -> EstimateWidget:
        return cls(loader.get(entry_id, models.Estimate))

    def _show_feedback(self, _button=None) -> None:
        text = self.guess.value.strip()
        try:
            feedback = self.model.check(models.parse_number(text) if text else None)
        except ValueError as exc:  # not a number, or off the scale: say what to do
            feedback = models.Feedback(False, str(exc))
        self.feedback.value = _feedback_html(feedback)


_VIEWS = {
    models.Estimate: EstimateWidget,
    models.MultipleChoice: MultipleChoiceWidget,
    models.SortingTask: SortingWidget,
    models.MatchingTable: MatchingTableWidget,
    models.LadderTask: LadderWidget,
}


def activity(entry_id: str) -> widgets.Widget:
    """The interactive widget for the activity with this id in the content files."""
    entry = loader.get(entry_id)
    view = _VIEWS.get(type(entry))
    if view is None:
        raise TypeError(f"«{entry_id}» er ikke en aktivitet (det er et begrep eller annet innhold).")
    return view(entry)
