"""What a follow-up turn asks for, learned from example phrasings (prompts/<lang>/intents.yaml).

A small logistic regression over the sentence vectors of the model that built the index, side by side with the
message's character n-grams (tf-idf), which carry the cue words a sentence vector blurs ("kostet", "Ansprechpartner",
"testbetrieb" with a typo): deterministic, fitted in a second or two when a build is loaded (and kept in the model
cache, so a hot swap to a build with the same model and phrasings loads it), and easy to extend —
editors add phrasings to the YAML files, not rules to code.
New challenges are learned from the records' own challenge phrases as well (their vectors are in the index already),
so "a new problem" means "sounds like the problems the atlas answers"; and everyday questions from the "nothing
fits" detector's negatives, so that "Wie wird das Wetter morgen?" in the middle of a conversation is not taken for a
follow-up (it is searched as a new question, refused, and the conversation keeps its thread).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import yaml
from scipy.sparse import csr_matrix, hstack, spmatrix
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from indexer.build import VectorCache
from indexer.domain import ENGLISH_NEGATIVES, load_negatives
from indexer.embedding import Embedder
from indexer.exchange import write_atomic
from service.search import QueryEncoder

log = logging.getLogger(__name__)

INTENTS = ("new", "refine", "context", "status", "details", "similar", "more", "contact", "costs", "help", "off_topic",
           "reset", "thanks", "greeting")
MAX_CHALLENGE_EXAMPLES = 300  # challenge phrases from the index used as "new" examples (evenly spaced, deterministic)
MAX_OFF_TOPIC_EXAMPLES = 150  # everyday questions from indexer/data/off_topic*.txt
# Weight of the character n-grams next to the sentence vector. Trained on the older phrasings plus one writer's and
# tested on another writer's unseen ones, 1.0 against 0 (vector only): 0.935 / 0.942 against 0.882 / 0.946, and 0.916
# against 0.879 on the dev dialogues' follow-up turns (issue 13).
NGRAM_WEIGHT = 1.0
NGRAMS: dict[str, Any] = {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True}
# newton-cg reaches the same optimum as the default lbfgs in a quarter of the time on ~3800 phrasings (1.2 s against
# 5.2 s; the same top intent for 99.8 % of the dialogue sets' messages): a start or hot swap waits for it.
REGRESSION: dict[str, Any] = {"C": 3.0, "max_iter": 3000, "class_weight": "balanced", "random_state": 0,
                              "solver": "newton-cg"}


def _stored_path(model: Embedder, texts: list[str], labels: list[str], vectors: np.ndarray) -> Path:
    """Where the classifier fitted from these inputs is kept (the key covers inputs, settings and sklearn)."""
    digest = hashlib.sha256(json.dumps([texts, labels, repr(NGRAMS), repr(REGRESSION), NGRAM_WEIGHT, sklearn.__version__],
                                       ensure_ascii=False).encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    # Named after the tuned model it was fitted with, so `atlas cache prune` removes it with that model.
    return model.cache_dir / "intents" / f"{model.tuned or 'base'}-{digest.hexdigest()[:24]}.npz"


@dataclass(frozen=True)
class Intent:
    name: str
    probability: float
    runner_up: Intent | None = None  # the second most likely intent


def load_examples(prompts_dir: Path, languages: tuple[str, ...] = ("de", "en")) -> dict[str, list[str]]:
    """The example phrasings per intent from every language's intents.yaml, plus off-topic questions.

    Raises:
        ValueError: for an intent name the conversation does not know (a typo in the YAML file).
    """
    examples: dict[str, list[str]] = {name: [] for name in INTENTS}
    for language in languages:
        path = prompts_dir / language / "intents.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, phrasings in data.items():
            if name not in examples:
                raise ValueError(f"{path}: unbekannte Absicht '{name}'. Erlaubt: {', '.join(INTENTS)}.")
            examples[name].extend(str(p) for p in phrasings or [])
    negatives = load_negatives() + load_negatives(ENGLISH_NEGATIVES)
    examples["off_topic"].extend(negatives[:: max(1, len(negatives) // MAX_OFF_TOPIC_EXAMPLES)][:MAX_OFF_TOPIC_EXAMPLES])
    return examples


class IntentClassifier:
    """Classifies a message into one of INTENTS from its query vector."""

    ngrams: TfidfVectorizer
    model: LogisticRegression

    def __init__(self, embedder: QueryEncoder, examples: dict[str, list[str]], challenge_vectors: np.ndarray,
                 challenges: list[str]) -> None:
        """``challenges`` are the index's challenge phrases, row by row with ``challenge_vectors``."""
        self.embedder = embedder
        texts = [text for name in INTENTS for text in examples.get(name, [])]
        labels = [name for name in INTENTS for _ in examples.get(name, [])]
        model = getattr(embedder, "embedder", embedder)  # the service's batcher wraps the model's Embedder
        # The phrasings' vectors are kept in the model cache: a restart or hot swap with the same model does not
        # encode some 800 phrasings again (several seconds of CPU while the old build answers).
        vectors = VectorCache(model).queries(texts) if isinstance(model, Embedder) else embedder.encode_queries(texts)
        if len(challenge_vectors):
            step = max(1, len(challenge_vectors) // MAX_CHALLENGE_EXAMPLES)
            sample = challenge_vectors[::step][:MAX_CHALLENGE_EXAMPLES]
            vectors = np.vstack([vectors, sample])
            texts += challenges[::step][:MAX_CHALLENGE_EXAMPLES]
            labels += ["new"] * len(sample)
        # The fitted classifier is kept in the model cache under a key of everything it is fitted from: a hot swap
        # to a build with the same model and phrasings (an editor's publish) loads it instead of fitting again.
        self.stored = _stored_path(model, texts, labels, vectors) if isinstance(model, Embedder) else None
        if self.stored is None or not self._load(self.stored):
            self.ngrams = TfidfVectorizer(**NGRAMS).fit(texts)
            self.model = LogisticRegression(**REGRESSION)
            self.model.fit(self._features(vectors, texts), labels)
            if self.stored is not None:
                try:
                    self._store(self.stored)
                except OSError as exc:  # a read-only cache: fitted again at the next start, nothing else changes
                    log.warning("Der Klassifikator für Gesprächszüge konnte nicht zwischengespeichert werden: %s", exc)

    def _store(self, path: Path) -> None:
        """Write the fitted arrays (no pickles) next to the vectors; a file appears whole or not at all."""
        terms = np.empty(len(self.ngrams.vocabulary_), dtype=object)
        for term, column in self.ngrams.vocabulary_.items():
            terms[column] = term
        buffer = io.BytesIO()
        np.savez(buffer, terms=terms.astype(str), idf=self.ngrams.idf_, coef=self.model.coef_,
                 intercept=self.model.intercept_, classes=self.model.classes_.astype(str))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buffer.getvalue())

    def _load(self, path: Path) -> bool:
        """The fitted classifier from ``path``; False if there is none (or it cannot be read: then it is fitted)."""
        try:
            with np.load(path, allow_pickle=False) as stored:
                ngrams = TfidfVectorizer(**NGRAMS, vocabulary={str(term): i for i, term in enumerate(stored["terms"])})
                ngrams.idf_ = stored["idf"]
                model = LogisticRegression(**REGRESSION)
                model.coef_, model.intercept_ = stored["coef"], stored["intercept"]
                model.classes_ = stored["classes"].astype(object)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return False
        self.ngrams, self.model = ngrams, model
        return True

    def _features(self, vectors: np.ndarray, texts: list[str]) -> spmatrix:
        return hstack([csr_matrix(vectors), self.ngrams.transform(texts) * NGRAM_WEIGHT]).tocsr()

    def classify(self, message: str) -> Intent:
        vector = self.embedder.encode_queries([message])
        probabilities = self.model.predict_proba(self._features(vector, [message]))[0]
        second, best = (int(i) for i in np.argsort(probabilities)[-2:])
        runner_up = Intent(str(self.model.classes_[second]), float(probabilities[second]))
        return Intent(str(self.model.classes_[best]), float(probabilities[best]), runner_up)
