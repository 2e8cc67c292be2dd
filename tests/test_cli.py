"""The atlas command line: validate, index, import, export and serve's start-up checks."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.corpus import shipped_corpus
from service.cli import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_validate_passes_and_summarises(runner: CliRunner, corpus_dir: Path) -> None:
    result = runner.invoke(main, ["validate", "--corpus", str(corpus_dir)])
    assert result.exit_code == 0, result.output
    assert "10 gültige Lösungen" in result.output
    assert "Raumtypen: innenstadt" in result.output and "0 Fehler" in result.output


def test_validate_reports_broken_record_with_file_field_fix(runner: CliRunner, corpus_dir: Path) -> None:
    path = corpus_dir / "solutions" / "einbeck-leerstandsmanagement.md"
    path.write_text(path.read_text(encoding="utf-8").replace("space_types: [innenstadt]", "space_types: [innenstatd]"), encoding="utf-8")
    result = runner.invoke(main, ["validate", "--corpus", str(corpus_dir)])
    assert result.exit_code == 1
    assert "solutions/einbeck-leerstandsmanagement.md: Fehler im Feld 'space_types': unbekannter Wert 'innenstatd'" in result.output
    assert "Erlaubt sind: innenstadt, quartier, gewerbegebiet" in result.output


def test_index_refuses_broken_corpus_before_loading_the_model(runner: CliRunner, corpus_dir: Path, tmp_path: Path) -> None:
    (corpus_dir / "solutions" / "kaputt.md").write_text("---\ntitle: [\n---\nText\n", encoding="utf-8")
    result = runner.invoke(main, ["index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 1
    assert "solutions/kaputt.md" in result.output and "YAML" in result.output
    assert not (tmp_path / "idx" / "current").exists()


def test_index_builds_and_publishes(runner: CliRunner, corpus_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(main, ["index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    assert "Index veröffentlicht" in result.output and "10 Lösungen" in result.output
    assert (tmp_path / "idx" / "current" / "manifest.json").is_file()
    manifest = json.loads((tmp_path / "idx" / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tuned"]  # by default the model is fine-tuned on the corpus first
    args = ["index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "idx"), "--if-changed"]
    again = runner.invoke(main, args)
    assert again.exit_code == 0 and "Index ist aktuell" in again.output
    # A small edit keeps the fine-tuned model (no minutes of training per edit) and embeds only the changed texts.
    record = corpus_dir / "solutions" / "einbeck-leerstandsmanagement.md"
    record.write_text(record.read_text(encoding="utf-8").replace("\ntitle: ", f"\ntitle: Fassung {secrets.token_hex(3)} – ", 1),
                      encoding="utf-8")  # a title no earlier run has put into the vector cache
    edited = runner.invoke(main, args)
    assert edited.exit_code == 0 and "Behalte das angepasste Modell" in edited.output, edited.output
    assert "10% der Lösungen geändert" in edited.output and " 2 Texte neu eingebettet" in edited.output  # passage and title
    assert json.loads((tmp_path / "idx" / "current" / "manifest.json").read_text(encoding="utf-8"))["tuned"] == manifest["tuned"]
    base = runner.invoke(main, args, env={"ATLAS_TUNE": "false"})  # switching tuning off is a change: rebuild
    assert base.exit_code == 0 and "Index veröffentlicht" in base.output, base.output
    assert json.loads((tmp_path / "idx" / "current" / "manifest.json").read_text(encoding="utf-8"))["tuned"] is None


def test_export_then_import_into_new_folder(runner: CliRunner, corpus_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "korpus.jsonl"
    assert runner.invoke(main, ["export", "--corpus", str(corpus_dir), "--format", "jsonl", "-o", str(out)]).exit_code == 0
    target = tmp_path / "neu"  # does not exist yet: import creates it with the standard taxonomy
    result = runner.invoke(main, ["import", str(out), "--corpus", str(target)])
    assert result.exit_code == 0, result.output
    assert "Standard-Taxonomie angelegt" in result.output
    assert (target / "taxonomy.yaml").read_bytes() == (shipped_corpus() / "taxonomy.yaml").read_bytes()
    assert "10 geschrieben, 0 übersprungen, 0 abgelehnt" in result.output
    assert runner.invoke(main, ["validate", "--corpus", str(target)]).exit_code == 0


def test_import_with_rejected_rows_exits_non_zero(runner: CliRunner, corpus_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "zeilen.jsonl"
    path.write_text('{"id": "Falsch Geschrieben", "title": "x"}\n', encoding="utf-8")
    result = runner.invoke(main, ["import", str(path), "--corpus", str(corpus_dir)])
    assert result.exit_code == 1
    assert "zeilen.jsonl:1: Fehler im Feld 'id'" in result.output and "1 abgelehnt" in result.output


def test_missing_corpus_folder_is_a_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["validate", "--corpus", str(tmp_path)])
    assert result.exit_code == 1 and "solutions" in result.output


def test_serve_without_index_explains_what_to_do(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["serve", "--index", str(tmp_path / "leer")])
    assert result.exit_code == 1
    assert "atlas index" in result.output
