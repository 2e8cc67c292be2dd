"""Labelled planner questions for measuring retrieval (tests/eval/queries.yaml and held-out sets).

Queries file (YAML list): id, kind, split (dev|test), query, space_type (or null) and
relevant: {record id: grade 1|2}; off-topic queries have kind "off_topic" and no relevant records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

OFF_TOPIC = "off_topic"


@dataclass(frozen=True)
class EvalQuery:
    id: str
    kind: str
    split: str
    query: str
    space_type: str | None
    relevant: dict[str, int]


def load_queries(path: Path, split: str = "all") -> list[EvalQuery]:
    """Read the labelled queries; ``split`` is dev, test or all."""
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    queries = [
        EvalQuery(str(q["id"]), str(q["kind"]), str(q["split"]), str(q["query"]), q.get("space_type"),
                  {str(k): int(v) for k, v in (q.get("relevant") or {}).items()})
        for q in items
    ]
    return [q for q in queries if split == "all" or q.split == split]
