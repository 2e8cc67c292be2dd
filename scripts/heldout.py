"""Run a benchmark the way the held-out one is run: import a corpus file into a fresh folder with
`atlas import`, index it with `atlas index` (default settings: the model is fine-tuned on that corpus
first), start `atlas serve` on 127.0.0.1 and ask `POST /api/search` for every query without a
space-type filter. Prints nDCG@5, Recall@5, MRR@10 per kind and the "nothing fits" rates.

    .venv/bin/python scripts/heldout.py CORPUS.jsonl|csv QUERIES.yaml
    .venv/bin/python scripts/heldout.py --subset 60 --split test     # a mock held-out set from our own data

``--subset N`` builds a small benchmark from our corpus: the N records that answer most of the split's
queries (grade 2), the split's queries restricted to those records (queries left without a relevant
record are dropped; off-topic queries stay). The model is then trained on those N records only.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from indexer.corpus import load_corpus
from indexer.evalset import OFF_TOPIC, load_queries
from service.evaluation import Outcome, format_report, summarise
from tests.serving import running_server

ROOT = Path(__file__).resolve().parent.parent


def atlas(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "service.cli", *args], check=True, cwd=ROOT)


def mock_benchmark(size: int, split: str, folder: Path) -> tuple[Path, Path]:
    """A corpus file and a queries file made from our own data (see module docstring)."""
    queries = load_queries(ROOT / "tests" / "eval" / "queries.yaml", split)
    counts = collections.Counter(rid for q in queries for rid, grade in q.relevant.items() if grade >= 2)
    chosen = {rid for rid, _ in counts.most_common(size)}
    records = [r for r in load_corpus(ROOT / "corpus").records if r.id in chosen]
    corpus_file = folder / "benchmark-corpus.jsonl"
    corpus_file.write_text("".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    kept = []
    for q in queries:
        relevant = {rid: g for rid, g in q.relevant.items() if rid in chosen}
        if relevant or q.kind == OFF_TOPIC:
            kept.append({"id": q.id, "kind": q.kind, "split": q.split, "query": q.query, "space_type": q.space_type,
                         "relevant": relevant})
    queries_file = folder / "benchmark-queries.yaml"
    queries_file.write_text(yaml.safe_dump(kept, allow_unicode=True, sort_keys=False), encoding="utf-8")
    print(f"mock benchmark: {len(records)} records, {len(kept)} queries "
          f"({sum(q['kind'] == OFF_TOPIC for q in kept)} off-topic)")
    return corpus_file, queries_file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus_file", nargs="?", type=Path)
    parser.add_argument("queries_file", nargs="?", type=Path)
    parser.add_argument("--subset", type=int, help="Make a mock benchmark of this many records from our own data.")
    parser.add_argument("--split", default="test", choices=["dev", "test", "all"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atlas-heldout-") as tmp:
        folder = Path(tmp)
        if args.subset:
            corpus_file, queries_file = mock_benchmark(args.subset, args.split, folder)
        elif args.corpus_file and args.queries_file:
            corpus_file, queries_file = args.corpus_file.resolve(), args.queries_file.resolve()
        else:
            parser.error("give CORPUS_FILE and QUERIES_FILE, or --subset N")
        started = time.perf_counter()
        atlas("import", str(corpus_file), "--corpus", str(folder / "corpus"))
        atlas("index", "--corpus", str(folder / "corpus"), "--index", str(folder / "index"))
        print(f"import + index (tuning included): {time.perf_counter() - started:.0f} s")
        queries = load_queries(queries_file, "all")
        outcomes = []
        with running_server({"ATLAS_INDEX_DIR": str(folder / "index")}) as url, httpx.Client(base_url=url) as client:
            for q in queries:
                body = client.post("/api/search", json={"query": q.query, "limit": 10}, timeout=60).json()
                outcomes.append(Outcome(q, [r["id"] for r in body["results"]], body["no_match"]))
        print(format_report(summarise(outcomes), f"== {queries_file.name}: {len(queries)} queries over HTTP =="))
        misses = [o for o in outcomes if o.on_topic and (o.refused or o.ndcg() < 0.5)]
        refused_off = [o for o in outcomes if not o.on_topic and not o.refused]
        for o in misses + refused_off:
            print(f"  {'refused' if o.refused else 'weak' if o.on_topic else 'answered'} [{o.query.kind}] {o.query.query[:80]}")


if __name__ == "__main__":
    main()
