"""Does domain adaptation generalise? Train without one split's answers, then measure on that split.

1. Fine-tune the base model on the corpus minus every record that is a grade-2 answer to a query of
   the chosen split (``--split dev`` to choose tuning settings, ``--split test`` to report).
2. Index the whole corpus with the base model and with the tuned model (temporary folders).
3. Print the split's figures for both, dense-only and with the default fusion ("nothing fits" off, as
   it is no part of the ranking).
Run: .venv/bin/python scripts/tune_experiment.py [--split dev] [--epochs 2] [--lr 3e-5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from indexer.artifact import load_current
from indexer.build import build_index
from indexer.corpus import load_corpus
from indexer.embedding import BUNDLED_MODEL, TUNED_PREFIX, Embedder, default_cache_dir, resolve_model_path
from indexer.evalset import load_queries
from indexer.tune import TuneSettings, tune
from service.evaluation import format_report, run, summarise
from service.search import Ranking, Searcher

ROOT = Path(__file__).resolve().parent.parent

QUERIES = ROOT / "tests" / "eval" / "queries.yaml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=["dev", "test"], default="test")
    parser.add_argument("--epochs", type=int, default=TuneSettings.epochs)
    parser.add_argument("--lr", type=float, default=TuneSettings.learning_rate)
    parser.add_argument("--skip-base", action="store_true", help="Only the tuned model.")
    args = parser.parse_args()
    settings = TuneSettings(epochs=args.epochs, learning_rate=args.lr)
    cache = default_cache_dir()
    corpus = load_corpus(ROOT / "corpus")
    queries = load_queries(QUERIES, args.split)
    held = {rid for q in queries for rid, grade in q.relevant.items() if grade >= 2}
    train = [r for r in corpus.records if r.id not in held]
    print(f"{settings}\nheld out {len(held)} records (grade-2 answers of {args.split} queries); training on {len(train)}")
    t0 = time.perf_counter()
    path = tune(resolve_model_path(BUNDLED_MODEL, cache), BUNDLED_MODEL, train, cache, "query: ", "passage: ", settings)
    print(f"tuned model {path.name} ready after {time.perf_counter() - t0:.0f} s")
    key = path.name.removeprefix(TUNED_PREFIX)
    hybrid = replace(Ranking(), min_on_topic=0.0)
    dense = Ranking(0.0, 0.0, 0.0, 0.0)
    for label, tuned in ((("base", None),) if not args.skip_base else ()) + (("tuned", key),):
        embedder = Embedder(BUNDLED_MODEL, cache, tuned=tuned)
        with tempfile.TemporaryDirectory() as tmp:
            build_index(corpus, Path(tmp), embedder)
            artifact = load_current(Path(tmp))
            for name, ranking in (("dense only", dense), ("hybrid", hybrid)):
                searcher = Searcher(embedder, artifact, ranking)
                print(format_report(summarise(run(searcher, queries)), f"== {args.split} split, {label} model, {name} =="))
                print()


if __name__ == "__main__":
    main()
