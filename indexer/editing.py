"""Editing the corpus record by record, as the workbench does: versions, conflicts, an audit log and undo.

Every record file has a version (the first 16 hex digits of its SHA-256, sent as the HTTP ETag). Replacing or
deleting a record requires the version the editor started from; a newer file on disk is a conflict, never a
silent overwrite. Each change is written atomically (``write_atomic``) under a lock shared by processes and
appended to an audit log (JSON Lines: time, action, id, the previous and the new file content), so every change
can be undone – an undo is itself a change in the log.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from indexer.artifact import utc_now
from indexer.corpus import Problem, Record, RecordDict, Taxonomy, check_record, parse_file, solution_files
from indexer.exchange import CheckedImport, check_import, start_corpus, write_atomic

Action = Literal["create", "update", "delete", "undo"]


class EditError(Exception):
    """A change that was refused; ``status`` is the HTTP status the workbench answers with."""

    status = 400

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class RecordNotFound(EditError):
    status = 404


class RecordInvalid(EditError):
    status = 422


class VersionConflict(EditError):
    status = 409


class VersionRequired(EditError):
    status = 428


def version_of(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()[:16]


@dataclass
class Entry:
    """One line of the audit log."""

    n: int
    time: str
    action: Action
    id: str
    previous: str | None  # the file before the change (None: there was none)
    current: str | None  # the file after the change (None: deleted)
    undoes: int | None = None


@dataclass
class ListedRecord:
    id: str
    version: str
    record: RecordDict | None  # None if the file has errors
    problems: list[Problem] = field(default_factory=list)


@dataclass
class ImportDiff:
    """What an import would do: new, changed and unchanged ids, ids it would remove, and the rejected rows."""

    new: list[str]
    changed: list[str]
    unchanged: list[str]
    removed: list[str]
    checked: CheckedImport


class Editor:
    """The record files of one corpus folder and its audit log."""

    def __init__(self, corpus_dir: Path, audit_log: Path) -> None:
        self.corpus_dir = corpus_dir
        self.solutions = corpus_dir / "solutions"
        self.audit_log = audit_log
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One change at a time, in this process (threads) and across processes (a lock file next to the corpus)."""
        self.solutions.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.corpus_dir / ".edit.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def taxonomy(self) -> Taxonomy:
        start_corpus(self.corpus_dir)
        return Taxonomy.load(self.corpus_dir / "taxonomy.yaml")

    def _path(self, rid: str) -> Path:
        if not rid or "/" in rid or rid.startswith(".") or rid != rid.strip():
            raise RecordNotFound(f"Eine Lösung mit der Kennung '{rid}' gibt es nicht.")
        return self.solutions / f"{rid}.md"

    def records(self) -> list[ListedRecord]:
        """Every record file with its version and problems (files with errors too, so editors can fix them)."""
        taxonomy = self.taxonomy()
        listed = []
        for path in solution_files(self.corpus_dir):
            record, problems = parse_file(path, taxonomy, self.corpus_dir)
            listed.append(ListedRecord(path.stem, version_of(path.read_bytes()), record.to_dict() if record else None, problems))
        return listed

    def get(self, rid: str) -> tuple[RecordDict, str, list[Problem]]:
        """A record in the import format, its version and its warnings.

        Raises:
            RecordNotFound: if there is no such file.
            RecordInvalid: if the file has errors (the problems say which).
        """
        path = self._path(rid)
        if not path.is_file():
            raise RecordNotFound(f"Eine Lösung mit der Kennung '{rid}' gibt es nicht.")
        record, problems = parse_file(path, self.taxonomy(), self.corpus_dir)
        if record is None:
            raise RecordInvalid(f"Die Datei solutions/{rid}.md hat Fehler.", problems)
        return record.to_dict(), version_of(path.read_bytes()), problems

    def check(self, rid: str, data: dict[str, Any]) -> tuple[Record, list[Problem]]:
        """Check a record in the import format with the rules and messages of ``atlas validate``.

        Raises:
            RecordInvalid: with every error found.
        """
        fields = dict(data)
        body = fields.pop("description", "")
        if "id" not in fields:
            fields["id"] = rid
        record, problems = check_record(fields, body if isinstance(body, str) else "", f"solutions/{rid}.md", self.taxonomy(),
                                        expected_id=rid)
        if record is None:
            raise RecordInvalid(f"Die Lösung '{rid}' wurde nicht gespeichert: sie hat Fehler.",
                                [p for p in problems if p.severity == "error"])
        return record, [p for p in problems if p.severity == "warning"]

    def _expect(self, path: Path, if_match: str | None) -> bytes | None:
        current = path.read_bytes() if path.is_file() else None
        if if_match is None:
            if current is not None:
                raise VersionRequired(f"solutions/{path.name} gibt es schon. Senden Sie die Version, von der Ihre Änderung "
                                      "ausgeht (If-Match), damit keine neuere Fassung überschrieben wird.")
            return None
        wanted = if_match.strip()
        if wanted == "*":
            if current is None:
                raise RecordNotFound(f"Eine Lösung '{path.stem}' gibt es nicht.")
            return current
        if current is None or version_of(current) != wanted.strip('"').removeprefix("W/").strip('"'):
            raise VersionConflict(f"solutions/{path.name} wurde inzwischen geändert (oder gelöscht). Laden Sie die "
                                  "aktuelle Fassung und übertragen Sie Ihre Änderung darauf.")
        return current

    def put(self, rid: str, data: dict[str, Any], if_match: str | None) -> tuple[RecordDict, str, bool, list[Problem]]:
        """Create or replace a record; returns it, its new version, whether it was created, and its warnings.

        Raises:
            RecordInvalid (422), VersionRequired (428), VersionConflict (409).
        """
        record, warnings = self.check(rid, data)
        path = self._path(rid)
        with self._locked():
            previous = self._expect(path, if_match)
            text = record.to_markdown()
            if previous is None or previous.decode("utf-8") != text:
                write_atomic(path, text)
                self._log("create" if previous is None else "update", rid, previous, text)
        return record.to_dict(), version_of(text.encode("utf-8")), previous is None, warnings

    def delete(self, rid: str, if_match: str | None) -> Entry:
        """Delete a record (its content stays in the audit log, for undo).

        Raises:
            RecordNotFound (404), VersionRequired (428), VersionConflict (409).
        """
        path = self._path(rid)
        if not path.is_file():
            raise RecordNotFound(f"Eine Lösung mit der Kennung '{rid}' gibt es nicht.")
        if if_match is None:
            raise VersionRequired(f"Senden Sie die Version von solutions/{rid}.md, die Sie löschen wollen (If-Match).")
        with self._locked():
            previous = self._expect(path, if_match)
            path.unlink()
            return self._log("delete", rid, previous, None)

    def history(self, rid: str | None = None, limit: int = 200) -> list[Entry]:
        """The newest audit entries first (of one record, if given)."""
        entries = [e for e in self._entries() if rid is None or e.id == rid]
        return entries[::-1][:limit]

    def undo(self, n: int) -> Entry:
        """Put the record of audit entry ``n`` back as it was before that change (if it has not changed since).

        Raises:
            RecordNotFound: no such entry.
            VersionConflict: the record changed after that entry; undo the later change first.
        """
        entry = next((e for e in self._entries() if e.n == n), None)
        if entry is None:
            raise RecordNotFound(f"Den Eintrag {n} gibt es im Änderungsprotokoll nicht.")
        path = self._path(entry.id)
        with self._locked():
            now = path.read_text(encoding="utf-8") if path.is_file() else None
            if now != entry.current:
                raise VersionConflict(f"solutions/{entry.id}.md wurde nach Eintrag {n} noch einmal geändert. Machen Sie "
                                      "zuerst die spätere Änderung rückgängig.")
            if entry.previous is None:
                path.unlink()
            else:
                write_atomic(path, entry.previous)
            return self._log("undo", entry.id, now.encode("utf-8") if now is not None else None, entry.previous, undoes=n)

    def diff_import(self, path: Path, remove_missing: bool = False) -> ImportDiff:
        """What importing a CSV or JSON Lines file would change; writes nothing (the dry run)."""
        checked = check_import(path, self.taxonomy())
        existing = {item.id: item.record for item in self.records()}
        new, changed, unchanged = [], [], []
        for _, record in checked.records:
            if record.id not in existing:
                new.append(record.id)
            elif existing[record.id] == record.to_dict():
                unchanged.append(record.id)
            else:
                changed.append(record.id)
        incoming = {record.id for _, record in checked.records}
        removed = sorted(set(existing) - incoming) if remove_missing else []
        return ImportDiff(sorted(new), sorted(changed), sorted(unchanged), removed, checked)

    def apply_import(self, path: Path, remove_missing: bool = False) -> ImportDiff:
        """Import a file: write new and changed records, delete missing ones if asked; each change is logged.

        Rows with errors are left out (the diff lists them); the others are written.
        """
        diff = self.diff_import(path, remove_missing)
        write = set(diff.new) | set(diff.changed)
        with self._locked():
            for _, record in diff.checked.records:
                if record.id in write:
                    target = self._path(record.id)
                    previous = target.read_bytes() if target.is_file() else None
                    text = record.to_markdown()
                    write_atomic(target, text)
                    self._log("create" if previous is None else "update", record.id, previous, text)
            for rid in diff.removed:
                target = self._path(rid)
                previous = target.read_bytes()
                target.unlink()
                self._log("delete", rid, previous, None)
        return diff

    def _entries(self) -> list[Entry]:
        if not self.audit_log.is_file():
            return []
        entries = []
        for line in self.audit_log.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entries.append(Entry(**json.loads(line)))
        return entries

    def _log(self, action: Action, rid: str, previous: bytes | None, current: str | None, undoes: int | None = None) -> Entry:
        entries = self._entries()
        entry = Entry(
            n=(entries[-1].n + 1) if entries else 1,
            time=utc_now(),
            action=action, id=rid, previous=previous.decode("utf-8") if previous is not None else None, current=current,
            undoes=undoes,
        )
        self.audit_log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.audit_log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return entry
