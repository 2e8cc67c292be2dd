"""Choose the ranking weights and the "nothing fits" threshold on the dev split only.

Prints dev figures for every weight combination tried and the best one, then the test figures
of dense-only and of the chosen setting side by side. Run after `make index`:
    .venv/bin/python scripts/tune_ranking.py [--queries tests/eval/queries.yaml]
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np

from indexer.evalset import EvalQuery, load_queries
from service.app import load_searcher
from service.config import Settings
from service.dialogues import load_dialogues
from service.evaluation import Outcome, format_report, summarise
from service.search import Ranking, ScoreParts, Searcher

ROOT = Path(__file__).resolve().parent.parent

# Of the on-topic dev questions (the dev split's, every new topic of the dev dialogues, and the terse keyword questions
# in four spellings each) at most this share may be refused: 3 % of the dev split alone let through a cut that refused
# 13 of the dialogues' 436 new topics; 0.5 % of the 1016 is one or two keyword topics in all their spellings.
MAX_FALSE_REFUSALS = 0.005


def outcomes_for(searcher: Searcher, queries: list[EvalQuery], cache: dict[str, ScoreParts], ranking: Ranking) -> list[Outcome]:
    """Rank with precomputed score parts, so that many weight settings cost no extra encoding."""
    searcher.ranking = ranking
    results = []
    for q in queries:
        parts = cache[q.id]
        order = np.argsort(-searcher.fuse(parts), kind="stable")[:10]
        results.append(Outcome(q, [searcher.artifact.records[int(i)]["id"] for i in order], searcher.refuses(parts)))
    return results


def lines(path: Path) -> list[str]:
    """The non-empty, non-comment lines of a question list."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def spellings(keywords: str) -> list[str]:
    """A keyword question as planners type it: as written, in lower case, with a "?" and both."""
    return [keywords, keywords.lower(), keywords.rstrip("?") + "?", keywords.lower().rstrip("?") + "?"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=Path, default=ROOT / "tests" / "eval" / "queries.yaml")
    parser.add_argument("--off-topic", type=Path, default=ROOT / "tests" / "eval" / "off_topic_dev.txt",
                        help="Off-topic dev questions, written apart from the detector's training negatives.")
    parser.add_argument("--keywords", type=Path, default=ROOT / "tests" / "eval" / "keywords_dev.txt",
                        help="Terse on-topic dev questions; each counts as written, in lower case, with a '?' and both.")
    parser.add_argument("--dialogues", type=Path, nargs="*", default=sorted((ROOT / "tests" / "eval").glob("conversations*.yaml")),
                        help="Dialogue sets whose dev dialogues' new topics count as on-topic questions too.")
    args = parser.parse_args()
    searcher = load_searcher(Settings())
    dev, test = load_queries(args.queries, "dev"), load_queries(args.queries, "test")
    cache = {}
    for q in dev + test:
        detected = searcher.understanding.detect_space_types(q.query)
        cache[q.id] = searcher.components(q.query, detected)

    # "Nothing fits": the cut-off on the domain detector that refuses the most off-topic dev questions (the dev
    # split's and the separate off-topic dev set) while refusing at most MAX_FALSE_REFUSALS of the on-topic ones
    # (ties: the lowest).
    detector = []
    extra = lines(args.off_topic)
    topics = [turn["say"] for path in args.dialogues for dialogue in load_dialogues(path, "dev")
              for turn in dialogue["turns"] if turn.get("kind") == "new"]
    topics += [form for keywords in lines(args.keywords) for form in spellings(keywords)]
    on_p = np.array([cache[q.id].on_topic for q in dev if q.kind != "off_topic"]
                    + [searcher.components(text, []).on_topic for text in topics])
    off_p = np.array([cache[q.id].on_topic for q in dev if q.kind == "off_topic"]
                     + [searcher.components(text, []).on_topic for text in extra])
    for cut in np.round(np.arange(0.0, 0.61, 0.02), 2):
        on, off = int((on_p < cut).sum()), int((off_p < cut).sum())
        if on <= MAX_FALSE_REFUSALS * len(on_p):
            detector.append((off, -cut, float(cut)))
        print(f"min_on_topic {cut:.2f}: off-topic dev refused {off}/{len(off_p)}, on-topic refused {on}/{len(on_p)}")
    min_on_topic = max(detector)[2] if detector else 0.0
    base = Ranking(w_challenge=0.0, w_lexical=0.0, w_space=0.0, min_on_topic=min_on_topic)
    print(f"chosen: min_on_topic {min_on_topic} (≤{MAX_FALSE_REFUSALS:.2%} of on-topic dev refused)\n")
    print(format_report(summarise(outcomes_for(searcher, dev, cache, base)), "dev, dense only"))
    grid = itertools.product([0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0], [0.0, 0.02, 0.04, 0.06, 0.1, 0.15, 0.2, 0.3],
                             [0.0, 0.01, 0.02, 0.04, 0.06])
    scored = []
    for w_c, w_l, w_s in grid:
        ranking = replace(base, w_challenge=w_c, w_lexical=w_l, w_space=w_s)  # refusal does not depend on these
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
