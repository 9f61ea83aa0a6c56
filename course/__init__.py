"""Samskaping og velferdsledelse: the course package.

Layers, each importing only the ones before it:
``course/content/*.yaml`` (data) -> :mod:`course.loader` (validation) ->
:mod:`course.models` (plain logic) -> :mod:`course.widgets` (ipywidgets views).
Lesson notebooks call one-liners such as ``activity("id")`` or ``define("id")``.
"""

__version__ = "0.1.0"


def define(entry_id: str) -> str:
    """The glossary entry with this id, as a sentence with its source."""
    from course import loader, models

    return str(loader.get(entry_id, models.Term))
