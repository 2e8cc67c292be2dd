"""Solutions side by side (/vergleich): the same fields of 2–4 records as rows, for the page and its exports."""

from __future__ import annotations

import csv
import io

from indexer.corpus import RecordDict
from indexer.places import SIZE_CLASSES
from service.explain import Presenter
from service.feedback import spreadsheet_cell

MIN_COMPARED, MAX_COMPARED = 2, 4


def comparison(records: list[RecordDict], presenter: Presenter) -> list[tuple[str, list[list[str]]]]:
    """(row label, per record the row's values) for every compared field, in the order planners read them."""
    def labels(kind: str, record: RecordDict, field: str) -> list[str]:
        return [presenter.label(kind, slug) for slug in record[field]]  # type: ignore[literal-required]

    return [
        ("Ort", [[f"{r['municipality']} ({r['state']})"] for r in records]),
        ("Größe der Kommune", [[SIZE_CLASSES[r.get("size_class", "")]] if r.get("size_class") else [] for r in records]),
        ("Status", [[presenter.label("status", r["status"])] for r in records]),
        ("Programm", [[presenter.program(r)] for r in records]),
        ("Raumtypen", [labels("space_types", r, "space_types") for r in records]),
        ("Themen", [labels("themes", r, "themes") for r in records]),
        ("Raumwirkungen", [labels("raumwirkungen", r, "raumwirkungen") for r in records]),
        ("Herausforderungen", [list(r["challenges"]) for r in records]),
        ("Beabsichtigte Wirkungen", [list(r["effects_intended"]) for r in records]),
        ("Unbeabsichtigte Wirkungen", [list(r["effects_unintended"]) for r in records]),
        ("Indikatoren", [list(r["indicators"]) for r in records]),
        ("Quellen", [list(r["sources"]) for r in records]),
        ("Stand der Angaben", [[r["updated"]] for r in records]),
    ]


def comparison_markdown(records: list[RecordDict], presenter: Presenter) -> str:
    def cell(values: list[str]) -> str:
        return "<br>".join(v.replace("|", "\\|").replace("\n", " ") for v in values) or "–"

    lines = ["# Vergleich aus dem Atlas-Lotsen", "", "| | " + " | ".join(cell([r["title"]]) for r in records) + " |",
             "|---" * (len(records) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(cell(v) for v in values) + " |" for label, values in comparison(records, presenter)]
    return "\n".join(lines) + "\n"


def comparison_csv(records: list[RecordDict], presenter: Presenter) -> str:
    """Semicolon CSV with a BOM (opens in German Excel); several values in one cell, one per line."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["", *[spreadsheet_cell(r["title"]) for r in records]])
    for label, values in comparison(records, presenter):
        writer.writerow([label, *["\n".join(spreadsheet_cell(v) for v in cell) for cell in values]])
    return buffer.getvalue()

