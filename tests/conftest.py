"""Fixtures that build on each other: model → fixture corpus → built index → app → client.

The real converted model is used throughout; it is converted once into the shared cache
(ATLAS_CACHE_DIR, else ~/.cache/atlas-lotse) and loaded once per test session.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.build import BuildResult, build_index
from indexer.corpus import load_corpus
from indexer.embedding import BUNDLED_MODEL, DEFAULT_PASSAGE_PREFIX, DEFAULT_QUERY_PREFIX, Embedder
from indexer.settings import IndexerSettings
from indexer.tune import index_embedder
from service.app import create_app
from service.config import Settings

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
CACHE_DIR = IndexerSettings().cache_dir  # ATLAS_CACHE_DIR, else ~/.cache/atlas-lotse: the model is converted once


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(BUNDLED_MODEL, CACHE_DIR)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the small fixture corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", target)
    return target


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> BuildResult:
    """The fixture corpus, indexed once for the whole session (read-only for tests)."""
    index_dir = tmp_path_factory.mktemp("index")
    return build_index(load_corpus(FIXTURES / "corpus"), index_dir, embedder)


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> BuildResult:
    """The fixture corpus indexed as `atlas index` does (with the atlas's records as detector background), which
    also fills the vector cache that workbench publishes draw on (tests copy it before they publish)."""
    from indexer.tune import shipped_records

    return build_index(load_corpus(FIXTURES / "corpus"), tmp_path_factory.mktemp("published"), embedder,
                       background=shipped_records())


@pytest.fixture(scope="session")
def settings(built_index: BuildResult) -> Settings:
    # Ten records are too few for the calibrated "nothing fits" threshold; ranking tests switch it off.
    return Settings(index_dir=built_index.path.parent.parent, corpus_dir=FIXTURES / "corpus",
                    cache_dir=CACHE_DIR, min_fit=0.0)


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The real corpus (corpus/), indexed once the way `atlas index` does by default (with the model
    fine-tuned on it, trained on first use and then cached): for conversations and the quality floor."""
    corpus = load_corpus(ROOT / "corpus")
    embedder = index_embedder(BUNDLED_MODEL, CACHE_DIR, DEFAULT_QUERY_PREFIX, DEFAULT_PASSAGE_PREFIX,
                              corpus.records, tuned=Settings().tune, progress=False)
    return build_index(corpus, tmp_path_factory.mktemp("corpus-index"), embedder)


@pytest.fixture(scope="session")
def atlas_client(corpus_index: BuildResult) -> Iterator[TestClient]:
    """The service over the real corpus with default settings (calibrated threshold)."""
    settings = Settings(index_dir=corpus_index.path.parent.parent, cache_dir=CACHE_DIR)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def assert_error(response, status: int, message: str | None = None, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    """The one JSON error shape (see service/errors.py); every error-path test uses this."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], list) and body["errors"]
    assert all(set(e) == {"field", "message"} for e in body["errors"])
    if message is not None:
        assert message in body["error"], body["error"]
    if field is not None:
        assert any(e["field"] == field for e in body["errors"]), body["errors"]
    return body
