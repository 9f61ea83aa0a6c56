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
}


def activity(entry_id: str) -> widgets.Widget:
    """The interactive widget for the activity with this id in the content files."""
    entry = loader.get(entry_id)
    view = _VIEWS.get(type(entry))
    if view is None:
        raise TypeError(f"«{entry_id}» er ikke en aktivitet (det er et begrep eller annet innhold).")
    return view(entry)
