"""Corpus records: reading, validating and writing the editors' Markdown files."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import yaml

from indexer.places import SIZE_CLASSES, Location, LocationDict, check_location
from indexer.resources import bundled

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
URL_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*\.[^\s]+$|^https?://[^\s/$.?#][^\s]*$")
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.S)

# Field order as editors see it in a file (and as export writes it).
FIELDS = (
    "id", "title", "summary", "space_types", "themes", "raumwirkungen", "challenges",
    "effects", "indicators", "municipality", "state", "location", "size_class", "program", "program_detail", "status",
    "sources", "updated",
)
LIST_FIELDS = ("space_types", "themes", "raumwirkungen", "challenges", "indicators", "sources")
REQUIRED = (
    "id", "title", "summary", "space_types", "themes", "challenges", "municipality",
    "state", "program", "status", "sources", "updated",
)
# The status rule (corpus/README.md): a body that doubts whether the measure runs at all, or is in regular
# operation, must not carry a status that claims it.
_DOUBT = r"(nicht sicher|unsicher|ist offen|offen,|offen ist|nicht bekannt|unklar|nicht hervor)"
DOUBTS_OPERATION = re.compile(
    rf"\bob\b[^.]*\b(tatsächlich|weiterbetrieben|weiter|noch|dauerhaft)\b[^.]*{_DOUBT}|wie es danach weiterging|heute steht", re.I)
DOUBTS_STATE = re.compile(
    rf"\b(umsetzungsstand|stand|wie weit|fortgeschritten|regelbetrieb|dauerhaft|heute|umgesetzt)\b[^.]*{_DOUBT}", re.I)
# Editorial guidelines: outside these ranges a record still imports and indexes, with a warning.
BODY_WORDS = (120, 250)
CHALLENGES = (3, 6)
INDICATORS = (2, 4)



def shipped_corpus() -> Path:
    """The atlas's own corpus folder as shipped with the package (its taxonomy starts every new corpus)."""
    return bundled(__file__, "atlas_corpus", "corpus")


@dataclass(frozen=True)
class Problem:
    """One finding about one file: which field is wrong and how to fix it."""

    file: str
    field: str
    message: str
    fix: str
    severity: str = "error"  # "error" blocks indexing; "warning" does not

    def __str__(self) -> str:
        label = "Fehler" if self.severity == "error" else "Hinweis"
        return f"{self.file}: {label} im Feld '{self.field}': {self.message} – {self.fix}"


@dataclass
class Taxonomy:
    """The slugs and labels editors may use (corpus/taxonomy.yaml)."""

    space_types: dict[str, dict[str, Any]]
    themes: dict[str, dict[str, Any]]
    raumwirkungen: dict[str, dict[str, Any]]
    status: dict[str, dict[str, Any]]
    programs: dict[str, dict[str, Any]] = field(default_factory=dict)  # empty: `program` is free text

    @classmethod
    def load(cls, path: Path) -> Taxonomy:
        """Read taxonomy.yaml.

        Raises:
            CorpusError: if the file is missing or malformed.
        """
        if not path.is_file():
            raise CorpusError(f"{path}: Taxonomie-Datei fehlt – legen Sie taxonomy.yaml im Korpusordner an.")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise CorpusError(f"{path}: YAML ist fehlerhaft ({exc}).") from exc
        missing = [k for k in ("space_types", "themes", "raumwirkungen", "status") if not isinstance(data.get(k), dict)]
        if missing:
            raise CorpusError(f"{path}: Abschnitt(e) {', '.join(missing)} fehlen oder sind keine Zuordnung.")
        programs = data.get("programs") or {}
        if not isinstance(programs, dict):
            raise CorpusError(f"{path}: Abschnitt programs ist keine Zuordnung.")
        return cls(data["space_types"], data["themes"], data["raumwirkungen"], data["status"], programs)

    def label(self, kind: str, slug: str) -> str:
        """German label for a slug, or the slug itself if unknown."""
        return taxonomy_label(getattr(self, kind), slug)


def taxonomy_label(entries: dict[str, dict[str, Any]], slug: str) -> str:
    """The short or full label of a taxonomy entry, or the slug itself if unknown."""
    entry = entries.get(slug) or {}
    return str(entry.get("short") or entry.get("label") or slug)


class CorpusError(Exception):
    """The corpus cannot be read at all (missing folder, missing taxonomy)."""


class RecordDict(TypedDict):
    """A record as it travels: the flat shape of import/export, the index sidecar and the API."""

    id: str
    title: str
    summary: str
    space_types: list[str]
    themes: list[str]
    raumwirkungen: list[str]
    challenges: list[str]
    effects_intended: list[str]
    effects_unintended: list[str]
    indicators: list[str]
    municipality: str
    state: str
    location: list[LocationDict]
    size_class: str
    program: str
    program_detail: str
    status: str
    sources: list[str]
    updated: str
    description: str


@dataclass
class Record:
    """One solution: front matter fields plus the Markdown body (the description)."""

    id: str
    title: str
    summary: str
    space_types: list[str]
    themes: list[str]
    challenges: list[str]
    municipality: str
    state: str
    program: str
    status: str
    sources: list[str]
    updated: str
    description: str
    raumwirkungen: list[str] = field(default_factory=list)
    effects_intended: list[str] = field(default_factory=list)
    effects_unintended: list[str] = field(default_factory=list)
    indicators: list[str] = field(default_factory=list)
    program_detail: str = ""
    location: list[Location] = field(default_factory=list)  # filled from the gazetteer by `atlas locate`
    size_class: str = ""  # a key of indexer.places.SIZE_CLASSES, or empty if not known

    def __post_init__(self) -> None:
        # a record rebuilt from its flat form (to_dict) carries its places as mappings
        self.location = [x if isinstance(x, Location) else Location(str(x["place"]), float(x["lat"]), float(x["lon"]))
                         for x in self.location]

    def to_dict(self) -> RecordDict:
        """All fields as a flat dictionary (the shape of import/export and the index sidecar)."""
        return {
            "id": self.id, "title": self.title, "summary": self.summary,
            "space_types": list(self.space_types), "themes": list(self.themes),
            "raumwirkungen": list(self.raumwirkungen), "challenges": list(self.challenges),
            "effects_intended": list(self.effects_intended),
            "effects_unintended": list(self.effects_unintended),
            "indicators": list(self.indicators), "municipality": self.municipality,
            "state": self.state, "location": [x.to_dict() for x in self.location],
            "size_class": self.size_class, "program": self.program, "program_detail": self.program_detail, "status": self.status,
            "sources": list(self.sources), "updated": self.updated, "description": self.description,
        }

    def passage(self) -> str:
        """The text that is embedded for this record (head, challenges, description)."""
        parts = [self.title, self.summary, " ".join(self.challenges), self.description]
        return "\n".join(p.strip() for p in parts if p.strip())

    def lexical_text(self) -> str:
        """The text BM25 indexes: the embedded text plus the place, so "Ulm" finds Ulm's records."""
        return f"{self.passage()}\n{self.municipality}"

    def to_markdown(self) -> str:
        """The editor-facing file: YAML front matter in a fixed order plus the body."""
        front: dict[str, Any] = {}
        for name in FIELDS:
            if name == "effects":
                if self.effects_intended or self.effects_unintended:
                    front["effects"] = {"intended": self.effects_intended, "unintended": self.effects_unintended}
            elif name == "raumwirkungen" and not self.raumwirkungen:
                continue
            elif name == "indicators" and not self.indicators:
                continue
            elif name == "program_detail" and not self.program_detail:
                continue
            elif name == "location":
                if self.location:
                    front["location"] = [loc.to_dict() for loc in self.location]
            elif name == "size_class" and not self.size_class:
                continue
            else:
                front[name] = getattr(self, name)
        text = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=100)
        if yaml.safe_load(text) != front:
            # YAML reads some characters (NEL, line and paragraph separators) as line breaks; such a record is written
            # with escapes instead of raw Unicode, so what is saved always reads back the same.
            text = yaml.safe_dump(front, allow_unicode=False, sort_keys=False, width=100)
        return f"---\n{text}---\n\n{self.description.strip()}\n"


def _as_list(value: Any) -> list[Any] | None:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return None


@dataclass
class _Check:
    """The findings about one record, collected by the checks below."""

    file: str
    problems: list[Problem] = field(default_factory=list)

    def err(self, fld: str, msg: str, fix: str) -> None:
        self.problems.append(Problem(self.file, fld, msg, fix))

    def warn(self, fld: str, msg: str, fix: str) -> None:
        self.problems.append(Problem(self.file, fld, msg, fix, "warning"))

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def _check_fields(check: _Check, data: dict[str, Any], expected_id: str | None) -> None:
    """Unknown and missing fields, the id, and fields that must be plain text."""
    known = set(FIELDS) | {"effects_intended", "effects_unintended", "description"}
    for name in sorted(set(data) - known):
        check.err(name, "unbekanntes Feld", f"Entfernen Sie '{name}' oder prüfen Sie die Schreibweise ({', '.join(FIELDS)}).")
    for name in REQUIRED:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value):
            check.err(name, "Pflichtfeld fehlt oder ist leer", f"Tragen Sie '{name}' ein (siehe corpus/README.md).")
    rid = str(data.get("id") or "")
    if rid and not ID_PATTERN.match(rid):
        check.err("id", f"'{rid}' ist keine gültige Kennung", "Nur Kleinbuchstaben a–z, Ziffern und Bindestriche, z. B. 'ulm-besuchertrend'.")
    if rid and expected_id is not None and rid != expected_id:
        check.err("id", f"'{rid}' passt nicht zum Dateinamen '{expected_id}.md'",
                  f"Benennen Sie die Datei in '{rid}.md' um oder setzen Sie id: {expected_id}.")
    for name in ("title", "summary", "municipality", "state", "program", "program_detail", "size_class"):
        if name in data and data[name] is not None and not isinstance(data[name], str | int | float):
            check.err(name, "muss ein Text sein", f"Schreiben Sie '{name}' als einfachen Text in eine Zeile.")


def _check_lists(check: _Check, data: dict[str, Any], taxonomy: Taxonomy) -> dict[str, list[str]]:
    """The list fields, cleaned; taxonomy values must be known and unique; sources must be URLs."""
    lists: dict[str, list[str]] = {}
    for name in LIST_FIELDS:
        value = _as_list(data.get(name))
        if value is None:
            check.err(name, "muss eine Liste sein", f"Schreiben Sie '{name}' als Liste, z. B. {name}: [wert1, wert2].")
            value = []
        lists[name] = [str(v).strip() for v in value if v is not None and str(v).strip()]
    vocab = {"space_types": taxonomy.space_types, "themes": taxonomy.themes, "raumwirkungen": taxonomy.raumwirkungen}
    for name, allowed in vocab.items():
        for slug in lists[name]:
            if slug not in allowed:
                check.err(name, f"unbekannter Wert '{slug}'", f"Erlaubt sind: {', '.join(allowed)} (corpus/taxonomy.yaml).")
        if len(set(lists[name])) != len(lists[name]):
            check.err(name, "Wert doppelt angegeben", "Nennen Sie jeden Wert nur einmal.")
    for url in lists["sources"]:
        if not URL_PATTERN.match(url):
            check.err("sources", f"'{url}' ist keine URL", "Geben Sie vollständige Adressen an, beginnend mit https:// oder http://.")
    return lists


def _check_vocabulary(check: _Check, data: dict[str, Any], taxonomy: Taxonomy) -> tuple[str, str, str]:
    """Programme, status and date; returns them cleaned."""
    program = str(data.get("program") or "").strip()
    if program and taxonomy.programs and program not in taxonomy.programs:
        check.err("program", f"unbekanntes Programm '{program}'",
                  f"Erlaubt sind: {', '.join(taxonomy.programs)} (corpus/taxonomy.yaml); den Namen des Programms nennt program_detail.")
    status = str(data.get("status") or "")
    if status and status not in taxonomy.status:
        check.err("status", f"unbekannter Status '{status}'", f"Erlaubt sind: {', '.join(taxonomy.status)}.")
    updated = data.get("updated")
    updated = str((updated.isoformat() if isinstance(updated, dt.date) else updated) or "")
    if updated:
        try:
            dt.date.fromisoformat(updated)
        except ValueError:
            check.err("updated", f"'{updated}' ist kein Datum", "Schreiben Sie das Datum als JJJJ-MM-TT, z. B. 2026-11-27.")
    return program, status, updated


def _check_place(check: _Check, data: dict[str, Any]) -> tuple[list[Location], str]:
    """``location`` (inside Germany or the named neighbouring country) and ``size_class``; returns both cleaned."""
    locations, errors = check_location(data.get("location"), str(data.get("state") or ""))
    for message, fix in errors:
        check.err("location", message, fix)
    klass = str(data.get("size_class") or "").strip()
    if klass and klass not in SIZE_CLASSES:
        check.err("size_class", f"unbekannte Größenklasse '{klass}'",
                  f"Erlaubt sind: {', '.join(SIZE_CLASSES)} – oder lassen Sie 'atlas locate' sie eintragen.")
    return locations, klass


def _check_effects(check: _Check, data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``effects: {intended, unintended}`` (or the flat import columns); returns both lists."""
    effects = data.get("effects")
    intended = _as_list(data.get("effects_intended"))
    unintended = _as_list(data.get("effects_unintended"))
    if effects is not None:
        if not isinstance(effects, dict) or set(effects) - {"intended", "unintended"}:
            check.err("effects", "muss 'intended' und 'unintended' enthalten",
                      "Schreiben Sie effects: mit den Unterlisten intended: und unintended:.")
        else:
            intended = _as_list(effects.get("intended"))
            unintended = _as_list(effects.get("unintended"))
    if intended is None or unintended is None:
        check.err("effects", "Wirkungen müssen Listen sein", "Schreiben Sie intended: und unintended: als Listen.")
        intended, unintended = [], []
    return [str(v).strip() for v in intended if v and str(v).strip()], [str(v).strip() for v in unintended if v and str(v).strip()]


def _check_guidelines(check: _Check, description: str, lists: dict[str, list[str]], intended: list[str],
                      unintended: list[str]) -> None:
    """Editorial guidelines: warnings only, so shorter atlases still import and index."""
    words = len(description.split())
    if description and not BODY_WORDS[0] <= words <= BODY_WORDS[1]:
        check.warn("description", f"{words} Wörter", f"Empfohlen sind {BODY_WORDS[0]}–{BODY_WORDS[1]} Wörter.")
    if lists["challenges"] and not CHALLENGES[0] <= len(lists["challenges"]) <= CHALLENGES[1]:
        check.warn("challenges", f"{len(lists['challenges'])} Herausforderungen", f"Empfohlen sind {CHALLENGES[0]}–{CHALLENGES[1]}.")
    if not INDICATORS[0] <= len(lists["indicators"]) <= INDICATORS[1]:
        check.warn("indicators", f"{len(lists['indicators'])} Indikatoren", f"Empfohlen sind {INDICATORS[0]}–{INDICATORS[1]}.")
    if not intended or not unintended:
        check.warn("effects", "beabsichtigte oder unbeabsichtigte Wirkungen fehlen", "Ergänzen Sie beide Listen unter effects:.")


def _check_status_rule(check: _Check, status: str, description: str) -> None:
    """Warn where the body hedges but the status does not (the status rule in corpus/README.md)."""
    doubt = DOUBTS_OPERATION.search(description) if status in ("umsetzung", "verstetigt") else None
    if status == "verstetigt":
        doubt = doubt or DOUBTS_STATE.search(description)
    if doubt:
        sentence = doubt.group(0)[:80]
        check.warn("status", f"Status '{status}', aber die Beschreibung zweifelt am Betrieb („{sentence} …“)",
                   "verstetigt nur mit Beleg für den Regelbetrieb nach der Pilotphase; abgeschlossene Piloten und Studien "
                   "als abgeschlossen; sonst den Text oder den Status anpassen (corpus/README.md, Statusregel).")


def check_record(data: dict[str, Any], body: str, file: str, taxonomy: Taxonomy,
                 expected_id: str | None = None) -> tuple[Record | None, list[Problem]]:
    """Check one record's fields against the schema and taxonomy.

    Returns the record (None if any error) and every problem found, errors and warnings.
    """
    check = _Check(file)
    _check_fields(check, data, expected_id)
    lists = _check_lists(check, data, taxonomy)
    program, status, updated = _check_vocabulary(check, data, taxonomy)
    intended, unintended = _check_effects(check, data)
    locations, klass = _check_place(check, data)
    description = (body if body is not None else str(data.get("description") or "")).strip()
    description = description.replace("\r\n", "\n").replace("\r", "\n")  # one line-end convention for the body
    if not description:
        check.err("description", "Beschreibungstext fehlt", "Schreiben Sie unter die Kopfdaten (nach dem zweiten ---) eine Beschreibung.")
    _check_guidelines(check, description, lists, intended, unintended)
    _check_status_rule(check, status, description)
    if check.failed:
        return None, check.problems
    record = Record(
        id=str(data["id"]), title=str(data["title"]).strip(), summary=str(data["summary"]).strip(),
        space_types=lists["space_types"], themes=lists["themes"], challenges=lists["challenges"],
        municipality=str(data["municipality"]).strip(), state=str(data["state"]).strip(),
        program=program, program_detail=str(data.get("program_detail") or "").strip(), status=status, sources=lists["sources"],
        updated=updated, description=description, raumwirkungen=lists["raumwirkungen"], effects_intended=intended,
        effects_unintended=unintended, indicators=lists["indicators"], location=locations, size_class=klass,
    )
    return record, check.problems


def parse_file(path: Path, taxonomy: Taxonomy, root: Path | None = None) -> tuple[Record | None, list[Problem]]:
    """Read and check one ``<id>.md`` file."""
    name = str(path.relative_to(root)) if root else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [Problem(name, "(Datei)", "ist nicht UTF-8-kodiert", "Speichern Sie die Datei als UTF-8.")]
    return parse_file_text(text, taxonomy, path.stem, name)


def parse_file_text(text: str, taxonomy: Taxonomy, expected_id: str, name: str = "") -> tuple[Record | None, list[Problem]]:
    """Check the text of one ``<id>.md`` file."""
    name = name or f"solutions/{expected_id}.md"
    match = FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        return None, [Problem(name, "(Kopfdaten)", "keine YAML-Kopfdaten gefunden",
                              "Die Datei muss mit einer Zeile '---' beginnen, dann die Felder, dann wieder '---'.")]
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (Zeile {mark.line + 2})" if mark is not None else ""
        return None, [Problem(name, "(YAML)", f"YAML ist fehlerhaft{where}: {getattr(exc, 'problem', exc)}",
                              "Prüfen Sie Einrückung und Doppelpunkte; setzen Sie Texte mit ': ' in Anführungszeichen.")]
    if not isinstance(data, dict):
        return None, [Problem(name, "(YAML)", "Kopfdaten sind keine Feldliste", "Schreiben Sie je Zeile 'feld: wert'.")]
    return check_record(data, match.group(2), name, taxonomy, expected_id=expected_id)


@dataclass
class Corpus:
    """All records of a corpus folder, with the problems found while reading them."""

    root: Path
    taxonomy: Taxonomy
    records: list[Record]
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def content_hash(self) -> str:
        """SHA-256 over the taxonomy and every record file, in id order."""
        digest = hashlib.sha256()
        digest.update((self.root / "taxonomy.yaml").read_bytes())
        for path in sorted(solution_files(self.root)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()


def solution_files(root: Path) -> list[Path]:
    """The record files of a corpus folder (``solutions/*.md``), sorted."""
    return sorted((root / "solutions").glob("*.md"))


def load_corpus(root: Path) -> Corpus:
    """Read every record in ``root/solutions`` and check it; never raises for a bad record.

    Raises:
        CorpusError: if the folder or its taxonomy.yaml is missing.
    """
    if not (root / "solutions").is_dir():
        raise CorpusError(f"{root}: kein Ordner 'solutions' gefunden – ist das der Korpusordner?")
    taxonomy = Taxonomy.load(root / "taxonomy.yaml")
    records: list[Record] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in solution_files(root):
        record, found = parse_file(path, taxonomy, root)
        problems.extend(found)
        if record is None:
            continue
        if record.id in seen:
            problems.append(Problem(str(path.relative_to(root)), "id", f"Kennung '{record.id}' ist doppelt (auch in {seen[record.id]})",
                                    "Vergeben Sie eine eindeutige Kennung und benennen Sie die Datei entsprechend."))
            continue
        seen[record.id] = str(path.relative_to(root))
        records.append(record)
    return Corpus(root, taxonomy, records, problems)


def summary_counts(records: Iterable[Record], taxonomy: Taxonomy) -> dict[str, dict[str, int]]:
    """How many records carry each space type, theme and status."""
    counts: dict[str, dict[str, int]] = {
        "space_types": dict.fromkeys(taxonomy.space_types, 0),
        "themes": dict.fromkeys(taxonomy.themes, 0),
        "status": dict.fromkeys(taxonomy.status, 0),
    }
    for record in records:
        for slug in record.space_types:
            counts["space_types"][slug] = counts["space_types"].get(slug, 0) + 1
        for slug in record.themes:
            counts["themes"][slug] = counts["themes"].get(slug, 0) + 1
        counts["status"][record.status] = counts["status"].get(record.status, 0) + 1
    return counts
