"""Search over the index artifact: a plain class with no web framework in it.

Ranking (weights in ``Ranking``, set from the dev split of tests/eval, see README); the question is first respelled
as the corpus writes it (``indexer.text.Speller``: "Kinderbetreung im Statteil" → "Kinderbetreuung im Stadtteil"):
    score = dense cosine(question, record)
          + w_challenge · max cosine(question, one of the record's challenge phrases)
          + w_lexical   · BM25(question, record) / best BM25 for this question (unknown question terms
                          corrected to a corpus term one typo away)
                        · share of the question's terms that occur in the corpus at all
          + w_space     · [record has a space type the question names]
A question fits nothing when the index's domain detector (indexer/domain.py) gives it a probability
below ``min_on_topic`` of being a question this corpus answers: the result is empty and ``no_match`` is
set, instead of showing weak matches. The detector is trained at index time on the embeddings of the
model that built the index, so the threshold is a probability that holds for the base and the tuned model
alike (a raw similarity threshold does not: fine-tuning changes the scale of cosine similarities).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from indexer.artifact import Artifact
from indexer.corpus import RecordDict
from indexer.domain import bare
from indexer.places import laender_of
from indexer.text import Speller, analyze, correct
from service.understanding import Preference, Understanding


@dataclass(frozen=True)
class Ranking:
    """Fusion weights and the "nothing fits" threshold.

    Defaults chosen by scripts/tune_ranking.py on the dev split of tests/eval/queries.yaml (see README
    for the figures). ``min_on_topic`` applies only to indexes that carry a domain detector.
    """

    w_challenge: float = 0.5
    w_lexical: float = 0.1
    w_space: float = 0.02
    min_on_topic: float = 0.2  # refuse when the index's domain detector gives P(planning question) below this
    # A solution moves ahead for fitting the planner's municipality only if it scores within this of the best match:
    # of the dev split's top-ten hits this close to the best, 49–82 % are relevant, of those further off 25–37 %.
    prefer_margin: float = 0.125


@dataclass(frozen=True)
class ScoreParts:
    """The parts of the score for every record (arrays in index order), and what the question was embedded as."""

    vector: np.ndarray  # the question's unit vector
    dense: np.ndarray  # cosine of question and record
    challenge: np.ndarray  # best cosine of question and one of the record's challenge phrases (-1: none)
    lexical: np.ndarray  # BM25, 0–1, scaled by how many question terms the corpus knows
    space: np.ndarray  # 1 where the record has a space type the question names
    on_topic: float  # the domain detector's probability that the corpus answers this question


@dataclass
class Hit:
    """One ranked solution and why it matched."""

    record: RecordDict
    score: float
    matched_challenge: str | None
    challenge_score: float | None


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    space_type: str | None
    detected_space_types: list[str] = field(default_factory=list)
    no_match: bool = False
    corrections: list[tuple[str, str]] = field(default_factory=list)  # words read as others: (as typed, as read)


class QueryEncoder(Protocol):
    """What search needs of a model: unit vectors for questions (an Embedder, or the service's QueryBatcher)."""

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...


class Searcher:
    """Embeds a question, scores every record, filters by facets, and explains each hit."""

    def __init__(self, embedder: QueryEncoder, artifact: Artifact, ranking: Ranking | None = None) -> None:
        self.embedder = embedder
        self.artifact = artifact
        self.ranking = ranking or Ranking()
        self.understanding = Understanding(artifact.taxonomy)
        self.by_id = {r["id"]: i for i, r in enumerate(artifact.records)}
        offsets = np.asarray(artifact.challenge_offsets)
        self._has_challenges = offsets[1:] > offsets[:-1]
        # reduceat needs valid start indices even for records without challenges.
        self._challenge_starts = np.minimum(offsets[:-1], max(len(artifact.challenge_vectors) - 1, 0))
        self._space_sets = [set(r["space_types"]) for r in artifact.records]
        # Sorted: a mistyped term goes to the first of equally near corpus terms, and the BM25 vocabulary's own order
        # changes from build to build (string hashing), so the same corpus ranked differently after a rebuild.
        self._vocabulary_list = sorted(artifact.lexical.vocab_dict)
        self._vocabulary = set(self._vocabulary_list)
        self.respell = Speller(_texts_of(artifact.records), self._vocabulary)

    @property
    def count(self) -> int:
        return len(self.artifact.records)

    def get(self, solution_id: str) -> RecordDict | None:
        index = self.by_id.get(solution_id)
        return None if index is None else self.artifact.records[index]

    def encoded_texts(self, query: str) -> list[str]:
        """What ``components`` encodes for a respelled question: the question as written (for the ranking: a
        question's "?" helps E5 rank) and, if it differs, as the detector reads it, without its closing "?"
        (``indexer.domain.bare``); one batch, about 5 ms more than one text."""
        question = bare(query) if self.artifact.detector is not None else query
        return [query] if question == query else [query, question]

    def components(self, query: str, space_types: list[str]) -> ScoreParts:
        """The parts of the score for every record: dense, challenge, lexical (0–1) and space match.

        Parts whose weight is zero in the current ranking are not computed (they stay zero).
        """
        query = self.respell(query)
        detector = self.artifact.detector
        vectors = self.embedder.encode_queries(self.encoded_texts(query))
        vector = vectors[:1]
        n = self.count
        # Exact inner-product search over all records; vectors are unit length, so this is cosine.
        dense_sorted, rows = self.artifact.index.search(vector, n)
        dense = np.empty(n, dtype=np.float32)
        dense[rows[0]] = dense_sorted[0]
        r = self.ranking
        challenge = np.full(n, -1.0, dtype=np.float32)
        if len(self.artifact.challenge_vectors) and r.w_challenge:
            sims = self.artifact.challenge_vectors @ vector[0]
            challenge = np.where(self._has_challenges, np.maximum.reduceat(sims, self._challenge_starts), -1.0)
        lexical = np.zeros(n, dtype=np.float32)
        terms = correct(analyze(query), self._vocabulary_list, self._vocabulary) if r.w_lexical else []
        if terms:
            raw = np.asarray(self.artifact.lexical.get_scores(terms), dtype=np.float32)
            lexical_max = float(raw.max())
            if lexical_max > 0:
                # Scaled by how much of the question the corpus's words cover at all: an English question
                # whose only known word is "park" (from "Parkraum") should not get the full lexical bonus.
                distinct = set(terms)
                coverage = len(distinct & self._vocabulary) / len(distinct)
                lexical = raw / lexical_max * coverage
        space = np.zeros(n, dtype=np.float32)
        if space_types and r.w_space:
            wanted = set(space_types)
            space = np.fromiter((bool(s & wanted) for s in self._space_sets), dtype=np.float32, count=n)
        on_topic = 1.0 if detector is None else detector.probability(vectors[-1])
        return ScoreParts(vector[0], dense, challenge, lexical, space, on_topic)

    def fuse(self, parts: ScoreParts) -> np.ndarray:
        """Weighted sum of the parts."""
        r = self.ranking
        fused: np.ndarray = parts.dense + r.w_challenge * np.maximum(parts.challenge, 0.0) + r.w_lexical * parts.lexical \
            + r.w_space * parts.space
        return fused

    def refuses(self, parts: ScoreParts) -> bool:
        """Nothing fits: the domain detector finds this is not a question the corpus answers."""
        return parts.on_topic < self.ranking.min_on_topic

    def search(self, query: str, limit: int = 5, space_type: str | None = None, themes: Sequence[str] | None = None,
               status: Sequence[str] | None = None, exclude: set[str] | None = None, land: str | None = None,
               size_class: str | None = None, prefer: Preference | None = None, depth: int | None = None) -> SearchResult:
        """Top ``limit`` records for ``query``; facets filter, detected space types re-rank.

        ``prefer`` (what the planner said about their municipality) moves solutions from a fitting Land or size class
        ahead among the best ``2 × limit`` matches that score within ``prefer_margin`` of the best, without letting in
        anything that ranks lower or fits the question much less ("Schulweg" solutions from big cities are not pushed
        out by a small town's shuttle bus). ``depth`` keeps the
        filters to the best ``depth`` matches of the question ("welche davon sind verstetigt?" means: of these).
        """
        detected = self.understanding.detect_space_types(query)
        parts = self.components(query, [space_type] if space_type else detected)
        fused = self.fuse(parts)
        vector = parts.vector
        if self.refuses(parts):
            return SearchResult(query, [], space_type, detected, no_match=True, corrections=self.respell.corrections(query))
        order = np.argsort(-fused, kind="stable")
        hits: list[Hit] = []
        for row in order[:depth] if depth else order:
            record = self.artifact.records[int(row)]
            if space_type and space_type not in record["space_types"]:
                continue
            if themes and not set(themes) & set(record["themes"]):
                continue
            if status and record["status"] not in status:
                continue
            if exclude and record["id"] in exclude:
                continue
            if land and land not in laender_of(record["state"]):
                continue
            if size_class and record.get("size_class") != size_class:
                continue
            phrase, phrase_score = self._best_challenge(int(row), vector)
            hits.append(Hit(record, float(fused[row]), phrase, phrase_score))
            if len(hits) >= (2 * limit if prefer else limit):
                break
        if prefer and hits:
            close = hits[0].score - self.ranking.prefer_margin
            # stable: the close ones that fit first, by fit; then all others in rank order
            hits = sorted(hits, key=lambda h: -prefer.fit(h.record) if h.score >= close else 0)[:limit]
        return SearchResult(query, hits, space_type, detected, no_match=False, corrections=self.respell.corrections(query))

    def hit_for(self, solution_id: str, query: str) -> Hit:
        """One record as a hit for ``query`` (for "Details zu Nummer 2").

        Raises:
            KeyError: if the id is not in the index.
        """
        row = self.by_id[solution_id]
        vector = self.embedder.encode_queries([self.respell(query) or self.artifact.records[row]["title"]])[0]
        phrase, phrase_score = self._best_challenge(row, vector)
        score = float(self.artifact.index.reconstruct(row) @ vector)
        return Hit(self.artifact.records[row], score, phrase, phrase_score)

    def nearest(self, solution_ids: list[str], query: str) -> str:
        """Of these records, the one whose vector is closest to the query's."""
        vector = self.embedder.encode_queries([self.respell(query)])[0]
        return max(solution_ids, key=lambda rid: float(self.artifact.index.reconstruct(self.by_id[rid]) @ vector))

    def similar(self, solution_id: str, limit: int = 5, exclude: set[str] | None = None,
                space_type: str | None = None) -> SearchResult:
        """Records closest to a given record (its stored vector is the query)."""
        row = self.by_id[solution_id]
        vector = self.artifact.index.reconstruct(row).reshape(1, -1)
        scores, rows = self.artifact.index.search(vector, self.count)
        skip = (exclude or set()) | {solution_id}
        hits: list[Hit] = []
        for score, other in zip(scores[0], rows[0], strict=True):
            record = self.artifact.records[int(other)]
            if record["id"] in skip or (space_type and space_type not in record["space_types"]):
                continue
            phrase, phrase_score = self._best_challenge(int(other), vector[0])
            hits.append(Hit(record, float(score), phrase, phrase_score))
            if len(hits) >= limit:
                break
        return SearchResult(self.artifact.records[row]["title"], hits, space_type)

    def _best_challenge(self, row: int, vector: np.ndarray) -> tuple[str | None, float | None]:
        start, end = self.artifact.challenge_offsets[row], self.artifact.challenge_offsets[row + 1]
        if start == end:
            return None, None
        sims = self.artifact.challenge_vectors[start:end] @ vector
        best = int(np.argmax(sims))
        return self.artifact.records[row]["challenges"][best], float(sims[best])


def _texts_of(records: Sequence[RecordDict]) -> list[str]:
    """The records' words as planners read them (what ``Speller`` respells questions towards)."""
    texts: list[str] = []
    for record in records:
        texts += [record["title"], record["summary"], record["description"], record["municipality"]]
        texts += record["challenges"] + record["effects_intended"] + record["effects_unintended"] + record["indicators"]
    return texts
