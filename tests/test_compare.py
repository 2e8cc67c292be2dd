"""Solutions side by side (/vergleich): the page, its limits and its Markdown and CSV downloads."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

IDS = "einbeck-leerstandsmanagement,ulm-besuchertrend-innenstadt"
HTML = {"Accept": "text/html"}


def test_two_solutions_side_by_side(client: TestClient) -> None:
    page = client.get(f"/vergleich?ids={IDS}", headers=HTML)
    assert page.status_code == 200 and "<table" in page.text
    assert page.text.count('<th scope="col" data-id=') == 2
    for label in ("Raumtypen", "Themen", "Raumwirkungen", "Beabsichtigte Wirkungen", "Unbeabsichtigte Wirkungen",
                  "Indikatoren", "Status", "Ort", "Programm", "Quellen"):
        assert f'<th scope="row">{label}</th>' in page.text, label
    assert "Einbeck (Niedersachsen)" in page.text and "https://" in page.text and "<script" not in page.text.split("</main>")[0]


def test_one_five_or_unknown_ids_get_a_clear_page(client: TestClient) -> None:
    one = client.get("/vergleich?ids=einbeck-leerstandsmanagement", headers=HTML)
    assert one.status_code == 422 and "2 bis 4 Lösungen" in one.text
    five = client.get("/vergleich?ids=" + ",".join(["a", "b", "c", "d", "e"]), headers=HTML)
    assert five.status_code == 422
    unknown = client.get("/vergleich?ids=einbeck-leerstandsmanagement,gibt-es-nicht", headers=HTML)
    assert unknown.status_code == 404 and "gibt-es-nicht" in unknown.text
    twice = client.get("/vergleich?ids=einbeck-leerstandsmanagement,einbeck-leerstandsmanagement", headers=HTML)
    assert twice.status_code == 422  # the same solution twice is one solution


def test_markdown_and_csv_downloads(client: TestClient) -> None:
    markdown = client.get(f"/vergleich.md?ids={IDS}")
    assert markdown.status_code == 200 and markdown.text.startswith("# Vergleich aus dem Atlas-Lotsen")
    assert "| Raumtypen |" in markdown.text and "attachment" in markdown.headers["content-disposition"]
    table = client.get(f"/vergleich.csv?ids={IDS}")
    rows = list(csv.reader(io.StringIO(table.text.lstrip("\ufeff")), delimiter=";"))
    assert table.text.startswith("\ufeff") and len(rows[0]) == 3 and rows[0][0] == ""
    assert [r[0] for r in rows[1:5]] == ["Ort", "Größe der Kommune", "Status", "Programm"]
