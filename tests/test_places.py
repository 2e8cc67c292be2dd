"""Locations and size classes (issue 14, item 1): from the GeoNames gazetteer, never typed, checked on every record."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.cli import main
from indexer.corpus import check_record, load_corpus, shipped_corpus
from indexer.places import BOUNDS, Gazetteer, place_record
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def test_places_are_found_in_the_records_land_with_their_size_class(gazetteer: Gazetteer) -> None:
    halle = place_record("Halle (Saale)", "Sachsen-Anhalt", gazetteer, {})
    assert [x.place for x in halle.locations] == ["Halle (Saale)"] and halle.size_class == "grossstadt"
    assert 51.4 < halle.locations[0].lat < 51.6 and 11.9 < halle.locations[0].lon < 12.1
    # the Land decides between places of the same name: Langen in Hessen is not Langen in Niedersachsen
    hessen, nds = gazetteer.find("Langen", "Hessen"), gazetteer.find("Langen", "Niedersachsen")
    assert hessen and nds and hessen.lat < 50.1 < 53.0 < nds.lat
    assert place_record("Zwönitz", "Sachsen", gazetteer, {}).size_class == "kleinstadt"
    assert place_record("Einbeck", "Niedersachsen", gazetteer, {}).size_class == "mittelstadt"
    county = place_record("Landkreis Cham", "Bayern", gazetteer, {})
    assert county.size_class == "region" and [x.place for x in county.locations] == ["Cham"]
    several = place_record("Dortmund und Schwerte", "Nordrhein-Westfalen", gazetteer, {})
    assert [x.place for x in several.locations] == ["Dortmund", "Schwerte"] and several.size_class == "grossstadt"
    district = place_record("Berlin-Reinickendorf", "Berlin", gazetteer, {})
    assert district.locations and district.size_class == "grossstadt"  # a district belongs to a city > 100,000
    abroad = place_record("Wien", "Wien (Österreich)", gazetteer, {})
    assert abroad.locations and abroad.locations[0].lon > 16


def test_places_yaml_says_which_places_a_region_means(gazetteer: Gazetteer) -> None:
    overrides = {"Westküste (Kreise Pinneberg, Steinburg)": ["Pinneberg", "Itzehoe"], "Saarland (landesweit)": []}
    west = place_record("Westküste (Kreise Pinneberg, Steinburg)", "Schleswig-Holstein", gazetteer, overrides)
    assert [x.place for x in west.locations] == ["Pinneberg", "Itzehoe"] and west.how == "places.yaml"
    land = place_record("Saarland (landesweit)", "Saarland", gazetteer, overrides)
    assert land.locations == [] and land.how == "landesweit" and land.size_class == "region"
    assert place_record("Nirgendwo am See", "Bayern", gazetteer, {}).how == "nicht gefunden"


def test_a_location_outside_the_named_country_is_an_error_that_names_the_fix() -> None:
    taxonomy = load_corpus(FIXTURES / "corpus").taxonomy
    base = dict(load_corpus(FIXTURES / "corpus").records[0].to_dict())
    body = base.pop("description")
    swapped = {**base, "location": {"place": "Berlin", "lat": 13.4, "lon": 52.5}}
    record, problems = check_record(swapped, body, "x.md", taxonomy)
    assert record is None and any(p.field == "location" and "vertauscht" in p.fix for p in problems)
    text = {**base, "location": [{"lat": "nördlich", "lon": 9}]}
    assert any(p.field == "location" and "keine Zahlen" in p.message for p in check_record(text, body, "x.md", taxonomy)[1])
    vienna = {**base, "state": "Wien (Österreich)", "location": {"place": "Wien", "lat": 48.2085, "lon": 16.3721}}
    record, _ = check_record(vienna, body, "x.md", taxonomy)
    assert record is not None and record.location[0].lon == 16.3721
    wrong_class = {**base, "size_class": "dorf"}
    assert any(p.field == "size_class" for p in check_record(wrong_class, body, "x.md", taxonomy)[1])


def test_atlas_locate_adds_two_fields_and_keeps_the_editors_text(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", corpus)
    for path in (corpus / "solutions").glob("*.md"):  # records as an editor writes them, before atlas locate
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(x for x in lines if not x.startswith(("location:", "- {place:", "size_class:"))), encoding="utf-8")
    before = {p.name: p.read_text(encoding="utf-8") for p in (corpus / "solutions").glob("*.md")}
    runner = CliRunner()
    dry = runner.invoke(main, ["locate", "--corpus", str(corpus), "--dry-run"])
    assert dry.exit_code == 0 and "würden geändert" in dry.output
    assert {p.name: p.read_text(encoding="utf-8") for p in (corpus / "solutions").glob("*.md")} == before
    result = runner.invoke(main, ["locate", "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    for path in (corpus / "solutions").glob("*.md"):
        old, new = before[path.name].splitlines(), path.read_text(encoding="utf-8").splitlines()
        added = [line for line in new if line not in old]
        assert [line for line in new if line not in added] == old  # nothing else changed
        assert any(line.startswith("size_class: ") for line in added), path.name
    records = load_corpus(corpus).records
    assert not load_corpus(corpus).errors and all(r.location for r in records)
    again = runner.invoke(main, ["locate", "--corpus", str(corpus)])
    assert again.exit_code == 0 and again.output.rstrip().endswith("0 Lösungen geändert.")


def test_the_shipped_atlas_locates_nine_in_ten_records_inside_germany() -> None:
    records = load_corpus(shipped_corpus()).records
    lon_min, lat_min, lon_max, lat_max = BOUNDS["DE"]
    inside = [r for r in records if any(lon_min <= x.lon <= lon_max and lat_min <= x.lat <= lat_max for x in r.location)]
    assert len(inside) >= 0.9 * len(records), (len(inside), len(records))
    assert all(r.size_class for r in records if r.location)
