"""Import and export of corpus records as CSV (spreadsheets) or JSON Lines."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.corpus import (
    LIST_FIELDS,
    Problem,
    Record,
    Taxonomy,
    check_record,
    load_corpus,
    parse_file,
    shipped_corpus,
)

# Flat column order shared by CSV and JSON Lines.
COLUMNS = (
    "id", "title", "summary", "space_types", "themes", "raumwirkungen", "challenges",
    "effects_intended", "effects_unintended", "indicators", "municipality", "state", "location", "size_class", "program",
    "program_detail", "status", "sources", "updated", "description",
)
FLAT_LISTS = (*LIST_FIELDS, "effects_intended", "effects_unintended")

# CSV layout (corpus/README.md): what German Excel and LibreOffice open with a double click – ";" between columns,
# UTF-8 with BOM, CRLF line ends, every cell quoted as needed. A list lives in one cell, one item per line; a list whose
# items cannot be written that way losslessly (an item with a line break, surrounding spaces, an empty item, or a cell
# that would start with "[") is written as a JSON array instead. Any text round-trips: semicolons, quotes, line breaks.
CSV_DELIMITER = ";"
LEGACY_SEPARATOR = ";"  # comma-separated files from before this layout joined list items with ";"


def _list_cell(items: list[str]) -> str:
    plain = all(item and item == item.strip() and item.splitlines() == [item] for item in items)
    if plain and not (items and items[0].startswith("[")):
        return "\n".join(items)
    return json.dumps(items, ensure_ascii=False)


def _json_list(value: str) -> list[Any] | None:
    """The cell as a JSON array, if it is one (the lossless fallback of both list and location cells)."""
    if not value.startswith("["):
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, list) else None


def _parse_list_cell(value: str, legacy: bool) -> list[str]:
    parsed = _json_list(value)
    if parsed is not None and all(isinstance(item, str) for item in parsed):
        return parsed
    lines = value.splitlines()
    if legacy and len(lines) <= 1:
        lines = value.split(LEGACY_SEPARATOR)
    return [line.strip() for line in lines if line.strip()]


# A location cell: one place per line, "Ulm (48.39841, 9.99155)"; a JSON array where a name cannot be written so.
_LOCATION_LINE = re.compile(r"^(.*?)\s*\(\s*([-+]?\d+(?:\.\d+)?)\s*,\s*([-+]?\d+(?:\.\d+)?)\s*\)$")


def _location_cell(places: list[dict[str, Any]]) -> str:
    names = [str(p.get("place") or "") for p in places]
    if all(name == name.strip() and len(name.splitlines()) <= 1 for name in names) and not (names and names[0].startswith("[")):
        return "\n".join(f"{name} ({p['lat']}, {p['lon']})".strip() for name, p in zip(names, places, strict=True))
    return json.dumps(places, ensure_ascii=False)


def _parse_location_cell(value: str) -> list[Any]:
    parsed = _json_list(value)
    if parsed is not None:
        return parsed
    places: list[Any] = []
    for line in value.splitlines():
        if not line.strip():
            continue
        match = _LOCATION_LINE.match(line.strip())
        # a line that is not "Ort (Breite, Länge)" stays as text, so the check names it
        places.append({"place": match.group(1), "lat": match.group(2), "lon": match.group(3)} if match else line.strip())
    return places


class ExchangeError(Exception):
    """The import file cannot be read at all."""


def export_records(records: list[Record], fmt: str) -> str:
    """The records as CSV or JSON Lines text, in id order."""
    rows: list[dict[str, Any]] = [dict(r.to_dict()) for r in sorted(records, key=lambda r: r.id)]
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    buffer = io.StringIO()
    buffer.write("\ufeff")  # the BOM tells Excel the file is UTF-8
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (_list_cell(v) if k in FLAT_LISTS else _location_cell(v) if k == "location" else v)
                         for k, v in row.items()})
    return buffer.getvalue()


def _read_rows(path: Path) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    """Yield (row label, row dict or None, parse error or None) for a CSV or JSON Lines file."""
    try:
        text = path.read_bytes().decode("utf-8-sig")  # no newline translation: line breaks inside cells stay as written
    except (OSError, UnicodeDecodeError) as exc:
        raise ExchangeError(f"{path}: Datei kann nicht gelesen werden ({exc}). Speichern Sie sie als UTF-8.") from exc
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 etc. may sit inside JSON
            if not line.strip():
                continue
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"{path.name}:{number}", None, f"Zeile ist kein gültiges JSON ({exc.msg})."
                continue
            if not isinstance(parsed, dict):
                yield f"{path.name}:{number}", None, "Zeile ist kein JSON-Objekt."
                continue
            yield f"{path.name}:{number}", parsed, None
        return
    if path.suffix.lower() != ".csv":
        raise ExchangeError(f"{path}: unbekanntes Format. Verwenden Sie eine .csv- oder .jsonl-Datei.")
    delimiter = ","
    try:  # only the delimiter is sniffed (from the header); quoting is always Excel's (a doubled quote is a quote)
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        pass
    legacy = delimiter == ","  # the comma layout joined list items with ";"
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=csv.excel, delimiter=delimiter)
    if not reader.fieldnames or "id" not in reader.fieldnames:
        raise ExchangeError(f"{path}: Kopfzeile ohne Spalte 'id'. Erwartet werden die Spalten: {', '.join(COLUMNS)}.")
    for number, raw in enumerate(reader, start=2):
        row: dict[str, Any] = {}
        for key, value in raw.items():
            if key is None:
                yield f"{path.name}:{number}", None, "Zeile hat mehr Spalten als die Kopfzeile."
                break
            if key in FLAT_LISTS:
                row[key] = _parse_list_cell((value or "").strip(), legacy)
            elif key == "location":
                row[key] = _parse_location_cell((value or "").strip())
            elif key == "description":
                if (value or "").strip():
                    row[key] = value  # the body keeps its line breaks and spacing
            elif (value or "").strip():
                row[key] = value.strip()
        else:
            yield f"{path.name}:{number}", row, None


@dataclass
class ImportReport:
    written: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, list[Problem]]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    created_taxonomy: Path | None = None  # a fresh corpus folder got the standard taxonomy


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write a file (text as UTF-8) so that readers see the old or the new content, never a part (fsync, then
    rename); a failed write leaves no temporary file behind."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class CheckedImport:
    """An import file read and checked: the valid records (each id once) and what was rejected."""

    records: list[tuple[str, Record]] = field(default_factory=list)  # (row label, record)
    rejected: list[tuple[str, list[Problem]]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check_import(path: Path, taxonomy: Taxonomy) -> CheckedImport:
    """Read every row of a CSV or JSON Lines file and check it like ``atlas validate``; writes nothing.

    Raises:
        ExchangeError: if the file cannot be read at all.
    """
    checked = CheckedImport()
    seen: set[str] = set()
    for label, row, error in _read_rows(path):
        if row is None:
            checked.rejected.append((label, [Problem(label, "(Zeile)", error or "unlesbar", "Korrigieren Sie die Zeile.")]))
            continue
        body = row.pop("description", None)
        record, problems = check_record(row, body if body is not None else "", label, taxonomy)
        checked.warnings.extend(p for p in problems if p.severity == "warning")
        if record is None:
            checked.rejected.append((label, [p for p in problems if p.severity == "error"]))
            continue
        if record.id in seen:
            checked.rejected.append((label, [Problem(label, "id", f"Kennung '{record.id}' kommt in der Datei mehrfach vor",
                                                    "Vergeben Sie eindeutige Kennungen.")]))
            continue
        seen.add(record.id)
        checked.records.append((label, record))
    return checked


def start_corpus(corpus_dir: Path) -> Path | None:
    """Give a new, empty corpus folder the atlas's standard taxonomy; returns the file if it was created."""
    taxonomy_file = corpus_dir / "taxonomy.yaml"
    if taxonomy_file.exists() or any((corpus_dir / "solutions").glob("*.md")):
        return None
    corpus_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(taxonomy_file, (shipped_corpus() / "taxonomy.yaml").read_text(encoding="utf-8"))
    return taxonomy_file


def import_file(path: Path, corpus_dir: Path, update: bool = False) -> ImportReport:
    """Check every row and write one file per valid record; each file is written atomically.

    A record whose file already exists with the same fields is skipped; with different content
    it is rejected unless ``update`` is set.

    Raises:
        ExchangeError: if the file cannot be read at all.
        CorpusError: if a corpus folder that already has solutions lacks its taxonomy.
    """
    solutions = corpus_dir / "solutions"
    report = ImportReport(created_taxonomy=start_corpus(corpus_dir))
    taxonomy = Taxonomy.load(corpus_dir / "taxonomy.yaml")
    solutions.mkdir(parents=True, exist_ok=True)
    checked = check_import(path, taxonomy)
    report.rejected.extend(checked.rejected)
    report.warnings.extend(checked.warnings)
    pending: list[tuple[Path, str, str]] = []
    for label, record in checked.records:
        target = solutions / f"{record.id}.md"
        if target.exists():
            existing, _ = parse_file(target, taxonomy)
            if existing is not None and existing.to_dict() == record.to_dict():
                report.skipped.append((record.id, "unverändert"))
                continue
            if not update:
                report.rejected.append((label, [Problem(label, "id", f"'{record.id}.md' gibt es schon mit anderem Inhalt",
                                                       "Mit --update überschreiben oder eine neue Kennung vergeben.")]))
                continue
        pending.append((target, record.id, record.to_markdown()))
    for target, rid, text in pending:
        write_atomic(target, text)
        report.written.append(rid)
    return report


def export_corpus(corpus_dir: Path, fmt: str) -> tuple[str, list[Problem]]:
    """Export the valid records of a corpus folder; returns the text and the problems found."""
    corpus = load_corpus(corpus_dir)
    return export_records(corpus.records, fmt), corpus.problems
