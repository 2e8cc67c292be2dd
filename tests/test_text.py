"""German lexical analysis: spellings meet on the same terms, and typos are corrected to corpus terms."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.text import SURFACE_WORD, Speller, analyze, correct

RECORDS = ["Kinderbetreuung und Kantine im Stadtteil", "Lärm und Luftqualität in der Innenstadt günstig messen",
           "Abwärme aus dem Nachbarbetrieb nutzen", "Ladepunkt für Elektrofahrzeuge"]


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


def _speller() -> Speller:
    return Speller(RECORDS, set(analyze(" ".join(RECORDS))))


def test_speller_respells_mistyped_words_as_the_corpus_writes_them() -> None:
    speller = _speller()
    assert speller("Kinderbetreung und Kantiene im Statteil") == "Kinderbetreuung und Kantine im Stadtteil"
    assert speller("Laerm in der Innenstat, guenstig!") == "Lärm in der Innenstadt, günstig!"  # umlauts put back
    # Written-out umlauts of words the corpus does not have are put back from the general lexicon.
    assert speller("wie faengt man an, wenn es zu heiss ist") == "wie fängt man an, wenn es zu heiß ist"
    # An umlaut dropped, added or swapped is one typo, though two letters apart with umlauts written out.
    assert speller("Luftqualitt, Kinderbetreuüng, Luftqualiätt") == "Luftqualität, Kinderbetreuung, Luftqualität"


def test_speller_leaves_right_words_alone() -> None:
    speller = _speller()
    # Real words the corpus does not have, one edit from a corpus word: not typos.
    for text in ("Beistand statt Bestand", "Kuriere bringen Pakete", "heftigen Widerstand", "Ladepunkte",
                 "Mobilitätsstation", "Kita", "Kitaa", "Feinstaubsensor", "E-Scooter, 30 km/h"):
        assert speller(text) == text


TYPED_WORDS = ["Kinderbetreung", "KANTIENE", "statteil", "Laerm", "Luftqualitaet", "Nachbarbetireb", "Ladepunkte",
               "Innenstadt", "heiss", "İnnenstat", "Straße", "STRASSE"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(TYPED_WORDS), st.text(max_size=12)), max_size=8),
       st.lists(st.sampled_from([" ", ", ", "-", "\n", "3 ", "!?"]), min_size=8, max_size=8))
def test_speller_changes_only_words_and_is_idempotent(words: list[str], gaps: list[str]) -> None:
    speller = _speller()
    text = "".join(w + g for w, g in zip(words, gaps, strict=False))
    respelled = speller(text)
    assert SURFACE_WORD.split(respelled) == SURFACE_WORD.split(text)  # spaces, digits, punctuation untouched
    assert len(SURFACE_WORD.findall(respelled)) == len(SURFACE_WORD.findall(text))
    assert speller(respelled) == respelled


def test_speller_names_the_words_it_read_as_others_once_each() -> None:
    speller = _speller()
    assert speller.corrections("Laerm in der Innenstat, ja, Innenstat") == [("Innenstat", "Innenstadt")]
    assert speller.corrections("Lärm in der Innenstadt") == []


def test_speller_writes_a_respelled_word_as_the_corpus_spells_it() -> None:
    """Product names keep their inner capitals (the model reads case); a word that starts the question is capitalised."""
    texts = RECORDS + ["Das BayernPortal und ein LoRaWAN für die Stadt", "günstige Lösungen"]
    speller = Speller(texts, set(analyze(" ".join(texts))))
    assert speller("Im BayernPotral per LoRaWNA") == "Im BayernPortal per LoRaWAN"
    assert speller("Güsntige Angebote") == "Günstige Angebote"


def test_speller_keeps_words_in_double_quotes_as_typed() -> None:
    """How a planner says "I meant it as I wrote it" (the chat's note tells them): any kind of double quotes."""
    speller = _speller()
    for text in ("„Kinderbetreung“", '"Kinderbetreung"', "“Kinderbetreung”", "»Kinderbetreung«", "«laerm»"):
        assert speller(f"{text} im Statteil") == f"{text} im Stadtteil"
        assert speller.corrections(f"{text} im Statteil") == [("Statteil", "Stadtteil")]
    assert speller("geht's um Kinderbetreung?") == "geht's um Kinderbetreuung?"  # an apostrophe is no quote


def test_speller_writes_lower_case_words_as_the_corpus_writes_them() -> None:
    """The model is case-sensitive (lower-case questions ranked worse and were refused more often): a noun or acronym
    typed in lower case is read as the corpus writes it inside a sentence. Words the corpus writes in lower case or
    capitalises only at a sentence's start, the planner's own capitals and English questions stay as typed."""
    texts = RECORDS + ["Daten zum ÖPNV in Echtzeit. Messen lohnt sich, wir messen den Lärm im Park und die Kinderbetreuung."]
    speller = Speller(texts, set(analyze(" ".join(texts))))
    assert speller("lärm und luftqualität in der innenstadt, öpnv?") == "Lärm und Luftqualität in der Innenstadt, ÖPNV?"
    assert speller("günstig messen") == "günstig messen"  # "Messen" only starts a sentence
    assert speller("LÄRM in der innenstadt") == "LÄRM in der Innenstadt"
    assert speller("kinderbetreung im statteil") == "Kinderbetreuung im Stadtteil"  # respelled, then cased
    assert speller("how loud is the park at night") == "how loud is the park at night"  # English
    assert speller.corrections("lärm in der innenstat") == [("innenstat", "Innenstadt")]  # casing is no correction


def test_speller_leaves_place_names_compounds_of_known_words_and_other_word_forms_alone() -> None:
    """A planner's town, a compound of two German words and another form of a corpus word are spelled right, even one
    letter from a corpus word; a typo inside a compound is still respelled."""
    texts = RECORDS + ["Projekte in Hamburg und der Schweiz", "Wachdienst und Raumsensoren im Bürgerbüros", "Die Stadt empfiehlt", "Wir einbringen",
                       "Der Wasserstoff kommt aus dem Gewerbegebiet"]
    speller = Speller(texts, set(analyze(" ".join(texts))))
    for text in ("Leerstand in Harburg", "Lärm in Schleiz", "der Fachdienst", "Baumsensoren", "im Bürgerbüro",
                 "Füllstandssensoren", "Empfiehl mir etwas", "wie wir das reinbringen"):
        assert speller.corrections(text) == [], text
    assert speller.corrections("Wasserstof im Gewerbgebiet") == [("Wasserstof", "Wasserstoff"),
                                                                ("Gewerbgebiet", "Gewerbegebiet")]
    assert speller.corrections("Kinderbetreung im Statteil") == [("Kinderbetreung", "Kinderbetreuung"),
                                                                ("Statteil", "Stadtteil")]


def test_speller_respells_a_mistyped_part_of_a_compound_the_corpus_lacks() -> None:
    """A compound no record has, with one part a typo away from a corpus word, is read with that word (before or after
    the German word it is joined to); a compound that is German words at any split points stays as typed, though one
    of its other splits is a typo away from a corpus word ("Hausärztem" + "angel")."""
    texts = RECORDS + ["Ein Rollstuhl im Betrieb", "Die Hausärzten fehlen",
                       "Industriebrache und Revitalisierung", "Sperrmüll im Park"]
    speller = Speller(texts, set(analyze(" ".join(texts))))
    assert speller("Abwärme vom Werksbetireb") == "Abwärme vom Werksbetrieb"
    assert speller("Rollstulfahrer") == "Rollstuhlfahrer" and speller("Rolstuhlfahrer") == "Rollstuhlfahrer"
    for text in ("Hausärztemangel", "Sperrmüllecken", "Wohnstadtteil",
                 "Industriebrachenrevitalisierung"):
        assert speller.corrections(text) == [], text


def test_the_place_name_list_is_what_its_script_makes_from_the_gazetteer() -> None:
    from scripts.place_names import TARGET, render

    assert TARGET.read_text(encoding="utf-8") == render()
