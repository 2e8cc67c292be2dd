"""/karte, /loesung/{id} and the locator map over the shipped atlas (issue 14): markers for nine in ten solutions,
filters, nothing from elsewhere, clear errors."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from indexer.geodata import HEIGHT, WIDTH
from indexer.places import BOUNDS


def test_the_map_marks_nine_in_ten_solutions_and_loads_nothing_from_elsewhere(atlas_client: TestClient) -> None:
    page = atlas_client.get("/karte")
    assert page.status_code == 200 and "<svg" in page.text
    records = [atlas_client.get(f"/api/solutions/{rid}").json()
               for rid in re.findall(r'<li data-id="([a-z0-9-]+)"', page.text)]
    marked = set(re.findall(r'<a href="/loesung/([a-z0-9-]+)" data-id="\1"', page.text))
    assert len(records) > 300 and len(marked) >= 0.9 * len(records), (len(marked), len(records))
    lon_min, lat_min, lon_max, lat_max = BOUNDS["DE"]
    located = [r for r in records if any(lon_min <= p["lon"] <= lon_max and lat_min <= p["lat"] <= lat_max for p in r["location"])]
    assert len(located) >= 0.9 * len(records)
    assert len(re.findall(r'<path d="M', page.text)) == 16  # the Länder from the prepared boundary file
    for x, y in re.findall(r'<circle class="marker-shape" cx="([\d.]+)" cy="([\d.]+)"', page.text):
        assert 0 <= float(x) <= WIDTH and 0 <= float(y) <= HEIGHT
    urls = set(re.findall(r'(?:src|href)="([^"]+)"', page.text))
    assert all(u.startswith(("/", "#", "http://testserver/")) for u in urls), urls


def test_map_filters_match_the_records_fields(atlas_client: TestClient) -> None:
    page = atlas_client.get("/karte", params={"space_type": "gewerbegebiet", "state": "Bayern"})
    ids = re.findall(r'<li data-id="([a-z0-9-]+)"', page.text)
    assert ids
    for rid in ids:
        record = atlas_client.get(f"/api/solutions/{rid}").json()
        assert "gewerbegebiet" in record["space_types"] and "Bayern" in record["state"]
    small = atlas_client.get("/karte", params={"size_class": "kleinstadt"})
    for rid in re.findall(r'<li data-id="([a-z0-9-]+)"', small.text):
        assert atlas_client.get(f"/api/solutions/{rid}").json()["size_class"] == "kleinstadt"
    wrong = atlas_client.get("/karte", params={"state": "Atlantis"})
    assert wrong.status_code == 422 and "Filterwert" in wrong.json()["error"]


def test_solution_page_and_locator(atlas_client: TestClient) -> None:
    page = atlas_client.get("/loesung/ulm-besuchertrend-innenstadt")
    assert page.status_code == 200
    assert "<h1>Besuchertrend in der Innenstadt" in page.text and "Großstadt (ab 100.000 Einwohner)" in page.text
    assert 'role="img" aria-label="Lage: Ulm (Baden-Württemberg)"' in page.text
    svg = atlas_client.get("/loesung/ulm-besuchertrend-innenstadt/karte.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.text.count('data-id="ulm-besuchertrend-innenstadt"') == 1
    landesweit = atlas_client.get("/loesung/saarland-gewerbeflaechenkataster-luftbild")
    assert landesweit.status_code == 200 and "locator" not in landesweit.text  # no single place: no locator map
    missing = atlas_client.get("/loesung/gibt-es-nicht")
    assert missing.status_code == 404 and "gibt es im Atlas nicht" in missing.json()["error"]


def test_search_and_chat_filter_by_land_and_size_class(atlas_client: TestClient) -> None:
    question = "In unserer Fußgängerzone stehen immer mehr Läden leer."
    bavarian = atlas_client.post("/api/search", json={"query": question, "land": "Bayern"}).json()["results"]
    assert bavarian and all("Bayern" in r["state"] for r in bavarian)
    small = atlas_client.post("/api/search", json={"query": question, "size_class": "kleinstadt"}).json()["results"]
    assert small and all(atlas_client.get(f"/api/solutions/{r['id']}").json()["size_class"] == "kleinstadt" for r in small)
    assert atlas_client.post("/api/search", json={"query": question, "land": "Atlantis"}).status_code == 422
    chat = atlas_client.post("/api/chat", json={"message": question, "land": "Nordrhein-Westfalen"}).json()
    assert chat["results"] and all("Nordrhein-Westfalen" in r["state"] for r in chat["results"])
    assert chat["state"]["land"] == "Nordrhein-Westfalen"


def test_what_a_planner_says_about_their_town_puts_towns_like_theirs_first(atlas_client: TestClient) -> None:
    def size_classes(results: list[dict[str, str]]) -> list[str]:
        return [atlas_client.get(f"/api/solutions/{r['id']}").json()["size_class"] for r in results]

    first = atlas_client.post("/api/chat", json={"message": "Unser Ortskern verödet, die Läden schließen."}).json()
    then = atlas_client.post("/api/chat", json={"message": "wir sind eine Gemeinde mit 8000 Einwohnern",
                                                "state": first["state"]}).json()
    assert then["turn"] == "context" and "Kleinstädten und Gemeinden (unter 20.000 Einwohner)" in then["message"]
    before, after = size_classes(first["results"]), size_classes(then["results"])
    assert after.count("kleinstadt") > before.count("kleinstadt"), (before, after)
    assert after[0] == "kleinstadt"
    county = atlas_client.post("/api/chat", json={"message": "wir sind ein Landkreis in Bayern", "state": first["state"]}).json()
    assert "aus Landkreisen und Regionen und aus Bayern" in county["message"]
