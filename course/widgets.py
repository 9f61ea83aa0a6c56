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

from course import innsikt, loader, models

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


def _summary_html(result: models.SortingResult) -> str:
    return f'<p role="status"><strong>{html.escape(result.summary)}</strong></p>'


class _FollowsAnswer:
    """Once checked, an activity's feedback follows the answer: a later change is checked at once.

    Why: ipywidgets sends a control's new value only after the kernel has
    finished with its previous one (it buffers state updates per model while a
    message is pending), but it sends a button click at once. On a busy server
    or a slow laptop, a student who changes their mind and presses «Sjekk»
    quickly therefore has the click handled before the new choice arrives, and
    sees feedback on the old choice. Checking again when the late value
    arrives makes the feedback match what is selected once the messages are
    through, whatever order they came in.
    """

    _checked = False
    _reported = False  # the first try with something chosen has gone to the class-insight service

    def _follow(self, controls) -> None:
        for control in controls:
            control.observe(self._recheck, names="value")
        innsikt.prepare(self.model)

    def _recheck(self, _change=None) -> None:
        if self._checked:
            self._show_feedback()

    def _show_feedback(self, _button=None) -> None:
        self._checked = True
        self._render_feedback()
        if not self._reported:
            # The feedback is already shown; the first try is queued, never waited for (course/innsikt.py).
            self._reported = innsikt.report(self.model, self._answer())

    def _answer(self):
        """The answer as the model's ``check`` takes it (what course/innsikt.py counts)."""
        raise NotImplementedError


class _CaseList(_FollowsAnswer, widgets.VBox):
    """Numbered cases, each with its own control and feedback, checked together by one button.

    The shared frame of the sorting and the ladder activities; subclasses say which
    control each case gets.
    """

    def _build(self, header: widgets.Widget, texts: list[str], make_choice) -> None:
        self.choices: list[widgets.Widget] = []
        self.case_feedback: list[widgets.HTML] = []
        rows = []
        for number, text in enumerate(texts, start=1):
            choice = make_choice(number)
            feedback = widgets.HTML()
            self.choices.append(choice)
            self.case_feedback.append(feedback)
            case = widgets.HTML(f"<p><strong>Sak {number}.</strong> {html.escape(text)}</p>")
            rows.append(widgets.VBox([case, choice, feedback]))
        self.check = widgets.Button(description="Sjekk svarene", button_style="primary", tooltip="Sjekk svarene")
        self.summary = widgets.HTML()
        self.check.on_click(self._show_feedback)
        self._follow(self.choices)
        widgets.VBox.__init__(self, [header, *rows, self.check, self.summary])

    def _answer(self):
        return [choice.value for choice in self.choices]

    def _render_feedback(self) -> None:
        result = self.model.check(self._answer())
        for widget, feedback in zip(self.case_feedback, result.feedback):
            widget.value = _feedback_html(feedback)
        self.summary.value = _summary_html(result)


class MultipleChoiceWidget(_FollowsAnswer, widgets.VBox):
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
        self._follow([self.choice])
        super().__init__([self.prompt, self.choice, self.check, self.feedback])

    @classmethod
    def from_content(cls, entry_id: str) -> MultipleChoiceWidget:
        return cls(loader.get(entry_id, models.MultipleChoice))

    def _answer(self):
        return self.choice.value

    def _render_feedback(self) -> None:
        self.feedback.value = _feedback_html(self.model.check(self._answer()))


class SortingWidget(_CaseList):
    """Sort short cases into categories, with an explanation for every case."""

    def __init__(self, task: models.SortingTask):
        self.model = task
        header = widgets.HTML(
            f"<h4>{html.escape(task.title)}</h4><p>{html.escape(task.instructions)}</p>"
        )
        self._build(
            header,
            [case.text for case in task.cases],
            lambda number: widgets.Dropdown(
                options=[("Velg kategori", None), *[(c, c) for c in task.categories]],
                index=0,  # shows "Velg kategori"; value=None would show an empty box
                description=f"Sak {number}:",
            ),
        )

    @classmethod
    def from_content(cls, entry_id: str) -> SortingWidget:
        return cls(loader.get(entry_id, models.SortingTask))


def _chart_output(png: bytes, alt: str) -> dict:
    """An Output's display data for a chart: the PNG, and the same image as HTML with alt text.

    JupyterLab shows the HTML (it ranks above PNG), so a screen reader gets the
    alt text; the chart's full text alternative (a table) stays next to it.
    """
    import base64

    data = base64.b64encode(png).decode("ascii")
    return {
        "output_type": "display_data",
        "data": {
            "text/html": f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">',
            "image/png": data,
            "text/plain": alt,
        },
        "metadata": {},
    }


def _show_figure(output: widgets.Output, fig) -> None:
    """Replace what an Output shows with a figure, as a PNG image with alt text (its title)."""
    from course.charts_grid import png

    title = fig.axes[0].get_title() if fig.axes else ""
    alt = f"Diagram: {title}. Tallene står også som tekst under diagrammet." if title else "Diagram. Tallene står også som tekst under diagrammet."
    output.outputs = (_chart_output(png(fig), alt),)


def _scale_choice(description: str, options: list[tuple[str, int]], value: int, observer) -> widgets.Dropdown:
    """A labelled drop-down for a rating scale: each option is a number and its meaning in words.

    Ratings are drop-downs, not sliders: a <select> is named by its ``description``
    label (a screen reader reads the question) and is used with Tab and the arrow
    keys, whereas ipywidgets' sliders have a handle without an accessible name.
    """
    choice = widgets.Dropdown(
        options=options, value=value, description=description,
        style={"description_width": "initial"}, layout=widgets.Layout(width="90%"),
    )
    choice.observe(observer, names="value")
    return choice


def _grid_word(value: int) -> str:
    """A power/interest rating in words; "høy" starts where the model's "high" starts (GRID_HIGH)."""
    if value == models.GRID_MIN:
        return "ingen"
    if value < models.GRID_HIGH:
        return "svært lav" if value < models.GRID_HIGH - 2 else "lav"
    return "høy" if value < models.GRID_HIGH + 3 else "svært høy"


GRID_OPTIONS = [(f"{v} – {_grid_word(v)}", v) for v in range(models.GRID_MIN, models.GRID_MAX + 1)]


def _numbered(labels) -> list[tuple[str, int]]:
    """Options "1 – label", "2 – label", ... for a 1-5 scale described in words."""
    return [(f"{i} – {label}", i) for i, label in enumerate(labels, start=models.SCALE_MIN)]


_GRID_COLUMNS = ("Aktør", "Makt", "Interesse", "Kvadrant", "Råd")


class StakeholderGridWidget(widgets.VBox):
    """Rate the actors of a case on power and interest (0-10); a grid, a table and advice follow the choices."""

    def __init__(self, grid: models.StakeholderGrid):
        from course import charts_grid

        self.model = grid
        self._charts = charts_grid
        header = widgets.HTML(f"<h4>{html.escape(grid.title)}</h4><p>{html.escape(grid.case)}</p>")
        self.choices: list[tuple[widgets.Dropdown, widgets.Dropdown]] = []
        rows = []
        for actor in grid.actors:
            who = actor.name + (" (målgruppen)" if actor.target_group else "")
            text = widgets.HTML(f"<p><strong>{html.escape(who)}.</strong> {html.escape(actor.description)}</p>")
            power, interest = (
                _scale_choice(f"{label}: {actor.name}", GRID_OPTIONS, value, self._update)
                for label, value in (("Makt", actor.power), ("Interesse", actor.interest))
            )
            self.choices.append((power, interest))
            rows.append(widgets.VBox([text, power, interest]))
        self.chart = widgets.Output()
        self.text_alternative = widgets.HTML()
        self.feedback = widgets.HTML()
        self.placements: tuple[models.Placement, ...] = ()
        super().__init__([header, *rows, self.chart, self.text_alternative, self.feedback])
        self._update()

    @classmethod
    def from_content(cls, entry_id: str) -> StakeholderGridWidget:
        return cls(loader.get(entry_id, models.StakeholderGrid))

    def _update(self, _change=None) -> None:
        self.placements = self.model.place([(p.value, i.value) for p, i in self.choices])
        _show_figure(self.chart, self._charts.stakeholder_figure(self.placements, "Makt og interesse (oppdiktet sak)"))
        rows = "".join(
            f"<tr><td>{html.escape(p.actor.name)}</td><td>{p.power}</td><td>{p.interest}</td>"
            f"<td>{html.escape(p.quadrant_name)}</td><td>{html.escape(self.model.advice[p.quadrant])}</td></tr>"
            for p in self.placements
        )
        self.text_alternative.value = (
            '<table aria-label="Aktørene i rutenettet"><caption>Hvem havner hvor '
            f"(høy betyr {models.GRID_HIGH} eller mer)</caption>"
            f"<tr>{''.join(f'<th>{h}</th>' for h in _GRID_COLUMNS)}</tr>"
            f"{rows}</table>"
        )
        self.feedback.value = (
            f'<div role="status"><p><strong>Om målgruppen:</strong> '
            f"{html.escape(self.model.target_feedback(self.placements))}</p></div>"
        )


class SelfAssessmentWidget(widgets.VBox):
    """Rate statements 1–5; a radar chart, the scores and advice on the weakest point follow."""

    def __init__(self, assessment: models.SelfAssessment):
        from course import charts_grid

        self.model = assessment
        self._charts = charts_grid
        scale = "; ".join(f"{i} = {label}" for i, label in enumerate(assessment.scale, start=models.SCALE_MIN))
        header = widgets.HTML(
            f"<h4>{html.escape(assessment.title)}</h4><p>{html.escape(assessment.instructions)}</p>"
            f"<p>Skala: {html.escape(scale)}.</p>"
        )
        options = _numbered(assessment.scale)
        middle = (models.SCALE_MIN + models.SCALE_MAX) // 2
        self.ratings: list[list[widgets.Dropdown]] = []
        rows = []
        for point in assessment.points:
            choices = []
            rows.append(widgets.HTML(f"<p><strong>{html.escape(point.name)}</strong></p>"))
            for number, statement in enumerate(point.statements, start=1):
                choice = _scale_choice(f"{point.name} {number}", options, middle, self._update)
                choice.tooltip = statement
                choices.append(choice)
                rows.extend([widgets.HTML(f"<p>{number}. {html.escape(statement)}</p>"), choice])
            self.ratings.append(choices)
        self.chart = widgets.Output()
        self.text_alternative = widgets.HTML()
        self.feedback = widgets.HTML()
        self.result: models.AssessmentResult | None = None
        super().__init__([header, *rows, self.chart, self.text_alternative, self.feedback])
        self._update()

    @classmethod
    def from_content(cls, entry_id: str) -> SelfAssessmentWidget:
        return cls(loader.get(entry_id, models.SelfAssessment))

    def _update(self, _change=None) -> None:
        self.result = self.model.assess([[c.value for c in choices] for choices in self.ratings])
        _show_figure(self.chart, self._charts.radar_figure(self.result.scores, "Din egenvurdering"))
        items = "".join(
            f"<li>{html.escape(name)}: {models.format_mean(score)}</li>" for name, score in self.result.scores.items()
        )
        self.text_alternative.value = f"<p>Snittet ditt per punkt (1–5):</p><ul>{items}</ul>"
        self.feedback.value = f'<div role="status"><p>{html.escape(self.result.feedback)}</p></div>'


_RISK_COLUMNS = ("Plass", "Risiko", "Sannsynlighet", "Konsekvens", "Risikoscore", "Nivå")


class RiskRegisterWidget(widgets.VBox):
    """Rate each risk in two drop-downs (1-5); a ranked table, a risk matrix and advice update on every choice."""

    def __init__(self, register: models.RiskRegister):
        self.model = register
        header = widgets.HTML(
            f"<h4>{html.escape(register.title)}</h4><p><em>{html.escape(register.project)}</em></p>"
            f"<p>{html.escape(register.instructions)}</p>"
        )
        self.likelihood: list[widgets.Dropdown] = []
        self.consequence: list[widgets.Dropdown] = []
        self.readouts: list[widgets.HTML] = []
        rows = []
        scales = ((register.likelihood_scale, "Sannsynlighet", self.likelihood), (register.consequence_scale, "Konsekvens", self.consequence))
        for number, risk in enumerate(register.risks, start=1):
            text = widgets.HTML(f"<p><strong>Risiko {number}: {html.escape(risk.title)}.</strong> {html.escape(risk.description)}</p>")
            choices = []
            for labels, name, store in scales:
                choice = _scale_choice(f"{name}, risiko {number}:", _numbered(labels), 3, self._update)
                store.append(choice)
                choices.append(choice)
            readout = widgets.HTML()
            self.readouts.append(readout)
            rows.append(widgets.VBox([text, *choices, readout]))
        self.table = widgets.HTML()
        self.chart = widgets.Output()
        self.advice = widgets.HTML()
        super().__init__([header, *rows, widgets.HTML("<h4>Risikoene rangert</h4>"), self.table, self.chart, self.advice])
        self._update()

    @classmethod
    def from_content(cls, entry_id: str) -> RiskRegisterWidget:
        return cls(loader.get(entry_id, models.RiskRegister))

    @property
    def ratings(self) -> list[tuple[int, int]]:
        return [(l.value, c.value) for l, c in zip(self.likelihood, self.consequence)]

    def _update(self, _change=None) -> None:
        from course import charts_risk

        m = self.model
        for readout, (likelihood, consequence) in zip(self.readouts, self.ratings):
            score = likelihood * consequence
            readout.value = (
                f"<p>Sannsynlighet {likelihood}: {html.escape(m.likelihood_scale[likelihood - 1])}. "
                f"Konsekvens {consequence}: {html.escape(m.consequence_scale[consequence - 1])}. "
                f"<strong>Risikoscore {likelihood} × {consequence} = {score} ({models.risk_level(score)})</strong></p>"
            )
        rows = "".join(
            f"<tr><td>{r.rank}</td><td>{r.number}. {html.escape(r.risk.title)}</td><td>{r.likelihood}</td>"
            f"<td>{r.consequence}</td><td>{r.score}</td><td>{r.level}</td></tr>"
            for r in m.rate(self.ratings)
        )
        self.table.value = (
            "<table><caption>Risikoene rangert etter risikoscore (sannsynlighet × konsekvens). "
            "Tabellen viser det samme som risikomatrisen under.</caption>"
            f"<tr>{''.join(f'<th>{h}</th>' for h in _RISK_COLUMNS)}</tr>{rows}</table>"
        )
        fig = charts_risk.risk_matrix_figure(m, self.ratings)
        self.figure = fig
        png = charts_risk.figure_png(fig)
        self.chart.outputs = (_chart_output(png, "Risikomatrise (se tabellen over)"),)
        advice = html.escape(m.feedback(self.ratings)).replace("\n", "<br>")
        self.advice.value = f'<div role="status" style="border-left: 4px solid {RIGHT_COLOUR}; padding-left: 0.5em;">{advice}</div>'


class BranchingCaseWidget(widgets.VBox):
    """Walk a branching case stage by stage; see consequences, start over, take notes and save a summary."""

    def __init__(self, case: models.BranchingCase, folder=None):
        self.model = case
        self.walk = models.CaseWalk(case)
        self.folder = folder  # None: the current folder when saving
        header = widgets.HTML(f"<h4>{html.escape(case.title)}</h4><p>{html.escape(case.intro)}</p>")
        self.stage = widgets.HTML()
        self.consequence = widgets.HTML()
        self.situation = widgets.HTML()
        self.choice = widgets.RadioButtons()  # replaced by _show() with one control per step
        self._previous_choice: widgets.RadioButtons | None = None
        self.choose = widgets.Button(description="Velg", button_style="primary", tooltip="Velg dette alternativet")
        self.message = widgets.HTML()
        self.path = widgets.HTML()
        self.restart = widgets.Button(description="Start på nytt", tooltip="Start casen på nytt fra første fase")
        self.notes = widgets.Textarea(
            description="Notater:", placeholder="Skriv notatene dine her: hvorfor valgte du som du gjorde?",
            layout=widgets.Layout(width="100%", height="6em"),
        )
        self.save = widgets.Button(description="Lagre sammendrag", tooltip="Lagre veien din og notatene som en Markdown-fil")
        self.saved = widgets.HTML()
        self.choose.on_click(self._choose)
        self.restart.on_click(self._restart)
        self.save.on_click(self._save)
        super().__init__([
            header, self.stage, self.consequence, self.situation, self.choice, self.choose, self.message,
            self.path, self.restart, self.notes, self.save, self.saved,
        ])
        self._show()

    @classmethod
    def from_content(cls, entry_id: str) -> BranchingCaseWidget:
        return cls(loader.get(entry_id, models.BranchingCase))

    def _new_choice(self, node: models.CaseNode) -> widgets.RadioButtons:
        """The control for this step's choice: a new one per step, so a late value belongs to its own step.

        ipywidgets may deliver a choice after the «Velg» click that should have
        carried it (see :class:`_FollowsAnswer`); with one control per step the
        late value reaches the control of the step it was meant for, and
        :meth:`_late_choice` then replaces that step.
        """
        step = len(self.walk.path)
        choice = widgets.RadioButtons(
            options=[(c.text, i) for i, c in enumerate(node.choices)], value=None,
            description="Ditt valg:", layout=widgets.Layout(width="100%"),
        )
        choice.observe(lambda change: self._late_choice(step, change["new"]), names="value")
        if node.is_ending:
            choice.layout.display = "none"
        return choice

    def _late_choice(self, step: int, index: int | None) -> None:
        """A new value for a step that «Velg» has already taken: take that step again with it."""
        if index is None or step != len(self.walk.path) - 1:
            return  # the current step (not taken yet), or an older one: nothing to redo
        node, taken = self.walk.path[-1]
        if node.choices.index(taken) == index:
            return
        self.walk.step_back()
        self._take(index)

    def _show(self) -> None:
        node = self.walk.current
        number = models.STAGES.index(node.stage) + 1
        phases = " → ".join(f"<strong>{s}</strong>" if s == node.stage else s for s in models.STAGES)
        self.stage.value = f"<p>Fase {number} av {len(models.STAGES)}: {phases}</p>"
        if node.is_ending:
            self.situation.value = (
                f"<p>{html.escape(node.situation)}</p><p><strong>Oppsummering:</strong> {html.escape(node.summary)}</p>"
                "<p>Casen er ferdig. Skriv gjerne notater og lagre sammendraget, eller start på nytt og prøv andre valg.</p>"
            )
        else:
            self.situation.value = f"<p>{html.escape(node.situation)}</p>"
        old, self.choice = self.choice, self._new_choice(node)
        self.children = tuple(self.choice if child is old else child for child in self.children)
        # The previous control may still receive a late value (see _new_choice); older ones cannot.
        if self._previous_choice is not None:
            self._previous_choice.close()
        self._previous_choice = old
        self.choose.layout.display = "none" if node.is_ending else None
        steps = "".join(f"<li>{node.stage}: {html.escape(c.text)}</li>" for node, c in self.walk.path)
        heading = "Valgene dine så langt:"
        self.path.value = f"<p><strong>{heading}</strong></p><ol>{steps}</ol>" if steps else ""

    def _choose(self, _button=None) -> None:
        self._take(self.choice.value)

    def _take(self, index: int | None) -> None:
        try:
            choice = self.walk.choose(index)
        except ValueError as exc:
            self.message.value = _feedback_html(models.Feedback(False, str(exc)))
            return
        self.message.value = ""
        self.consequence.value = (
            f'<div role="status" style="border-left: 4px solid {RIGHT_COLOUR}; padding-left: 0.5em;">'
            f"<strong>Konsekvens av valget ditt:</strong> {html.escape(choice.consequence)}</div>"
        )
        self._show()

    def _restart(self, _button=None) -> None:
        self.walk.restart()
        self.consequence.value = ""
        self.message.value = ""
        self.saved.value = ""
        self._show()

    def _save(self, _button=None) -> None:
        from pathlib import Path

        folder = Path.cwd() if self.folder is None else Path(self.folder)
        try:
            path = models.write_new_file(folder, f"sammendrag_{self.model.id}", self.walk.markdown(self.notes.value))
        except OSError as exc:
            self.saved.value = _feedback_html(models.Feedback(
                False,
                f"Kunne ikke lagre sammendraget i mappen «{folder}» ({exc.strerror or exc}). "
                "Sjekk at du har lov til å skrive i mappen, eller kopier notatene dine et annet sted.",
            ))
            return
        self.saved.value = _feedback_html(models.Feedback(True, f"Lagret sammendraget i filen «{path.name}» i mappen «{folder}»."))
        self.saved_path = path


class EstimateWidget(_FollowsAnswer, widgets.VBox):
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
        self._follow([self.guess])
        super().__init__([self.prompt, widgets.HBox([self.guess, self.unit]), self.check, self.feedback])

    @classmethod
    def from_content(cls, entry_id: str) -> EstimateWidget:
        return cls(loader.get(entry_id, models.Estimate))

    def _answer(self):
        try:
            return models.parse_number(self.guess.value)
        except ValueError:
            return None

    def _render_feedback(self) -> None:
        text = self.guess.value.strip()
        try:
            feedback = self.model.check(models.parse_number(text) if text else None)
        except ValueError as exc:  # not a number, or off the scale: say what to do
            feedback = models.Feedback(False, str(exc))
        self.feedback.value = _feedback_html(feedback)


class MatchingTableWidget(_FollowsAnswer, widgets.VBox):
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
        self._follow([c for row in self.choices for c in row])
        super().__init__([header, *rows, self.check, self.summary])

    def _answer(self):
        return [[c.value for c in row] for row in self.choices]

    def _render_feedback(self) -> None:
        result = self.model.check(self._answer())
        flat = [w for row in self.cell_feedback for w in row]
        for widget, feedback in zip(flat, result.feedback):
            widget.value = _feedback_html(feedback)
        self.summary.value = _summary_html(result)


class LadderWidget(_CaseList):
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
        self._build(
            header,
            [scenario.text for scenario in task.scenarios],
            lambda number: widgets.RadioButtons(
                options=labels, value=None, description=f"Sak {number}:", layout=widgets.Layout(width="100%")
            ),
        )


_VIEWS = {
    models.Estimate: EstimateWidget,
    models.MultipleChoice: MultipleChoiceWidget,
    models.SortingTask: SortingWidget,
    models.MatchingTable: MatchingTableWidget,
    models.LadderTask: LadderWidget,
    models.StakeholderGrid: StakeholderGridWidget,
    models.SelfAssessment: SelfAssessmentWidget,
    models.RiskRegister: RiskRegisterWidget,
    models.BranchingCase: BranchingCaseWidget,
}


def activity(entry_id: str) -> widgets.Widget:
    """The interactive widget for the activity with this id in the content files."""
    entry = loader.get(entry_id)
    view = _VIEWS.get(type(entry))
    if view is None:
        raise TypeError(f"«{entry_id}» er ikke en aktivitet (det er et begrep eller annet innhold).")
    return view(entry)


class InsightChoice(widgets.VBox):
    """The student's one-click choice about the class overview (course/innsikt.py), shown in the first lesson.

    Ticked means «send my first tries without my name»; the choice is saved in
    the student's home folder at once and holds for every lesson.
    """

    def __init__(self) -> None:
        self.send = widgets.Checkbox(
            value=innsikt.sending_allowed(),
            description="Send mine første svar, uten navn, til klasseoversikten",
            indent=False,
            layout=widgets.Layout(width="100%"),
        )
        self.status = widgets.HTML()
        self.send.observe(self._changed, names="value")
        self._show()
        super().__init__([self.send, self.status])

    def _changed(self, _change=None) -> None:
        innsikt.remember(self.send.value)
        self._show()

    def _show(self) -> None:
        if self.send.value:
            text = "Svarene dine blir tatt med i klasseoversikten, uten navn. Fjern haken for å si nei."
        else:
            text = ("Ingen av svarene dine blir sendt. Valget gjelder alle leksjonene til du endrer det her. "
                    "Sett haken hvis du vil være med.")
        if not innsikt.on_class_server():
            text += " (Her er klasseoversikten ikke i bruk, så ingenting blir sendt uansett.)"
        self.status.value = f'<p role="status">{html.escape(text)}</p>'


def insight_choice() -> InsightChoice:
    """The class-overview choice for the first lesson: one click says no, and it is remembered."""
    return InsightChoice()
