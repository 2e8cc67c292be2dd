"""A small "is this a planning question at all?" classifier, trained at index time.

Nearest-record similarity alone cannot tell "Wie beantrage ich einen Reisepass?" from a planning
challenge: E5 similarities are compressed. A small neural network on the question's embedding can:
positives are the corpus's own challenge phrases, titles and summaries, negatives a fixed list of
questions the atlas cannot answer (indexer/data/off_topic.txt: everyday, citizen-service,
internal-administration, general-knowledge and chatbot-task questions in German).
Because it is trained on the embeddings of the model that builds the index, it works the same for the
base and the fine-tuned model. Its weights are part of the index artifact.

It reads a question without its closing punctuation (``bare``), and learns its negatives that way: they are all
questions and the positives are not, so with the "?" it learned that a question mark means off topic and refused
terse questions such as "Rufbus?" (14 of 127 keyword questions with a "?" appended, 0 without it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from indexer.resources import MissingDataError

NEGATIVES = Path(__file__).parent / "data" / "off_topic.txt"
# English off-topic questions: not trained on. The positives (the corpus) are German, so English negatives alone taught
# the detector that English means off topic ("How do we get a climate-neutral business park?" 0.11 with them, 0.42
# without); the multilingual model carries the German negatives' meaning to English questions (all 14 English ones of
# the separate off-topic dev set are refused either way). The turn classifier (service/intents.py) learns from both.
ENGLISH_NEGATIVES = Path(__file__).parent / "data" / "off_topic_en.txt"
L2 = 1e-3
CLOSING_PUNCTUATION = re.compile(r"[\s?!.…]+$")


def bare(text: str) -> str:
    """``text`` as the detector reads it: without its closing punctuation ("Rufbus?" → "Rufbus")."""
    return CLOSING_PUNCTUATION.sub("", text) or text


def load_negatives(path: Path = NEGATIVES) -> list[str]:
    """The off-topic questions the detector learns to refuse.

    Raises:
        MissingDataError: if the file is missing (an incomplete installation must not build an index without
            the "nothing fits" detector).
    """
    if not path.is_file():
        raise MissingDataError(f"{path} fehlt: ohne diese Datei kann der Index „nichts passt“ nicht erkennen. "
                               "Installieren Sie atlas-lotse neu.")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


HIDDEN = 64  # units of the detector's hidden layer
SEED = 0


@dataclass(frozen=True)
class Detector:
    """P(planning question) from a unit question vector: one hidden ReLU layer, then a logistic output.

    A linear detector (a logistic regression, until index format 3) could not separate questions that share a
    planning word with the corpus but not its kind of answer ("Fristen für die Auslegung eines Bebauungsplans",
    "Geflüchtete in einer Turnhalle unterbringen") without refusing planning questions too.
    """

    hidden_weights: np.ndarray  # dimension × HIDDEN
    hidden_bias: np.ndarray  # HIDDEN
    output_weights: np.ndarray  # HIDDEN
    output_bias: np.ndarray  # 1

    def probability(self, vector: np.ndarray) -> float:
        """P(planning question) for one unit question vector."""
        hidden = np.maximum(vector @ self.hidden_weights + self.hidden_bias, 0.0)
        logit = float(hidden @ self.output_weights + self.output_bias[0])
        return float(1.0 / (1.0 + np.exp(-logit)))

    def save(self, path: Path) -> None:
        np.savez(path, hidden_weights=self.hidden_weights, hidden_bias=self.hidden_bias,
                 output_weights=self.output_weights, output_bias=self.output_bias)

    @classmethod
    def load(cls, path: Path) -> Detector:
        """Raises OSError, KeyError, ValueError, EOFError or zipfile.BadZipFile for a missing or damaged file."""
        with np.load(path) as arrays:
            return cls(**{f.name: arrays[f.name] for f in fields(cls)})

    def shape_problems(self, dimension: int) -> list[str]:
        hidden = len(self.hidden_bias)
        expected = {"hidden_weights": (dimension, hidden), "hidden_bias": (hidden,), "output_weights": (hidden,),
                    "output_bias": (1,)}
        return [f"detector {name} has shape {getattr(self, name).shape}, expected {shape}"
                for name, shape in expected.items() if getattr(self, name).shape != shape]


def train_detector(positives: np.ndarray, negatives: np.ndarray, seed: int = SEED) -> Detector:
    """Class-balanced, L2-regularised training of the detector (full batch, L-BFGS, start weights from a generator
    seeded with ``seed``: the same inputs give the same weights)."""
    import torch

    x = torch.from_numpy(np.concatenate([positives, negatives]).astype(np.float32))
    y = torch.cat([torch.ones(len(positives)), torch.zeros(len(negatives))])
    weight = torch.where(y > 0, 0.5 / len(positives), 0.5 / len(negatives))
    dimension = x.shape[1]
    generator = torch.Generator().manual_seed(seed)
    w1 = (torch.randn(dimension, HIDDEN, generator=generator) / dimension**0.5).requires_grad_()
    b1 = torch.zeros(HIDDEN, requires_grad=True)
    w2 = (torch.randn(HIDDEN, generator=generator) / HIDDEN**0.5).requires_grad_()
    b2 = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([w1, b1, w2, b2], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = (x @ w1 + b1).clamp(min=0.0) @ w2 + b2
        fit: torch.Tensor = (weight * torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")).sum()
        loss: torch.Tensor = fit + L2 * (torch.sum(w1 * w1) + torch.dot(w2, w2))
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    return Detector(*(t.detach().numpy().astype(np.float32) for t in (w1, b1, w2, b2)))
