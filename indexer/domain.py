"""A small "is this a planning question at all?" classifier, trained at index time.

Nearest-record similarity alone cannot tell "Wie beantrage ich einen Reisepass?" from a planning
challenge: E5 similarities are compressed. A logistic regression on the question's embedding can:
positives are the corpus's own challenge phrases, titles and summaries, negatives a fixed list of
questions the atlas cannot answer (indexer/data/off_topic.txt: everyday, citizen-service,
internal-administration, general-knowledge and chatbot-task questions in German and English).
Because it is trained on the embeddings of the model that builds the index, it works the same for the
base and the fine-tuned model. Its weights are part of the index artifact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.resources import MissingDataError

NEGATIVES = Path(__file__).parent / "data" / "off_topic.txt"
L2 = 1e-3


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


def train_detector(positives: np.ndarray, negatives: np.ndarray, seed: int = 0) -> np.ndarray:
    """Class-balanced L2 logistic regression; returns the weights with the bias as last element."""
    import torch

    torch.manual_seed(seed)
    x = torch.from_numpy(np.concatenate([positives, negatives]).astype(np.float32))
    y = torch.cat([torch.ones(len(positives)), torch.zeros(len(negatives))])
    weight = torch.where(y > 0, 0.5 / len(positives), 0.5 / len(negatives))
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = x @ w + b
        loss = (weight * torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")).sum()
        loss = loss + L2 * (w @ w)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    return np.concatenate([w.detach().numpy(), b.detach().numpy()]).astype(np.float32)


def on_topic_probability(detector: np.ndarray, vector: np.ndarray) -> float:
    """P(planning question) for one unit query vector."""
    logit = float(vector @ detector[:-1] + detector[-1])
    return float(1.0 / (1.0 + np.exp(-logit)))
