"""Turning hits into explained results and assistant messages, from records and prompts/ only."""

from __future__ import annotations

from typing import Any

from service.prompts import Prompts
from service.schemas import ResultItem
from service.search import Hit, SearchResult


class Presenter:
    """Builds result items and the assistant's words from retrieved records and the taxonomy labels."""

    def __init__(self, prompts: Prompts, taxonomy: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.prompts = prompts
        self.taxonomy = taxonomy

    def label(self, kind: str, slug: str) -> str:
        entry = self.taxonomy.get(kind, {}).get(slug) or {}
        return str(entry.get("short") or entry.get("label") or slug)

    def item(self, hit: Hit, space_type: str | None) -> ResultItem:
        record = hit.record
        space_labels = [self.label("space_types", s) for s in record["space_types"]]
        explanation = self.prompts.render(
            "explanation",
            record=record,
            matched_challenge=hit.matched_challenge,
            space_type=space_type,
            space_type_label=self.label("space_types", space_type) if space_type else None,
            space_type_labels=space_labels,
            status_label=self.label("status", record["status"]),
        )
        return ResultItem(
            id=record["id"], title=record["title"], summary=record["summary"],
            space_types=record["space_types"], space_type_labels=space_labels,
            themes=record["themes"], theme_labels=[self.label("themes", t) for t in record["themes"]],
            municipality=record["municipality"], state=record["state"], status=record["status"],
            status_label=self.label("status", record["status"]), score=round(hit.score, 4),
            matched_challenge=hit.matched_challenge, explanation=explanation,
        )

    def items(self, result: SearchResult) -> list[ResultItem]:
        return [self.item(hit, result.space_type) for hit in result.hits]

    def answer(self, result: SearchResult, items: list[ResultItem]) -> str:
        return self.prompts.render(
            "answer", results=items, space_type=result.space_type,
            space_type_label=self.label("space_types", result.space_type) if result.space_type else None,
        )

    def suggestions(self) -> list[str]:
        return [self.label("space_types", s) for s in self.taxonomy.get("space_types", {})]
