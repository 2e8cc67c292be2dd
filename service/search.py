"""Search over the index artifact: a plain class with no web framework in it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from indexer.artifact import Artifact
from indexer.embedding import Embedder


@dataclass
class Hit:
    """One ranked solution and why it matched."""

    record: dict[str, Any]
    score: float
    matched_challenge: str | None
    challenge_score: float | None


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    space_type: str | None


class Searcher:
    """Embeds a question, ranks the records, and finds each hit's closest challenge phrase."""

    def __init__(self, embedder: Embedder, artifact: Artifact) -> None:
        self.embedder = embedder
        self.artifact = artifact
        self.by_id = {r["id"]: i for i, r in enumerate(artifact.records)}

    @property
    def count(self) -> int:
        return len(self.artifact.records)

    def get(self, solution_id: str) -> dict[str, Any] | None:
        index = self.by_id.get(solution_id)
        return None if index is None else self.artifact.records[index]

    def search(self, query: str, limit: int = 5, space_type: str | None = None) -> SearchResult:
        """Top ``limit`` records for ``query``, optionally only those tagged ``space_type``."""
        vector = self.embedder.encode_queries([query])
        # Exact inner-product search; vectors are unit length, so inner product = cosine.
        k = self.count if space_type else min(limit, self.count)
        scores, rows = self.artifact.index.search(vector, k)
        hits: list[Hit] = []
        for score, row in zip(scores[0], rows[0], strict=True):
            if row < 0:
                continue
            record = self.artifact.records[row]
            if space_type and space_type not in record["space_types"]:
                continue
            phrase, phrase_score = self._best_challenge(int(row), vector[0])
            hits.append(Hit(record, float(score), phrase, phrase_score))
            if len(hits) >= limit:
                break
        return SearchResult(query, hits, space_type)

    def _best_challenge(self, row: int, vector: np.ndarray) -> tuple[str | None, float | None]:
        start, end = self.artifact.challenge_offsets[row], self.artifact.challenge_offsets[row + 1]
        if start == end:
            return None, None
        sims = self.artifact.challenge_vectors[start:end] @ vector
        best = int(np.argmax(sims))
        return self.artifact.records[row]["challenges"][best], float(sims[best])
