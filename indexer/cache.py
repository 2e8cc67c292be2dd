"""What the model cache (ATLAS_CACHE_DIR) holds, what of it is still needed, and removing the rest (``atlas cache prune``).

The cache only grows: every larger corpus change tunes a new model (about 465 MB) with a variant of its tokenizer and a
fitted turn classifier, and upgrades leave the converted model and tables of older package versions behind. Nothing
removes them by itself, because several index folders (say, a staging and a live one) may share one cache.
``prune`` keeps:

- what any build of the given index folders was made with, the live one and those kept for rollback: its tuned model,
  that model's tokenizer variant and turn classifiers;
- the converted bundled model, the compound table and the Länder boundaries of the installed versions, and the
  vector cache;
- everything changed within ``min_age`` (a build may be tuning or embedding right now);
- everything it does not recognise;

and removes the rest. It refuses an index folder without builds: a mistyped path would otherwise take the live model
along, and the service could not start again without tuning anew.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from indexer.artifact import list_builds
from indexer.build import VECTORS_FILE
from indexer.compounds import table_dir
from indexer.embedding import BUNDLED_PREFIX, TUNED_PREFIX, VOCAB_PREFIX, bundled_model_dir, tuned_model_dir
from indexer.geodata import boundaries_file

MIN_AGE = dt.timedelta(hours=24)
_OLD_VECTORS = re.compile(r"vectors(-\d+)?\.sqlite3")


class CacheError(Exception):
    """The cache cannot be pruned safely as asked."""


@dataclass(frozen=True)
class Entry:
    """One item of the cache, with its size and why it stays or goes."""

    path: Path
    size: int  # bytes of its own files (links not followed)
    keep: bool
    reason: str  # in German, for the command's output


def used_models(index_roots: Iterable[Path]) -> dict[str, str]:
    """Tuned-model keys that builds of these index folders were made with, each with the build that names it (the
    live one, else the newest).

    Raises:
        CacheError: for a folder without any build.
    """
    used: dict[str, str] = {}
    for root in index_roots:
        builds = list_builds(root)
        if not builds:
            raise CacheError(f"Unter {root} gibt es keinen Index-Build. Geben Sie mit --index jeden Indexordner an, der "
                             "diesen Cache nutzt; sonst würden die Modelle der laufenden Suche gelöscht.")
        live = (root / "current").resolve()
        for path, manifest in builds:  # newest first
            if manifest is not None and manifest.tuned:
                named = used.get(manifest.tuned)
                if named is None or path.resolve() == live:
                    used[manifest.tuned] = f"Build {path.name}{' (live)' if path.resolve() == live else ''} in {root}"
    return used


def survey(cache_dir: Path, index_roots: Iterable[Path], min_age: dt.timedelta = MIN_AGE,
           now: dt.datetime | None = None) -> list[Entry]:
    """Every item of the cache, each marked as kept or removable (see the module docstring); nothing is changed.

    Raises:
        CacheError: for an index folder without any build.
    """
    used = used_models(index_roots)
    cutoff = (now or dt.datetime.now(dt.UTC)).timestamp() - min_age.total_seconds()
    kept_models = {tuned_model_dir(cache_dir, key).name: f"Modell von {why}" for key, why in used.items()}
    kept_models[bundled_model_dir(cache_dir).name] = "umgewandeltes Basismodell dieser Version"
    compounds, boundaries = table_dir(cache_dir).name, boundaries_file(cache_dir).name

    def judge(path: Path, keep: bool, reason: str) -> Entry:
        try:
            size, young = _size(path), _changed_since(path, cutoff)
        except FileNotFoundError:  # removed or renamed while we looked (a build finishing): not ours to touch
            size, young = 0, True
        if not keep and young:
            keep, reason = True, f"in den letzten {min_age.total_seconds() / 3600:g} Stunden geändert; sonst: {reason}"
        return Entry(path, size, keep, reason)

    entries: list[Entry] = []
    for item in sorted(cache_dir.iterdir()) if cache_dir.is_dir() else []:
        if item.name == "models" and item.is_dir():
            for model in sorted(item.iterdir()):
                entries.append(judge(model, *_model(model, kept_models)))
        elif item.name == "intents" and item.is_dir():
            for stored in sorted(item.iterdir()):
                prefix = stored.name.split("-", 1)[0] if "-" in stored.name else None
                if prefix == "base":
                    entries.append(judge(stored, True, "Gesprächszug-Klassifikator des Basismodells"))
                elif prefix in used:
                    entries.append(judge(stored, True, f"Gesprächszug-Klassifikator des Modells von {used[prefix]}"))
                elif prefix is None:
                    entries.append(judge(stored, False, "Ablage einer älteren Version (wird bei Bedarf neu angelegt)"))
                else:
                    entries.append(judge(stored, False, "Klassifikator eines Modells, das kein Build mehr nutzt"))
        elif item.name == "compounds" and item.is_dir():
            for table in sorted(item.iterdir()):
                current = table.name == compounds
                entries.append(judge(table, current, "Kompositatabelle dieser Version" if current else
                                     "Kompositatabelle einer älteren Version oder Rest eines abgebrochenen Laufs"))
        elif item.name == "geo" and item.is_dir():
            for file in sorted(item.iterdir()):
                current = file.name == boundaries
                entries.append(judge(file, current, "Ländergrenzen dieser Version" if current else
                                     "Ländergrenzen einer älteren Version oder Rest eines abgebrochenen Laufs"))
        elif item.name == VECTORS_FILE:
            entries.append(judge(item, True, "Vektor-Cache"))
        elif _OLD_VECTORS.fullmatch(item.name):
            entries.append(judge(item, False, "Vektor-Cache einer älteren Version (wird nicht mehr gelesen)"))
        else:
            entries.append(judge(item, True, "unbekannt, bleibt"))
    return entries


def unused_models(cache_dir: Path, index_root: Path) -> list[Entry]:
    """The tuned models in the cache that no build of ``index_root`` was made with, whatever their age (for a hint
    after ``atlas index``: another index folder may still use them, so nothing is removed here)."""
    return [e for e in survey(cache_dir, [index_root], min_age=dt.timedelta(0))
            if not e.keep and e.path.parent.name == "models" and e.path.name.startswith(TUNED_PREFIX)]


def _model(path: Path, kept: dict[str, str]) -> tuple[bool, str]:
    """Whether a folder under models/ stays, and why; ``kept`` gives the reason for each model folder that stays."""
    if path.name in kept:
        return True, kept[path.name]
    if path.name.startswith("."):
        return False, "Rest eines abgebrochenen Laufs"
    if path.name.startswith(BUNDLED_PREFIX):
        return False, "umgewandeltes Basismodell einer älteren Version"
    if path.name.startswith(TUNED_PREFIX):
        return False, "angepasstes Modell, das kein Build mehr nutzt"
    if path.name.startswith(VOCAB_PREFIX):
        links = [item for item in path.iterdir() if item.is_symlink()] if path.is_dir() else []
        model = links[0].resolve().parent if links else None
        if model is not None and (model.name in kept or (model.parent != path.parent and model.is_dir())):
            return True, f"Tokenizer-Variante des Modells {model.name if model.parent == path.parent else model}"
        return False, "Tokenizer-Variante eines Modells, das nicht bleibt"
    return True, "unbekannt, bleibt"


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_symlink() or p.is_file())


def _changed_since(path: Path, cutoff: float) -> bool:
    """Whether the item or anything directly in it was modified after ``cutoff`` (links not followed)."""
    items = [path, *(path.iterdir() if path.is_dir() and not path.is_symlink() else ())]
    return any(item.lstat().st_mtime > cutoff for item in items)


def prune(entries: Iterable[Entry]) -> tuple[int, list[str]]:
    """Remove the removable entries; returns the bytes freed and a message for each entry that could not be removed."""
    freed, failed = 0, []
    for entry in entries:
        if entry.keep:
            continue
        try:
            if entry.path.is_dir() and not entry.path.is_symlink():
                shutil.rmtree(entry.path)
            else:
                entry.path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
        except OSError as exc:
            failed.append(f"{entry.path}: {exc.strerror or exc}")
            continue
        freed += entry.size
    return freed, failed
