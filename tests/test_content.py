"""Content files: every entry loads, and a malformed file gets a clear Norwegian error."""

from __future__ import annotations

import pytest

from course import define, loader, models


def test_every_content_file_loads():
    """Does every shipped content file validate, with at least one activity of each widget kind?"""
    entries = loader.load_all()
    kinds = {type(e) for e in entries.values()}
    assert {models.MultipleChoice, models.SortingTask, models.Term} <= kinds


def test_define_gives_term_definition_and_source():
    """Does define() print the glossary entry with its source?"""
    text = define("samskaping")
    assert text.startswith("Samskaping: ")
    assert "(Kilde: " in text


def test_unknown_id_is_named():
    with pytest.raises(KeyError, match="«finnes_ikke»"):
        loader.get("finnes_ikke")


def test_wrong_kind_is_refused():
    with pytest.raises(TypeError, match="annen type"):
        loader.get("samskaping", models.SortingTask)


GOOD_SORTING = """
oppgave:
  kind: sorting
  title: Tittel
  instructions: Gjør slik.
  categories: [A, B]
  cases:
    - text: Sak
      answer: A
      explanation: Fordi.
"""


def test_a_valid_file_parses():
    entry = loader.parse("test.yaml", GOOD_SORTING)["oppgave"]
    assert entry.categories == ("A", "B")
    assert entry.cases[0].answer == "A"


@pytest.mark.parametrize(
    "broken, field, words",
    [
        (GOOD_SORTING.replace("      answer: A\n", ""), "cases[0].answer", "mangler"),
        (GOOD_SORTING.replace("answer: A", "answer: C"), "cases[0].answer", "ikke en av kategoriene"),
        (GOOD_SORTING.replace("title: Tittel", "title: ''"), "title", "ikke er tom"),
        (GOOD_SORTING.replace("categories: [A, B]", "categories: A"), "categories", "må være en liste"),
        (GOOD_SORTING.replace("categories: [A, B]", "categories: [A, A]"), "categories", "mer enn én gang"),
        (GOOD_SORTING.replace("kind: sorting", "kind: sortering"), "kind", "ikke en kjent type"),
    ],
)
def test_malformed_entry_names_file_entry_and_field(broken, field, words):
    """Does a malformed entry give an error that names the file, the entry and the field, in Norwegian?"""
    with pytest.raises(loader.ContentError) as caught:
        loader.parse("leksjon_99.yaml", broken)
    message = str(caught.value)
    assert "«leksjon_99.yaml»" in message
    assert "«oppgave»" in message
    assert f"«{field}»" in message
    assert words in message


def test_multiple_choice_needs_exactly_one_correct_option():
    text = """
sp:
  kind: multiple_choice
  question: Hva?
  options:
    - {text: a, correct: true, explanation: x}
    - {text: b, correct: true, explanation: y}
"""
    with pytest.raises(loader.ContentError, match="nøyaktig ett alternativ"):
        loader.parse("f.yaml", text)


def test_option_without_explanation_is_refused():
    text = """
sp:
  kind: multiple_choice
  question: Hva?
  options:
    - {text: a, correct: true}
    - {text: b, explanation: y}
"""
    with pytest.raises(loader.ContentError, match=r"«options\[0\]\.explanation».*mangler"):
        loader.parse("f.yaml", text)


def test_invalid_yaml_names_the_line():
    with pytest.raises(loader.ContentError, match="ikke gyldig YAML på linje 3"):
        loader.parse("f.yaml", "a:\n  kind: term\n b: [\n")


def test_entry_without_fields_is_refused():
    with pytest.raises(loader.ContentError, match="«f.yaml», oppføringen «sp»: må være en oppføring med felter, men er teksten «hei»"):
        loader.parse("f.yaml", "sp: hei\n")


def test_empty_file_is_refused():
    with pytest.raises(loader.ContentError, match="minst én oppføring"):
        loader.parse("tom.yaml", "")


def test_duplicate_ids_across_files_are_refused(tmp_path, monkeypatch):
    """Is an id used in two files reported with both file names?"""
    term = "dobbel:\n  kind: term\n  term: T\n  definition: D\n  source: S\n"
    folder = tmp_path / "course" / "content"
    folder.mkdir(parents=True)
    (folder / "a.yaml").write_text(term, encoding="utf-8")
    (folder / "b.yaml").write_text(term, encoding="utf-8")
    monkeypatch.setattr(loader.resources, "files", lambda package: tmp_path / "course")
    loader.load_all.cache_clear()
    try:
        with pytest.raises(loader.ContentError, match=r"«b\.yaml».*«dobbel».*finnes også i «a\.yaml»"):
            loader.load_all()
    finally:
        loader.load_all.cache_clear()
