"""Retrieval evaluation: nDCG@5, Recall@5, MRR@10 and "nothing fits" rates over labelled queries.

Queries file (YAML list): id, kind, split (dev|test), query, space_type (or null) and
relevant: {record id: grade 1|2}; off-topic queries have kind "off_topic" and no relevant records.
Gain is the relevance grade (0/1/2), discounted by log2(rank + 1).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from indexer.evalset import OFF_TOPIC, EvalQuery
from service.search import Searcher


@dataclass
class Outcome:
    query: EvalQuery
    ranked: list[str]
    refused: bool

    @property
    def on_topic(self) -> bool:
        return self.query.kind != OFF_TOPIC

    def ndcg(self, k: int = 5) -> float:
        gains = [0 if self.refused else self.query.relevant.get(rid, 0) for rid in self.ranked[:k]]
        dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
        ideal = sorted(self.query.relevant.values(), reverse=True)[:k]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        return dcg / idcg if idcg else 0.0

    def recall(self, k: int = 5) -> float:
        if self.refused or not self.query.relevant:
            return 0.0
        return len(set(self.ranked[:k]) & set(self.query.relevant)) / len(self.query.relevant)

    def mrr(self, k: int = 10) -> float:
        if self.refused:
            return 0.0
        for i, rid in enumerate(self.ranked[:k]):
            if self.query.relevant.get(rid, 0) > 0:
                return 1.0 / (i + 1)
        return 0.0


def run(searcher: Searcher, queries: Iterable[EvalQuery], depth: int = 10) -> list[Outcome]:
    """Ask every query without a space-type filter, as the held-out benchmark does."""
    outcomes = []
    for q in queries:
        result = searcher.search(q.query, limit=depth)
        outcomes.append(Outcome(q, [h.record["id"] for h in result.hits], result.no_match))
    return outcomes


@dataclass
class Summary:
    n: int = 0
    ndcg5: float = 0.0
    recall5: float = 0.0
    mrr10: float = 0.0


@dataclass
class Report:
    overall: Summary
    by_kind: dict[str, Summary] = field(default_factory=dict)
    by_space_type: dict[str, Summary] = field(default_factory=dict)
    off_topic_refused: float = 0.0
    false_refusals: float = 0.0
    n_off_topic: int = 0


def _summary(outcomes: list[Outcome]) -> Summary:
    if not outcomes:
        return Summary()
    n = len(outcomes)
    return Summary(n, sum(o.ndcg() for o in outcomes) / n, sum(o.recall() for o in outcomes) / n,
                   sum(o.mrr() for o in outcomes) / n)


def summarise(outcomes: list[Outcome]) -> Report:
    on_topic = [o for o in outcomes if o.on_topic]
    off_topic = [o for o in outcomes if not o.on_topic]
    kinds: dict[str, list[Outcome]] = defaultdict(list)
    spaces: dict[str, list[Outcome]] = defaultdict(list)
    for o in on_topic:
        kinds[o.query.kind].append(o)
        spaces[o.query.space_type or "ohne"].append(o)
    return Report(
        overall=_summary(on_topic),
        by_kind={k: _summary(v) for k, v in sorted(kinds.items())},
        by_space_type={k: _summary(v) for k, v in sorted(spaces.items())},
        off_topic_refused=sum(o.refused for o in off_topic) / len(off_topic) if off_topic else 0.0,
        false_refusals=sum(o.refused for o in on_topic) / len(on_topic) if on_topic else 0.0,
        n_off_topic=len(off_topic),
    )


def format_report(report: Report, title: str) -> str:
    lines = [f"{title}", f"{'':22}{'n':>4} {'nDCG@5':>7} {'R@5':>6} {'MRR@10':>7}"]

    def row(name: str, s: Summary) -> None:
        lines.append(f"{name:22}{s.n:4d} {s.ndcg5:7.3f} {s.recall5:6.3f} {s.mrr10:7.3f}")

    row("gesamt (on-topic)", report.overall)
    lines.append("nach Art:")
    for kind, s in report.by_kind.items():
        row(f"  {kind}", s)
    lines.append("nach Raumtyp der Frage:")
    for space, s in report.by_space_type.items():
        row(f"  {space}", s)
    lines.append(f"off-topic abgelehnt: {report.off_topic_refused:.1%} von {report.n_off_topic}; "
                 f"fälschlich abgelehnt: {report.false_refusals:.1%} von {report.overall.n}")
    return "\n".join(lines)
