"""The glossary as a student meets it: a term linked from a lesson opens the glossary, rendered, at that term."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser.conftest import new_page
from browser.notebook import notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_term_link_in_a_lesson_opens_the_glossary_at_the_term(browser, lab):
    """Click «samskaping» in lesson 1: does docs/ordliste.md open as a page (not as text) with that term in view?"""
    page = new_page(browser, lab, "lessons/01_hva_er_samskaping.ipynb")
    try:
        link = notebook(page).locator('a[href*="/docs/ordliste.md"][href$="#samskaping"]').first
        link.scroll_into_view_if_needed()
        link.click()
        tab = page.locator(".lm-TabBar-tab.lm-mod-current", has_text="ordliste.md")
        expect(tab).to_be_visible()
        viewer = page.locator(".jp-MarkdownViewer:not(.lm-mod-hidden)")
        expect(viewer.locator("h1", has_text="Ordliste")).to_be_visible()  # rendered, not the raw text
        term = viewer.locator("h3", has_text=re.compile(r"^Samskaping¶?$"))  # JupyterLab adds a ¶ link to headings
        expect(term).to_be_in_viewport()
        expect(viewer).to_contain_text("Kursets egen formulering")
    finally:
        page.context.close()


def test_a_markdown_file_opens_as_a_page_from_the_file_browser(browser, lab):
    """Double-click docs/ordliste.md in the file browser: does it open rendered (the students' default)?"""
    page = new_page(browser, lab, "docs")
    try:
        page.locator(".jp-DirListing-item", has_text="ordliste.md").dblclick()
        viewer = page.locator(".jp-MarkdownViewer:not(.lm-mod-hidden)")
        expect(viewer.locator("h1", has_text="Ordliste")).to_be_visible()
    finally:
        page.context.close()
