"""Choose the ranking weights and the "nothing fits" threshold on the dev split only.

Prints dev figures for every weight combination tried and the best one, then the test figures
of dense-only and of the chosen setting side by side. Run after `make index`:
    .venv/bin/python scripts/tune_ranking.py [--queries tests/eval/queries.yaml]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.app import load_searcher  # noqa: E402
from service.config import Settings  # noqa: E402
from service.evaluation import EvalQuery, Outcome, format_report, load_queries, summarise  # noqa: E402
from service.search import Ranking, Searcher  # noqa: E402

MAX_FALSE_REFUSALS = 0.03


def outcomes_for(searcher: Searcher, queries: list[EvalQuery], cache: dict[str, dict], ranking: Ranking) -> list[Outcome]:
    """Rank with precomputed score parts, so that many weight settings cost no extra encoding."""
    searcher.ranking = ranking
    results = []
    for q in queries:
        parts = cache[q.id]
        fused, best = searcher.fuse(parts)
        refused = searcher.refuses(parts, best)
        order = np.argsort(-fused, kind="stable")[:10]
        results.append(Outcome(q, [searcher.artifact.records[int(i)]["id"] for i in order], refused))
    return results


def calibrate_threshold(searcher: Searcher, queries: list[EvalQuery], cache: dict[str, dict]) -> float:
    """Highest threshold that refuses at most 3 % of on-topic dev questions."""
    best_on = sorted(searcher.fuse(cache[q.id])[1] for q in queries if q.kind != "off_topic")
    allowed = int(MAX_FALSE_REFUSALS * len(best_on))
    return float(best_on[allowed]) if best_on else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=Path, default=ROOT / "tests" / "eval" / "queries.yaml")
    args = parser.parse_args()
    searcher = load_searcher(Settings())
    dev, test = load_queries(args.queries, "dev"), load_queries(args.queries, "test")
    cache = {}
    for q in dev + test:
        detected = searcher.understanding.detect_space_types(q.query)
        cache[q.id] = searcher.components(q.query, detected)

    # "Nothing fits": pick the lexical nudge that refuses the most off-topic dev questions at ≤3 % false refusals.
    fits = []
    for w_fit in (0.0, 0.005, 0.01, 0.02, 0.04):
        searcher.ranking = Ranking(w_fit_lexical=w_fit, min_on_topic=0.0)
        threshold = calibrate_threshold(searcher, dev, cache)
        refused = sum(searcher.fuse(cache[q.id])[1] < threshold for q in dev if q.kind == "off_topic")
        print(f"w_fit_lexical {w_fit:.3f}: threshold {threshold:.4f}, off-topic dev refused {refused}")
        fits.append((refused, -w_fit, w_fit, threshold))
    _, _, w_fit, threshold = max(fits)
    # Domain detector: the lowest cut-off that refuses the most off-topic dev questions within the same limit.
    detector = []
    for cut in (0.0, 0.1, 0.15, 0.2, 0.22, 0.25, 0.28, 0.3, 0.32, 0.35, 0.4):
        searcher.ranking = replace(Ranking(), w_fit_lexical=w_fit, min_similarity=threshold, min_on_topic=cut)
        refused = [searcher.refuses(cache[q.id], searcher.fuse(cache[q.id])[1]) for q in dev]
        on = [r for r, q in zip(refused, dev, strict=True) if q.kind != "off_topic"]
        off = [r for r, q in zip(refused, dev, strict=True) if q.kind == "off_topic"]
        if sum(on) <= MAX_FALSE_REFUSALS * len(on):
            detector.append((sum(off), -cut, cut))
        print(f"min_on_topic {cut:.2f}: off-topic dev refused {sum(off)}/{len(off)}, on-topic refused {sum(on)}/{len(on)}")
    min_on_topic = max(detector)[2] if detector else 0.0
    base = Ranking(w_challenge=0.0, w_lexical=0.0, w_space=0.0, w_fit_lexical=w_fit, min_similarity=threshold,
                   min_on_topic=min_on_topic)
    print(f"chosen: w_fit_lexical {w_fit}, threshold {threshold:.4f}, min_on_topic {min_on_topic} "
          f"(≤{MAX_FALSE_REFUSALS:.0%} of on-topic dev refused)\n")
    print(format_report(summarise(outcomes_for(searcher, dev, cache, base)), "dev, dense only"))
    grid = itertools.product([0.0, 0.5, 1.0, 1.5, 2.0, 3.0], [0.0, 0.02, 0.04, 0.06, 0.1], [0.0, 0.01, 0.02, 0.04])
    scored = []
    for w_c, w_l, w_s in grid:
        ranking = replace(base, w_challenge=w_c, w_lexical=w_l, w_space=w_s)  # the fit does not depend on these
        report = summarise(outcomes_for(searcher, dev, cache, ranking))
        scored.append((report.overall.ndcg5, report.overall.recall5, ranking))
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    print("\nbest dev settings (nDCG@5, R@5, w_challenge, w_lexical, w_space):")
    for ndcg, recall, r in scored[:8]:
        print(f"  {ndcg:.3f} {recall:.3f}  {r.w_challenge:.2f} {r.w_lexical:.2f} {r.w_space:.2f}")
    chosen = scored[0][2]
    print()
    print(format_report(summarise(outcomes_for(searcher, dev, cache, chosen)), f"dev, chosen {chosen}"))
    print()
    print(format_report(summarise(outcomes_for(searcher, test, cache, base)), "test, dense only"))
    print()
    print(format_report(summarise(outcomes_for(searcher, test, cache, chosen)), "test, chosen"))


if __name__ == "__main__":
    main()
