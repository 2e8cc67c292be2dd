"""Corpus validation: every error names file, field and fix; guidelines are only warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.corpus import load_corpus, summary_counts

ROOT = Path(__file__).parent.parent
GOOD = "ulm-besuchertrend-innenstadt"


def edit(corpus_dir: Path, name: str, old: str, new: str) -> Path:
    path = corpus_dir / "solutions" / f"{name}.md"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def errors_for(corpus_dir: Path) -> list[tuple[str, str, str]]:
    return [(p.file, p.field, p.message) for p in load_corpus(corpus_dir).errors]


def test_fixture_corpus_is_valid(corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir)
    assert corpus.errors == []
    assert len(corpus.records) == 10


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("themes: [einzelhandel_leerstand, daten]", "themes: [einzelhandel_leerstand, raumfahrt]", "themes", "unbekannter Wert 'raumfahrt'"),
        ("space_types: [innenstadt]", "space_types: [innenstadt, wald]", "space_types", "unbekannter Wert 'wald'"),
        ("raumwirkungen: [oeffentlicher_raum]", "raumwirkungen: [mondlandung]", "raumwirkungen", "unbekannter Wert"),
        ("status: umsetzung", "status: fertig", "status", "unbekannter Status"),
        ("municipality: Ulm\n", "", "municipality", "Pflichtfeld fehlt"),
        ("  - https://citysens.de/success-story/besuchertrend-in-der-innenstadt", "  - citysens punkt de", "sources", "keine URL"),
        ("updated: 2026-11-27", "updated: gestern", "updated", "kein Datum"),
        ("id: ulm-besuchertrend-innenstadt", "id: ulm-anders", "id", "passt nicht zum Dateinamen"),
        ("id: ulm-besuchertrend-innenstadt", "id: Ulm_Besuch", "id", "keine gültige Kennung"),
        ("themes: [einzelhandel_leerstand, daten]", "themes: einzelhandel_leerstand", "themes", "muss eine Liste sein"),
        ("title: Besuchertrend", "titel: Besuchertrend", "titel", "unbekanntes Feld"),
    ],
)
def test_each_schema_error_names_file_field_and_fix(corpus_dir: Path, old: str, new: str, field: str, message: str) -> None:
    edit(corpus_dir, GOOD, old, new)
    corpus = load_corpus(corpus_dir)
    matches = [p for p in corpus.errors if p.field == field and message in p.message]
    assert matches, [str(p) for p in corpus.problems]
    problem = matches[0]
    assert problem.file == f"solutions/{GOOD}.md"
    assert problem.fix  # every error says how to fix it
    assert GOOD not in {r.id for r in corpus.records}  # an invalid record is never indexed


def test_broken_yaml_reports_line(corpus_dir: Path) -> None:
    edit(corpus_dir, GOOD, "title: Besuchertrend", "title: [Besuchertrend")
    (problem,) = [p for p in load_corpus(corpus_dir).errors if p.file.endswith(f"{GOOD}.md")]
    assert problem.field == "(YAML)" and "Zeile" in problem.message


def test_missing_front_matter_and_empty_body(corpus_dir: Path) -> None:
    (corpus_dir / "solutions" / "leer.md").write_text("Nur Text, keine Kopfdaten.\n", encoding="utf-8")
    path = corpus_dir / "solutions" / f"{GOOD}.md"
    head = path.read_text(encoding="utf-8").split("\n---\n")[0]
    path.write_text(head + "\n---\n\n", encoding="utf-8")
    errors = errors_for(corpus_dir)
    assert ("solutions/leer.md", "(Kopfdaten)", "keine YAML-Kopfdaten gefunden") in errors
    assert any(f == f"solutions/{GOOD}.md" and fld == "description" for f, fld, _ in errors)


def test_duplicate_id_is_an_error(corpus_dir: Path) -> None:
    source = corpus_dir / "solutions" / f"{GOOD}.md"
    copy = corpus_dir / "solutions" / "zz-kopie.md"
    copy.write_text(source.read_text(encoding="utf-8").replace(f"id: {GOOD}", "id: zz-kopie"), encoding="utf-8")
    assert errors_for(corpus_dir) == []
    copy.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    messages = [m for _, _, m in errors_for(corpus_dir)]
    assert any("passt nicht zum Dateinamen" in m for m in messages)


def test_guidelines_are_warnings_not_errors(corpus_dir: Path) -> None:
    path = corpus_dir / "solutions" / f"{GOOD}.md"
    head = path.read_text(encoding="utf-8").split("\n---\n")[0]
    path.write_text(head + "\n---\n\nKurzer Text mit wenigen Wörtern.\n", encoding="utf-8")
    corpus = load_corpus(corpus_dir)
    assert corpus.errors == []
    assert any(p.field == "description" and p.severity == "warning" for p in corpus.warnings)
    assert GOOD in {r.id for r in corpus.records}


def test_real_corpus_is_valid_and_covers_every_space_type_and_theme() -> None:
    corpus = load_corpus(ROOT / "corpus")
    assert corpus.errors == [], [str(p) for p in corpus.errors][:10]
    counts = summary_counts(corpus.records, corpus.taxonomy)
    assert len(corpus.records) >= 200
    assert counts["space_types"]["innenstadt"] >= 60
    assert counts["space_types"]["quartier"] >= 55
    assert counts["space_types"]["gewerbegebiet"] >= 45
    assert all(n > 0 for n in counts["themes"].values()), counts["themes"]


@pytest.mark.parametrize(
    ("status", "sentence", "warned"),
    [
        ("verstetigt", "Wie weit der Regelbetrieb heute reicht, ist nach den Angaben nicht sicher.", True),
        ("umsetzung", "Ob der Dienst danach weiterbetrieben wurde, geht aus der Quelle nicht hervor.", True),
        ("umsetzung", "Wie es danach weiterging, ist nicht bekannt.", True),
        ("abgeschlossen", "Ob der Dienst danach weiterbetrieben wurde, geht aus der Quelle nicht hervor.", False),
        ("umsetzung", "Wie weit die Umsetzung fortgeschritten ist, ist nicht sicher.", False),  # running, extent unclear: fine
        ("verstetigt", "Die Stadt betreibt das System seit 2022 im Regelbetrieb.", False),
    ],
)
def test_status_rule_warns_where_the_body_doubts_the_status(corpus_dir: Path, status: str, sentence: str, warned: bool) -> None:
    path = edit(corpus_dir, GOOD, "status: umsetzung", f"status: {status}")
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + f" {sentence}\n", encoding="utf-8")
    corpus = load_corpus(corpus_dir)
    assert corpus.errors == []
    found = [p for p in corpus.warnings if p.field == "status" and p.file.endswith(f"{GOOD}.md")]
    assert bool(found) is warned, [str(p) for p in found]
    if warned:
        assert "Statusregel" in found[0].fix
