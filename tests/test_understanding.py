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
