"""The index artifact: a FAISS index, a JSON sidecar and a manifest that says what built them.

Layout of an index folder::

    <index>/current -> builds/<stamp>      symlink, swapped atomically after a complete build
    <index>/builds/<stamp>/index.faiss      IndexFlatIP over unit vectors (inner product = cosine)
    <index>/builds/<stamp>/records.json     the records in index order (ids and display fields)
    <index>/builds/<stamp>/challenges.npy   one unit vector per challenge phrase, record by record
    <index>/builds/<stamp>/taxonomy.json    labels for slugs (space types, themes, status, ...)
    <index>/builds/<stamp>/bm25/            BM25 over German-analysed record text (indexer/text.py)
    <index>/builds/<stamp>/detector.npz     optional: "is this a planning question?" weights (indexer/domain.py)
    <index>/builds/<stamp>/manifest.json    model, dimension, count, corpus hash, created UTC, version
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import zipfile
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from indexer.corpus import RecordDict
from indexer.domain import Detector

# 2: adds the BM25 folder; 3: every tuned model embeds with its own weights (a format-2 build made after a retune
# could carry vectors of the first tuned model in the cache, see embedding.latin_variant), so those are built again;
# 4: the "nothing fits" detector has a hidden layer (detector.npz instead of detector.npy); 5: the detector learns and
# reads questions without their closing punctuation (domain.bare)
FORMAT_VERSION = 5
MANIFEST, INDEX, RECORDS, CHALLENGES = "manifest.json", "index.faiss", "records.json", "challenges.npy"
TAXONOMY = "taxonomy.json"
LEXICAL = "bm25"
DETECTOR = "detector.npz"
CURRENT, BUILDS = "current", "builds"
KEEP_BUILDS = 6  # the live build and the five before it, for rollback (about 5 MB each for 371 records)


class IndexNotFoundError(Exception):
    """No complete index exists at the configured place."""


class IndexCorruptError(Exception):
    """An index exists but its files are inconsistent or unreadable."""


def package_version() -> str:
    try:
        return version("atlas-lotse")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class Manifest:
    """What built an index; the service checks it before serving."""

    model: str
    dimension: int
    count: int
    corpus_hash: str
    created: str
    package_version: str
    query_prefix: str
    passage_prefix: str
    format_version: int = FORMAT_VERSION
    tuned: str | None = None  # key of the fine-tuned model (atlas tune), None for the base model
    detector_negatives: int = 0  # off-topic questions the domain detector was trained with (0: no detector)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in fields})


@dataclass
class Artifact:
    """A loaded index build."""

    path: Path
    manifest: Manifest
    index: Any  # faiss.Index
    records: list[RecordDict]
    taxonomy: dict[str, dict[str, dict[str, Any]]]
    lexical: Any  # bm25s.BM25
    challenge_vectors: np.ndarray
    challenge_offsets: list[int]  # record i owns challenge rows offsets[i]:offsets[i+1]
    detector: Detector | None = None

    @property
    def build_id(self) -> str:
        return self.path.name

    @property
    def challenges(self) -> list[str]:
        """The challenge phrases, row by row with ``challenge_vectors``."""
        return [str(phrase) for record in self.records for phrase in record.get("challenges") or []]


def utc_now(before: dt.timedelta = dt.timedelta()) -> str:
    """Now (or ``before`` earlier) in UTC to the second, ISO 8601 with "Z": such stamps sort as text."""
    return (dt.datetime.now(dt.UTC) - before).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _challenge_offsets(records: list[RecordDict]) -> list[int]:
    offsets = [0]
    for record in records:
        offsets.append(offsets[-1] + len(record.get("challenges") or []))
    return offsets


def write_build(index_root: Path, records: list[RecordDict], taxonomy: dict[str, Any], vectors: np.ndarray,
                challenge_vectors: np.ndarray, lexical: Any, manifest: Manifest, detector: Detector | None = None) -> Path:
    """Write a complete build next to the live one, check it, then switch ``current`` to it.

    Any failure before the switch leaves the live index untouched.
    """
    import faiss

    builds = index_root / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    # Microseconds: builds published within one second still sort in the order they were made (pruning, rollback).
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(3)
    tmp = builds / f".tmp-{stamp}"
    tmp.mkdir()
    try:
        index = faiss.IndexFlatIP(manifest.dimension)
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        faiss.write_index(index, str(tmp / INDEX))
        np.save(tmp / CHALLENGES, np.ascontiguousarray(challenge_vectors, dtype=np.float32))
        (tmp / RECORDS).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        (tmp / TAXONOMY).write_text(json.dumps(taxonomy, ensure_ascii=False), encoding="utf-8")
        lexical.save(str(tmp / LEXICAL))
        if detector is not None:
            detector.save(tmp / DETECTOR)
        (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2), encoding="utf-8")
        for name in (INDEX, CHALLENGES, RECORDS, TAXONOMY, MANIFEST, *([DETECTOR] if detector is not None else [])):
            with open(tmp / name, "rb") as handle:
                os.fsync(handle.fileno())
        load_build(tmp)  # refuse to publish anything that does not load back
        final = builds / stamp
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    switch_current(index_root, final)
    _prune(builds, keep=final)
    return final


def switch_current(index_root: Path, build: Path) -> None:
    """Point ``current`` at a complete build (a new one, or an earlier one for a rollback)."""
    link_tmp = index_root / f".{CURRENT}-{build.name}-{secrets.token_hex(3)}"
    link_tmp.symlink_to(Path(BUILDS) / build.name)
    os.replace(link_tmp, index_root / CURRENT)  # atomic on POSIX: readers see old or new, never neither


def list_builds(index_root: Path) -> list[tuple[Path, Manifest | None]]:
    """The complete builds, newest first, with their manifests (None if one cannot be read)."""
    builds = index_root / BUILDS
    if not builds.is_dir():
        return []
    found = []
    for path in sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True):
        try:
            manifest: Manifest | None = Manifest.from_dict(json.loads((path / MANIFEST).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            manifest = None
        found.append((path, manifest))
    return found


def _prune(builds: Path, keep: Path) -> None:
    done = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    for old in done[:-KEEP_BUILDS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_build(index_root: Path) -> Path:
    """The live build folder.

    Raises:
        IndexNotFoundError: if no build has been published yet.
    """
    link = index_root / CURRENT
    if not link.exists():
        raise IndexNotFoundError(
            f"Unter {index_root} gibt es noch keinen Suchindex. Erstellen Sie ihn mit 'atlas index --index {index_root}'."
        )
    return link.resolve()


def load_build(path: Path) -> Artifact:
    """Load one build folder and check that its parts agree.

    Raises:
        IndexCorruptError: if a file is missing or the parts disagree.
    """
    import bm25s
    import faiss

    try:
        manifest = Manifest.from_dict(json.loads((path / MANIFEST).read_text(encoding="utf-8")))
        if manifest.format_version != FORMAT_VERSION:
            raise IndexCorruptError(
                f"Der Suchindex unter {path} hat das Format {manifest.format_version}, erwartet wird {FORMAT_VERSION}. "
                "Bauen Sie ihn mit 'atlas index' neu."
            )
        records = json.loads((path / RECORDS).read_text(encoding="utf-8"))
        taxonomy = json.loads((path / TAXONOMY).read_text(encoding="utf-8"))
        index = faiss.read_index(str(path / INDEX))
        challenge_vectors = np.load(path / CHALLENGES)
        lexical = bm25s.BM25.load(str(path / LEXICAL))
        detector = Detector.load(path / DETECTOR) if manifest.detector_negatives else None
    except (OSError, ValueError, TypeError, RuntimeError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise IndexCorruptError(f"Der Suchindex unter {path} ist unvollständig oder beschädigt ({exc}).") from exc
    problems = _shape_problems(records, taxonomy)
    if problems:
        raise IndexCorruptError(f"Der Suchindex unter {path} ist beschädigt: {'; '.join(problems)}.")
    offsets = _challenge_offsets(records)
    if index.ntotal != manifest.count or len(records) != manifest.count:
        problems.append(f"{index.ntotal} vectors, {len(records)} records, manifest says {manifest.count}")
    if index.d != manifest.dimension:
        problems.append(f"index dimension {index.d} != manifest {manifest.dimension}")
    if lexical.scores.get("num_docs") != manifest.count:
        problems.append(f"lexical index has {lexical.scores.get('num_docs')} documents")
    if detector is not None:
        problems += detector.shape_problems(manifest.dimension)
    if challenge_vectors.ndim != 2 or (len(challenge_vectors) and challenge_vectors.shape[1] != manifest.dimension):
        problems.append(f"challenge vectors have shape {challenge_vectors.shape}")
    elif challenge_vectors.shape[0] != offsets[-1]:
        problems.append(f"{challenge_vectors.shape[0]} challenge vectors for {offsets[-1]} challenges")
    if problems:
        raise IndexCorruptError(f"Der Suchindex unter {path} ist inkonsistent: {'; '.join(problems)}.")
    return Artifact(path, manifest, index, records, taxonomy, lexical, challenge_vectors, offsets, detector)


REQUIRED_TAXONOMY = ("space_types", "themes", "status")
RECORD_LISTS = ("space_types", "themes", "challenges")


def _shape_problems(records: Any, taxonomy: Any) -> list[str]:
    """What is wrong with the shape of records.json and taxonomy.json (empty if nothing): a build that loads but
    has the wrong shape would fail on every request instead of at load time."""
    if not isinstance(taxonomy, dict) or not all(isinstance(taxonomy.get(k), dict) and taxonomy[k] for k in REQUIRED_TAXONOMY):
        return [f"taxonomy.json needs non-empty {', '.join(REQUIRED_TAXONOMY)}"]
    if not isinstance(records, list) or not records:
        return ["records.json is not a non-empty list of records"]
    problems: list[str] = []
    seen: set[str] = set()
    for n, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not isinstance(record.get("title"), str):
            problems.append(f"record {n} has no id or title")
        elif record["id"] in seen:
            problems.append(f"record id {record['id']} appears twice")
        elif any(not isinstance(record.get(k), list) or not all(isinstance(v, str) for v in record[k]) for k in RECORD_LISTS):
            problems.append(f"record {record['id']}: {', '.join(RECORD_LISTS)} must be lists of strings")
        elif not record["space_types"] or not set(record["space_types"]) <= set(taxonomy["space_types"]):
            problems.append(f"record {record['id']}: space types {record['space_types']} not in the taxonomy")
        elif record.get("status") not in taxonomy["status"]:
            problems.append(f"record {record['id']}: status {record.get('status')!r} not in the taxonomy")
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            seen.add(record["id"])
        if len(problems) >= 3:
            break
    return problems


def load_current(index_root: Path) -> Artifact:
    """Load the live build of an index folder."""
    return load_build(current_build(index_root))
