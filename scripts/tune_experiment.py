"""Does domain adaptation generalise? Train without the test split's answers, then compare on the test split.

1. Fine-tune the base model on the corpus minus every record that is a grade-2 answer to a test query.
2. Index the whole corpus with the base model and with the tuned model (temporary folders).
3. Print test-split figures for both, dense-only and with the default fusion; the "nothing fits"
   threshold is switched off here, since it is calibrated for the base model only.
Run: .venv/bin/python scripts/tune_experiment.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.artifact import load_current  # noqa: E402
from indexer.build import build_index  # noqa: E402
from indexer.corpus import load_corpus  # noqa: E402
from indexer.embedding import BUNDLED_MODEL, Embedder, default_cache_dir, resolve_model_path  # noqa: E402
from indexer.tune import tune  # noqa: E402
from service.evaluation import format_report, load_queries, run, summarise  # noqa: E402
from service.search import Ranking, Searcher  # noqa: E402

QUERIES = ROOT / "tests" / "eval" / "queries.yaml"


def main() -> None:
    cache = default_cache_dir()
    corpus = load_corpus(ROOT / "corpus")
    test = load_queries(QUERIES, "test")
    held = {rid for q in test for rid, grade in q.relevant.items() if grade >= 2}
    train = [r for r in corpus.records if r.id not in held]
    print(f"held out {len(held)} records (grade-2 answers of test queries); training on {len(train)}")
    t0 = time.perf_counter()
    path = tune(resolve_model_path(BUNDLED_MODEL, cache), BUNDLED_MODEL, train, cache, "query: ", "passage: ")
    print(f"tuned model {path.name} ready after {time.perf_counter() - t0:.0f} s")
    key = path.name.removeprefix("tuned-")
    hybrid = replace(Ranking(), min_similarity=0.0)
    dense = Ranking(0.0, 0.0, 0.0, 0.0, 0.0)
    for label, tuned in (("base", None), ("tuned", key)):
        embedder = Embedder(BUNDLED_MODEL, cache, tuned=tuned)
        with tempfile.TemporaryDirectory() as tmp:
            build_index(corpus, Path(tmp), embedder)
            artifact = load_current(Path(tmp))
            for name, ranking in (("dense only", dense), ("hybrid", hybrid)):
                searcher = Searcher(embedder, artifact, ranking)
                print(format_report(summarise(run(searcher, test)), f"== test split, {label} model, {name} =="))
                print()


if __name__ == "__main__":
    main()
