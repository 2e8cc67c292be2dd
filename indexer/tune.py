"""Domain adaptation: a short contrastive fine-tune of the embedding model on a corpus's own pairs.

Each challenge phrase of a record is paired with the record's passage (MultipleNegativesRankingLoss:
the other passages in a batch are the negatives). Because typos, missing umlauts and split compounds are
where retrieval is weakest, part of the phrases are added again in such a variant. The result is a
sentence-transformers folder in the cache, keyed by base model, training data and settings, so the same
inputs give the same folder name, and training with the same seed gives the same weights.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from indexer.corpus import Record, RecordDict, load_corpus, shipped_corpus
from indexer.embedding import TUNED_PREFIX, Embedder, resolve_model_path, tuned_model_dir
from indexer.text import UMLAUTS_DROPPED, UMLAUTS_WRITTEN_OUT, split_compound


@dataclass(frozen=True)
class TuneSettings:
    seed: int = 42
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    max_seq_length: int = 128
    augment_share: float = 0.5  # share of phrases added once more as a typo/umlaut/compound variant
    max_steps: int | None = 32  # stop after this many batches (a large corpus is sampled, not trained longer)


def variant(text: str, rng: random.Random) -> str:
    """One noisy spelling of a phrase, as planners type it: a typo, folded umlauts, or a split compound."""
    words = text.split()
    kind = rng.choice(("typo", "umlaut", "compound"))
    if kind == "umlaut" and any(c in text for c in "äöüÄÖÜß"):
        return text.translate(UMLAUTS_WRITTEN_OUT if rng.random() < 0.5 else UMLAUTS_DROPPED)
    if kind == "compound":
        for i, word in enumerate(words):
            parts = split_compound(word.strip(".,;:!?"))
            if parts:
                words[i] = (" " if rng.random() < 0.5 else "-").join(p.capitalize() if word[0].isupper() else p for p in parts)
                return " ".join(words)
    long_words = [i for i, w in enumerate(words) if len(w) >= 6]
    if not long_words:
        return text
    i = rng.choice(long_words)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1 :] if rng.random() < 0.5 else w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _record_pairs(records: list[Record], settings: TuneSettings, rng: random.Random) -> list[tuple[str, str, str]]:
    pairs = []
    for record in sorted(records, key=lambda r: r.id):
        passage = record.passage()
        for phrase in record.challenges:
            pairs.append((record.id, phrase, passage))
            if rng.random() < settings.augment_share:
                noisy = variant(phrase, rng)
                if noisy != phrase:
                    pairs.append((record.id, noisy, passage))
    return pairs


def training_pairs(records: list[Record], settings: TuneSettings,
                   background: list[Record] | tuple[Record, ...] = ()) -> list[tuple[str, str, str]]:
    """(record id, phrase, passage) triples in a fixed order; the seed decides the noisy variants and the sample.

    ``background`` (the atlas's own corpus) fills the training budget (``max_steps`` batches) that a small corpus
    leaves unused, so a 60-record atlas gets a model that already knows the domain; its own pairs always come first.
    """
    pairs = _record_pairs(records, settings, random.Random(settings.seed))
    own = {r.id for r in records}
    budget = (settings.max_steps or 0) * settings.batch_size
    extra = _record_pairs([r for r in background if r.id not in own], settings, random.Random(settings.seed + 1))
    if extra and len(pairs) < budget:
        pairs += random.Random(settings.seed + 2).sample(extra, min(len(extra), budget - len(pairs)))
    return pairs


def training_key(base_model: str, pairs: list[tuple[str, str, str]], settings: TuneSettings) -> str:
    digest = hashlib.sha256(json.dumps([base_model, pairs, asdict(settings)], ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def key_for(base_model: str, records: list[Record], settings: TuneSettings | None = None,
            background: list[Record] | tuple[Record, ...] = ()) -> str:
    """The key a fine-tune of ``base_model`` on ``records`` gets (no training needed to know it)."""
    settings = settings or TuneSettings()
    return training_key(base_model, training_pairs(records, settings, background), settings)


def shipped_records() -> list[Record]:
    """The atlas's own records, the background every corpus is tuned with."""
    return load_corpus(shipped_corpus()).records


# A corpus whose records changed by more than this share (new, changed or removed, against the live build) gets the
# model tuned again; smaller edits keep the live build's model, so publishing takes seconds, not minutes.
RETUNE_SHARE = 0.1


def changed_share(before: list[RecordDict], after: list[Record]) -> float:
    """The share of records that are new, changed or gone in ``after`` compared with ``before`` (a build's records)."""
    old = {r["id"]: r for r in before}
    new = {r.id: r.to_dict() for r in after}
    changed = sum(1 for rid, record in new.items() if old.get(rid) != record) + sum(1 for rid in old if rid not in new)
    return changed / max(1, len(new))


def _batches(pairs: list[tuple[str, str, str]], size: int, rng: random.Random) -> list[list[tuple[str, str, str]]]:
    """Shuffled batches in which no record appears twice (a second copy would count as a negative)."""
    pool = pairs[:]
    rng.shuffle(pool)
    batches: list[list[tuple[str, str, str]]] = []
    while pool:
        batch: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        rest: list[tuple[str, str, str]] = []
        for pair in pool:
            if len(batch) < size and pair[0] not in seen:
                batch.append(pair)
                seen.add(pair[0])
            else:
                rest.append(pair)
        batches.append(batch)
        pool = rest
    return batches


def tune(base_path: str, base_name: str, records: list[Record], cache_dir: Path, query_prefix: str, passage_prefix: str,
         settings: TuneSettings | None = None, progress: bool = True, background: list[Record] | tuple[Record, ...] = ()) -> Path:
    """Fine-tune ``base_path`` on ``records`` (cached by key); returns the tuned model folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from tqdm import tqdm

    settings = settings or TuneSettings()
    pairs = training_pairs(records, settings, background)
    key = training_key(base_name, pairs, settings)
    target = tuned_model_dir(cache_dir, key)
    if (target / "modules.json").is_file():
        return target
    rng = random.Random(settings.seed)
    torch.manual_seed(settings.seed)
    model = SentenceTransformer(base_path, device="cpu")
    model.max_seq_length = settings.max_seq_length
    # The 250k-row word-embedding table is most of the model; leaving it fixed makes a CPU run fast.
    for module in model.modules():
        if isinstance(module, torch.nn.Embedding) and module.num_embeddings > 10000:
            module.weight.requires_grad_(False)
    loss_fn = MultipleNegativesRankingLoss(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate)
    batches = [b for _ in range(settings.epochs) for b in _batches(pairs, settings.batch_size, rng)]
    batches = batches[: settings.max_steps]
    warmup = max(1, int(settings.warmup_ratio * len(batches)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (len(batches) - step) / max(1, len(batches) - warmup)))
    )
    model.train()
    started = time.perf_counter()
    losses = []
    bar = tqdm(batches, desc="Modell anpassen", unit="Schritt", disable=not progress)
    for batch in bar:
        anchors = model.preprocess([query_prefix + phrase for _, phrase, _ in batch])
        positives = model.preprocess([passage_prefix + passage for _, _, passage in batch])
        loss = loss_fn([anchors, positives], None)
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    model.max_seq_length = 512
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tune-") as tmp:
        out = Path(tmp) / "model"
        model.save(str(out))
        (out / "atlas_tuning.json").write_text(json.dumps({
            "key": key, "base_model": base_name, "pairs": len(pairs), "records": len(records), "steps": len(batches),
            "settings": asdict(settings), "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None, "seconds": round(time.perf_counter() - started, 1),
        }, indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    return target


def index_embedder(model_name: str, cache_dir: Path, query_prefix: str, passage_prefix: str, records: list[Record],
                   tuned: bool = True, progress: bool = True, background: list[Record] | tuple[Record, ...] = (),
                   settings: TuneSettings | None = None) -> Embedder:
    """The model ``atlas index`` embeds with: fine-tuned on ``records`` (and ``background``; trained once, then
    cached), or the base."""
    key = None
    if tuned:
        path = tune(resolve_model_path(model_name, cache_dir), model_name, records, cache_dir, query_prefix,
                    passage_prefix, settings, progress=progress, background=background)
        key = path.name.removeprefix(TUNED_PREFIX)
    return Embedder(model_name, cache_dir, query_prefix, passage_prefix, tuned=key)
