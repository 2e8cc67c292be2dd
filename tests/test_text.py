"""German lexical analysis: spellings meet on the same terms, and typos are corrected to corpus terms."""

from __future__ import annotations

from indexer.text import analyze, correct


def test_umlaut_spellings_inflections_and_compounds_meet() -> None:
    a, b, c = analyze("Fußgängerzonen"), analyze("Fussgaengerzone"), analyze("Fußgänger-Zone")
    assert set(a) & set(b) and set(b) & set(c)
    assert "zon" in analyze("Fußgängerzone")  # the compound's head is a term of its own
    assert analyze("und die im") == []  # stop words only


def test_typos_are_corrected_to_a_corpus_term_one_edit_away() -> None:
    vocabulary = analyze("Stadtteil Gewerbegebiet Plattform Innenstadt Wohngebiet")
    known = set(vocabulary)
    typed = analyze("Statteil Gewerbgebiet Plattfrom Innenstat")
    assert typed == ["statteil", "gewerbgebiet", "gewerb", "gebiet", "plattfrom", "innenstat"]
    assert correct(typed, vocabulary, known) == ["stadtteil", "gewerbegebiet", "gewerb", "gebiet", "plattform", "innenstadt"]
    # Known, short and far-off terms stay as they are.
    assert correct(["wohngebiet", "kita", "raumfahrt"], vocabulary, known) == ["wohngebiet", "kita", "raumfahrt"]


def test_compact_compound_table_splits_every_corpus_word_like_charsplit() -> None:
    """The memory-mapped copy of CharSplit's German table gives the library's own best split, word for word."""
    import re
    from pathlib import Path

    from compound_split import char_split  # the library itself, as the reference (loads 350 MB, tests only)

    from indexer.compounds import best_split

    text = " ".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parents[1] / "corpus" / "solutions").glob("*.md"))
    words = sorted({w for w in re.findall(r"[a-zäöüß]+", text.lower()) if len(w) >= 6})
    assert len(words) > 5000
    for word in words:
        score, head, tail = char_split.split_compound(word)[0]
        assert best_split(word) == (score, head.lower(), tail.lower()), word
