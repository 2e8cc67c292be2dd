"""Space types are recognised in what planners type: inflections, compounds, English, umlauts and one typo."""

from __future__ import annotations

import pytest
import yaml

from indexer.corpus import shipped_corpus
from service.understanding import Understanding


@pytest.fixture(scope="module")
def understanding() -> Understanding:
    return Understanding(yaml.safe_load((shipped_corpus() / "taxonomy.yaml").read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In unseren Fußgängerzonen stehen Läden leer", ["innenstadt"]),
        ("Leerstand in der Fussgaengerzone", ["innenstadt"]),
        ("Lieferverkehr in der Innenstat", ["innenstadt"]),  # one letter missing
        ("Ansiedlung im Gewerbgebiet", ["gewerbegebiet"]),
        ("Our business park needs fibre", ["gewerbegebiet"]),
        ("Nachbarschaftshilfe im Wohnquartier", ["quartier"]),
        ("Hitze im Quartier und in der Innenstadt", ["innenstadt", "quartier"]),
        ("Wir brauchen ein neues Rechenzentrum", []),  # ends in "zentrum" but is no centre
        ("Wie wird das Wetter?", []),
    ],
)
def test_space_types_detected(understanding: Understanding, text: str, expected: list[str]) -> None:
    assert understanding.detect_space_types(text) == expected


def test_whole_words_only_when_asked(understanding: Understanding) -> None:
    """A follow-up changes the theme only when it names one as a word: compounds that merely contain a theme word
    ("Fahrgemeinschaften", "Wasserstoff") are refinements, while search still reads them as before."""
    assert "soziales" in understanding.detect_themes("was mit Fahrgemeinschaften")
    assert "soziales" not in understanding.detect_themes("was mit Fahrgemeinschaften", whole_words=True)
    assert "wasser_umwelt" not in understanding.detect_themes("eher Wasserstoff", whole_words=True)
    assert understanding.detect_themes("nur Tourismus-Sachen", whole_words=True) == ["tourismus"]
    assert understanding.detect_themes("climate adaptation only", whole_words=True) == ["klimaanpassung"]
    # the word cache gives the same answers the second time
    assert understanding.detect_themes("was mit Fahrgemeinschaften") == understanding.detect_themes("was mit Fahrgemeinschaften")


@pytest.mark.parametrize(("text", "expected"), [
    ("welche davon sind erst Ideen?", "idee"),
    ("only ones still in the planning stage pls", "planung"),
    ("was davon wird aktuell schon umgesetzt?", "umsetzung"),
    ("nur abgeschlossene Projekte bitte", "abgeschlossen"),
    ("which of these are actually running permanently, not just pilots?", "verstetigt"),  # the first named
    ("sind die schon über die Testphase raus?", "verstetigt"),  # a negated trial: regular operation
    ("welche davon sind nicht mehr nur im Test?", "verstetigt"),
    ("reine Planungen interessieren mich weniger, nur was gerade erprobt wird", "umsetzung"),  # ruled out after it
    ("pilots don't interest me, which are established?", "verstetigt"),
    ("Which of these never got beyond the concept stage?", "idee"),
    ("welche sind nie über die Planung hinausgekommen?", "planung"),
    ("wie funktioniert das genau?", None),
])
def test_status_detected(understanding: Understanding, text: str, expected: str | None) -> None:
    assert understanding.detect_status(text) == expected


def test_a_theme_named_as_a_whole_is_told_from_a_kind_of_solution(understanding: Understanding) -> None:
    assert understanding.detect_theme_names("eher die Energieseite") == ["energie"]
    assert understanding.detect_theme_names("und geht's auch um die Verwaltungsprozesse dahinter?") == ["verwaltung"]
    assert understanding.detect_theme_names("anything on the health side?") == ["gesundheit"]
    for kind_of_solution in ("gibt es da was mit Sensorik?", "und für Pop-up-Stores?", "eher was für Senioren"):
        assert understanding.detect_theme_names(kind_of_solution) == [], kind_of_solution
        assert understanding.detect_themes(kind_of_solution), kind_of_solution  # search still reads the synonym
    # A compound led by a theme's name counts only where the message says it is about a theme.
    assert understanding.detect_theme_names("Fokus auf Tourismuslenkung", compounds=True) == ["tourismus"]
    assert understanding.detect_theme_names("wenn's eher ums Sicherheitsgefühl geht", compounds=True) == ["sicherheit"]
    assert understanding.detect_theme_names("gibt es das auch mit Wasserstoff?") == []
    assert understanding.detect_theme_names("rund um Schule und Lernen") == ["bildung"]
