"""What a person does with a notebook in JupyterLab, as Playwright steps that wait on conditions.

Activities are found from the notebook file: a code cell that calls
``activity("...")`` n times must show n rendered widgets. Using an activity is
generic over the kinds of ipywidgets control it contains (``CONTROLS``), so a
new activity built from the usual controls is exercised without new test code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ACTIVITY = re.compile(r"""activity\(\s*["']([a-z0-9_]+)["']\s*\)""")  # as in tests/test_lessons.py
VERDICT = re.compile(r"[✔✘]|\b(riktig|feil)\b", re.I)  # what feedback a student sees contains
ERROR_TEXT = re.compile(r"Traceback|Error|Exception")

# Top-level widget views in an output (not the text repr "VBox(children=...)").
WIDGET_VIEW = ".jp-OutputArea-output > .jupyter-widgets"
# Where an activity tells the student how they did: a status region (read aloud by screen readers) ...
FEEDBACK = "[role=status], [aria-live]"
# ... and everything it shows in response, besides the controls: HTML (tables, text alternatives) and Output widgets.
RESPONSE = ".widget-html-content, .widget-output"
# Everything a keyboard user can reach in a widget.
FOCUSABLE = "input, select, textarea, button, [tabindex]:not([tabindex='-1'])"


@dataclass
class Activity:
    ids: list[str]
    cell_index: int  # position among all cells, as in the DOM

    @property
    def name(self) -> str:
        return "+".join(self.ids)


def activities(path: Path) -> list[Activity]:
    """The cells of a notebook that show activities, with their ids."""
    found = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        ids = ACTIVITY.findall(cell.source) if cell.cell_type == "code" else []
        if ids:
            found.append(Activity(ids, index))
    return found


# --- the notebook -----------------------------------------------------------


def notebook(page: Page) -> Locator:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")


def cell(page: Page, index: int) -> Locator:
    return notebook(page).locator(".jp-Notebook-cell").nth(index)


def wait_for_kernel_idle(page: Page) -> None:
    """Wait until the open notebook's kernel is connected and idle.

    The toolbar's indicator says "idle" before a kernel exists, so this asks
    JupyterLab itself (the server runs with --LabApp.expose_app_in_browser).
    """
    page.wait_for_function(
        """() => {
            const kernel = window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel;
            return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
        }""",
        polling=100,
    )


# Every shell message the page sends to the open notebook's kernel (widget updates, clicks)
# until the kernel reports "idle" for it. Installed once per kernel, on the kernel object.
_TRACK_MESSAGES = """() => {
    const kernel = window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel;
    if (!kernel) return false;
    if (!kernel.courseUnanswered) {
        const unanswered = new Set();
        kernel.anyMessage.connect((_, {msg, direction}) => {
            if (direction === 'send' && msg.channel === 'shell') {
                unanswered.add(msg.header.msg_id);
            } else if (direction === 'recv' && msg.channel === 'iopub' && msg.header.msg_type === 'status'
                       && msg.content.execution_state === 'idle') {
                unanswered.delete(msg.parent_header.msg_id);
            }
        });
        kernel.courseUnanswered = unanswered;
    }
    return true;
}"""


def track_kernel_messages(page: Page) -> None:
    """Start counting the messages the page sends to the kernel (see :func:`wait_until_settled`)."""
    page.wait_for_function(_TRACK_MESSAGES, polling=100)


def wait_until_settled(page: Page, what: str = "") -> None:
    """Wait until the kernel has handled every message the page has sent, and is idle.

    "Idle" alone is not enough: ipywidgets holds a control's new value back
    while the kernel is busy with the control's previous one and sends it when
    that is done, so the kernel can be idle for a moment with a value still to
    come. Every message the page sends is counted (``track_kernel_messages``)
    until the kernel reports idle for it; the batch a message releases is sent
    in the same turn of the page's event loop, so the count cannot reach zero
    in between.
    """
    try:
        page.wait_for_function(
            """() => {
                const kernel = window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel;
                return !!kernel && !!kernel.courseUnanswered && kernel.courseUnanswered.size === 0
                    && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
            }""",
            polling=100,
        )
    except PlaywrightTimeout:
        unanswered = page.evaluate(
            "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.courseUnanswered?.size"
        )
        raise AssertionError(
            f"{what}: waited for the kernel to handle every message from the page; "
            f"{unanswered} message(s) still unanswered (None: no kernel, or tracking not started)"
        ) from None


def run_all_cells(page: Page) -> None:
    """Run → Run All Cells, then wait until every code cell has run (or a cell stopped the run with an error)."""
    expect(notebook(page)).to_be_visible()
    wait_for_kernel_idle(page)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(
        """() => {
            const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
            const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
            if (prompts.some(p => p.includes('*'))) return false;          // still queued or running
            if (prompts.every(p => /^\\[\\d+\\]:$/.test(p))) return true;      // all ran
            return nb.querySelector('[data-mime-type="application/vnd.jupyter.stderr"]') !== null;  // stopped by an error
        }""",
        polling=200,
    )
    wait_for_kernel_idle(page)
    track_kernel_messages(page)


def error_outputs(page: Page) -> list[str]:
    """Texts of outputs a student would read as an error (tracebacks, exceptions)."""
    texts = notebook(page).locator('[data-mime-type="application/vnd.jupyter.stderr"]').all_text_contents()
    return [t for t in texts if ERROR_TEXT.search(t)]


def widget_views(page: Page, activity: Activity) -> Locator:
    return cell(page, activity.cell_index).locator(WIDGET_VIEW)


def output_area(page: Page, activity: Activity) -> Locator:
    return cell(page, activity.cell_index).locator(".jp-Cell-outputArea")


def feedback_text(view: Locator) -> str:
    """What the activity tells the student: its status regions (every widget puts its feedback in one)."""
    return "\n".join(view.locator(FEEDBACK).all_text_contents())


def response_text(view: Locator) -> str:
    """All text the activity shows besides its controls (feedback, tables, text alternatives of charts)."""
    return "\n".join(view.locator(RESPONSE).all_text_contents())


def checks_right_or_wrong(view: Locator) -> bool:
    """Does the activity have a «Sjekk ...» button, i.e. does it judge answers (✔/✘) rather than only respond?"""
    return view.locator("button.widget-button").filter(has_text=CHECK_BUTTON).count() > 0


# --- using an activity with the mouse ---------------------------------------
# One hook per kind of control: (CSS selector inside a widget view, what a student does).
# Each hook picks the last choice, or the one before it if the last is already chosen: the
# choice must differ from the current one (the keyboard test may have left the last one chosen,
# e.g. when an arrow key wrapped round), or the feedback would rightly stay the same.
# No sliders: ipywidgets' slider handle has no accessible name (axe: aria-input-field-name), so
# the course rates with labelled drop-downs instead, and the accessibility test fails on a slider.


def _other_than_current(count: int, current: int) -> int:
    """The index to choose: the last one, unless it is the current one."""
    return count - 1 if current != count - 1 else count - 2


def _dropdown(control: Locator) -> None:
    current = control.evaluate("select => select.selectedIndex")
    control.select_option(index=_other_than_current(control.locator("option").count(), current))


def _radio_group(control: Locator) -> None:
    radios = control.locator("input[type=radio]")
    if radios.count():  # a finished branching case hides its choices
        current = control.evaluate("box => [...box.querySelectorAll('input[type=radio]')].findIndex(r => r.checked)")
        radios.nth(_other_than_current(radios.count(), current)).check()


def _toggle_buttons(control: Locator) -> None:
    control.locator("button").last.click()


def _checkbox(control: Locator) -> None:
    control.locator("input[type=checkbox]").click()


def _select_list(control: Locator) -> None:
    control.locator("select").select_option(index=control.locator("option").count() - 1)


def _text(control: Locator) -> None:
    control.locator("input, textarea").fill(TYPED_WITH_MOUSE)


CONTROLS: dict[str, callable] = {
    ".widget-dropdown select": _dropdown,
    ".widget-radio-box": _radio_group,
    ".widget-toggle-buttons": _toggle_buttons,
    ".widget-checkbox": _checkbox,
    ".widget-select, .widget-select-multiple": _select_list,
    ".widget-text, .widget-textarea": _text,
}
# Numbers are valid answers to a text box and to an estimate; the two tests type different ones,
# so that the second gets different feedback from the first.
TYPED = "12"
TYPED_WITH_MOUSE = "1234"
CHECK_BUTTON = re.compile(r"^\s*Sjekk", re.I)
# The button that submits a choice is the primary one («Sjekk svaret», «Velg», «Se det riktige tallet»);
# other buttons («Start på nytt», «Lagre sammendrag») are not pressed.
ACTION_BUTTON = "button.widget-button.mod-primary"


def use_with_mouse(view: Locator) -> int:
    """Set every control in an activity, then press its primary buttons; return how many controls were used."""
    used = 0
    for selector, hook in CONTROLS.items():
        for control in view.locator(selector).all():
            if not control.is_visible():
                continue
            control.scroll_into_view_if_needed()
            hook(control)
            used += 1
    for button in view.locator(ACTION_BUTTON).all():
        if button.is_visible():
            button.click()
            used += 1
    return used


# --- using an activity with the keyboard ------------------------------------

_FOCUSED = """(view) => {
    const el = document.activeElement;
    if (!el || !view.contains(el)) return null;
    return {
        tag: el.tagName.toLowerCase(), type: (el.getAttribute('type') || '').toLowerCase(),
        role: el.getAttribute('role') || '', text: (el.textContent || '').trim(),
        primary: el.classList.contains('mod-primary'),
        groupChosen: !!el.closest('.widget-radio-box')?.querySelector('input:checked'),
    };
}"""


def use_with_keyboard(page: Page, view: Locator, max_steps: int = 200) -> list[str]:
    """Tab through an activity as a keyboard user: choose with arrow keys/Space, press the primary button with Enter.

    Stops at the first press of a primary button (the activity is used once).

    Returns the keys pressed on the way (for the failure message).
    """
    view.locator(FOCUSABLE).first.focus()
    pressed: list[str] = []
    for _ in range(max_steps):
        focused = view.evaluate(_FOCUSED)
        if focused is None:  # Tab has left the activity (or the widget redrew itself)
            break
        keys: list[str]
        if focused["tag"] == "select":
            keys = ["ArrowDown"]  # a closed dropdown changes its value with the arrow keys
        elif focused["type"] == "radio":
            # pick the first option, then move to the second; Tab then visits the group's other options
            keys = [] if focused["groupChosen"] else ["Space", "ArrowDown"]
        elif focused["type"] == "checkbox":
            keys = ["Space"]
        elif focused["tag"] == "textarea" or (focused["tag"] == "input" and focused["type"] in ("", "text", "number")):
            keys = []
            page.keyboard.type(TYPED)
            pressed.append(f"type {TYPED}")
        elif focused["tag"] == "button" and focused["primary"]:
            # One press is one use. Going on would race the kernel's answer: a case that redraws
            # its next step under the focus could be played to its end by this loop on a slow
            # machine, and the next test would meet a finished case.
            page.keyboard.press("Enter")
            return pressed + ["Enter"]
        else:
            keys = []
        for key in keys:
            page.keyboard.press(key)
        pressed += keys + ["Tab"]
        page.keyboard.press("Tab")
    return pressed


def screenshot(page: Page, target: Locator, path: Path) -> None:
    """A picture of one element; the window grows first if the element is taller than it.

    (JupyterLab scrolls inside its own panels, so a tall element would otherwise be cut or garbled.)
    """
    viewport = page.viewport_size
    height = target.bounding_box()["height"]
    if height > viewport["height"] - 250:
        page.set_viewport_size({"width": viewport["width"], "height": int(height) + 300})
    try:
        target.scroll_into_view_if_needed()
        target.screenshot(path=path, animations="disabled", caret="hide")
    finally:
        page.set_viewport_size(viewport)
