"""Import and export: CSV and JSON Lines round trips, row-level rejection, nothing half-written."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from indexer.corpus import load_corpus
from indexer.exchange import ExchangeError, export_corpus, import_file


def empty_corpus(tmp_path: Path, source: Path) -> Path:
    target = tmp_path / "neu"
    (target / "solutions").mkdir(parents=True)
    shutil.copy(source / "taxonomy.yaml", target / "taxonomy.yaml")
    return target


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_round_trip_reproduces_the_corpus(tmp_path: Path, corpus_dir: Path, fmt: str) -> None:
    text, problems = export_corpus(corpus_dir, fmt)
    assert not [p for p in problems if p.severity == "error"]
    dump = tmp_path / f"export.{fmt}"
    dump.write_text(text, encoding="utf-8")
    target = empty_corpus(tmp_path, corpus_dir)
    report = import_file(dump, target)
    assert len(report.written) == 10 and not report.rejected
    original = {r.id: r.to_dict() for r in load_corpus(corpus_dir).records}
    again = {r.id: r.to_dict() for r in load_corpus(target).records}
    assert again == original
    # A second import of the same file changes nothing.
    second = import_file(dump, target)
    assert second.written == [] and len(second.skipped) == 10


def test_csv_rows_are_checked_one_by_one(tmp_path: Path, corpus_dir: Path) -> None:
    text, _ = export_corpus(corpus_dir, "csv")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))
    rows[0]["themes"] = "daten; raumfahrt"  # written back in the older comma layout, where ";" joined list items
    rows[1]["space_types"] = ""
    rows[2]["id"] = rows[3]["id"]
    del rows[4]["indicators"], rows[4]["raumwirkungen"]  # optional fields may be missing
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "tabelle.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    target = empty_corpus(tmp_path, corpus_dir)
    report = import_file(path, target)
    rejected = dict(report.rejected)
    assert set(rejected) == {"tabelle.csv:2", "tabelle.csv:3", "tabelle.csv:5"}
    assert any(p.field == "themes" and "raumfahrt" in p.message for p in rejected["tabelle.csv:2"])
    assert any(p.field == "space_types" for p in rejected["tabelle.csv:3"])
    assert len(report.written) == 7
    assert sorted(p.stem for p in (target / "solutions").glob("*.md")) == sorted(report.written)
    assert not list((target / "solutions").glob(".*"))  # no temporary files left behind
    assert load_corpus(target).errors == []


def test_jsonl_bad_lines_and_existing_files(tmp_path: Path, corpus_dir: Path) -> None:
    text, _ = export_corpus(corpus_dir, "jsonl")
    lines = text.splitlines()
    changed = json.loads(lines[1])
    changed["title"] = "Geänderter Titel"
    path = tmp_path / "neu.jsonl"
    path.write_text("\n".join([lines[0], "{kaputt", json.dumps(changed)]) + "\n", encoding="utf-8")
    report = import_file(path, corpus_dir)
    assert report.skipped == [(json.loads(lines[0])["id"], "unverändert")]
    labels = [label for label, _ in report.rejected]
    assert labels == ["neu.jsonl:2", "neu.jsonl:3"]  # broken JSON; existing id with other content
    before = (corpus_dir / "solutions" / f"{changed['id']}.md").read_text(encoding="utf-8")
    assert "Geänderter Titel" not in before
    updated = import_file(path, corpus_dir, update=True)
    assert updated.written == [changed["id"]]
    assert "Geänderter Titel" in (corpus_dir / "solutions" / f"{changed['id']}.md").read_text(encoding="utf-8")


def test_unknown_file_type_is_refused(tmp_path: Path, corpus_dir: Path) -> None:
    path = tmp_path / "daten.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(ExchangeError):
        import_file(path, corpus_dir)
