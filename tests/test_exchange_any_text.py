"""Import and export accept any text (issue 10): semicolons, quotes, line breaks, emoji and any Unicode inside list
items and fields round-trip losslessly through CSV and JSON Lines, and an outside team's 60 records import whole."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from indexer.corpus import Record, Taxonomy, check_record, load_corpus
from indexer.exchange import export_records, import_file
from tests.conftest import FIXTURES

TAXONOMY = Taxonomy.load(FIXTURES / "corpus" / "taxonomy.yaml")
BASE = load_corpus(FIXTURES / "corpus").records[0].to_dict()

# Any printable or control text except the NUL character and lone surrogates (neither can be stored in UTF-8 files).
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=30)
PROSE = st.sampled_from(["Mitwirkung der Eigentümer; insbesondere der Erbengemeinschaften", 'Die „Ladenampel“ sagt "frei"',
                         "Zeile eins\nZeile zwei", "[Klammer] am Anfang", "Emoji 🚲🌳 und Ümläute", "a;b;c", "  Leerraum  "])
ITEM = st.one_of(ANY_TEXT, PROSE)
# Places inside Germany (the fixture record's state): any name, coordinates with up to five decimals.
PLACES = st.lists(st.fixed_dictionaries({
    "place": st.one_of(st.just(""), ITEM),
    "lat": st.floats(47.3, 55.0).map(lambda x: round(x, 5)),
    "lon": st.floats(5.9, 15.0).map(lambda x: round(x, 5)),
}), max_size=3)


def validated(data: dict[str, Any]) -> Record | None:
    """The record as the validator builds it (None if the validator rejects it)."""
    data = dict(data)
    body = data.pop("description")
    record, _ = check_record(data, body, "x.md", TAXONOMY)
    return record


def round_trip(records: list[Record], fmt: str, tmp: Path) -> dict[str, dict[str, Any]]:
    """Export, import into a fresh corpus folder, load it back."""
    dump = tmp / f"export.{fmt}"
    dump.write_bytes(export_records(records, fmt).encode("utf-8"))
    target = tmp / f"korpus-{fmt}"
    shutil.rmtree(target, ignore_errors=True)
    (target / "solutions").mkdir(parents=True)
    shutil.copy(FIXTURES / "corpus" / "taxonomy.yaml", target / "taxonomy.yaml")
    report = import_file(dump, target)
    assert not report.rejected, report.rejected
    return {r.id: dict(r.to_dict()) for r in load_corpus(target).records}


def with_texts(base: dict[str, Any], n: int, items: list[str], title: str) -> dict[str, Any]:
    """A variant of the fixture record whose list items and title carry the given text."""
    data = {**base, "id": f"{base['id']}-{n}", "title": title}
    data["challenges"] = [*items, *base["challenges"]][:6]
    data["indicators"] = [*items[::-1], *base["indicators"]][:5]
    data["effects"] = {"intended": [*items, *base["effects_intended"]][:4], "unintended": list(base["effects_unintended"])}
    for key in ("effects_intended", "effects_unintended"):
        data.pop(key, None)
    return data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=st.lists(ITEM, min_size=1, max_size=4), title=ITEM, description=st.one_of(ANY_TEXT, PROSE), places=PLACES)
def test_any_text_round_trips_through_csv_and_jsonl(tmp_path_factory: Any, items: list[str], title: str, description: str,
                                                    places: list[dict[str, Any]]) -> None:
    data = with_texts(BASE, 1, items, title)
    data["description"] = description + "\n\n" + BASE["description"]
    data["location"] = places
    record = validated(data)
    assume(record is not None)
    assert record is not None
    tmp = tmp_path_factory.mktemp("rt")
    for fmt in ("csv", "jsonl"):
        again = round_trip([record], fmt, tmp)
        assert again == {record.id: dict(record.to_dict())}, fmt


def test_an_outside_teams_60_records_import_whole(tmp_path: Path) -> None:
    """The issue's case: 14 of 60 records were rejected because list items contained a semicolon."""
    prose = ["Mitwirkung der Eigentümer; insbesondere der Erbengemeinschaften, ist schwer zu gewinnen",
             'Händler fragen: „Was bringt uns das?“ – und meinen "Umsatz"',
             "Leerstand wächst;\nzugleich fehlen Daten", "Kosten: 12.000 €; Förderung 90 %"]
    records = []
    for n in range(60):
        record = validated({**with_texts(BASE, n, [prose[n % 4], prose[(n + 1) % 4]], f"Lösung {n}; Teil „{n}“"),
                            "description": BASE["description"]})
        assert record is not None, n
        records.append(record)
    for fmt in ("csv", "jsonl"):
        again = round_trip(records, fmt, tmp_path)
        assert len(again) == 60, fmt
        assert again == {r.id: dict(r.to_dict()) for r in records}, fmt


def test_csv_opens_in_german_spreadsheets(tmp_path: Path) -> None:
    record = validated({**with_texts(BASE, 0, ["eins; zwei", "drei"], "Titel"), "description": BASE["description"]})
    assert record is not None
    text = export_records([record], "csv")
    assert text.startswith("\ufeffid;title;summary;")  # BOM and ";" between columns: Excel opens it as UTF-8 columns
    assert "\r\n" in text
    assert '"eins; zwei\ndrei' in text  # one item per line inside the quoted cell
