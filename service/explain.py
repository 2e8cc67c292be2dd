"""Turning hits into explained results and assistant messages, from records and prompts/ only."""

from __future__ import annotations

import re
from typing import Any

from indexer.corpus import RecordDict, taxonomy_label
from indexer.text import strip_accents
from service.prompts import Prompts
from service.schemas import ConversationState, ResultItem, Suggestion
from service.search import Hit, SearchResult
from service.understanding import municipality_preference


class Presenter:
    """Builds result items and the assistant's words in one language from records and taxonomy labels.

    Records and taxonomy labels stay German (the atlas is German); the surrounding sentences and the
    quick-reply labels come from prompts/<language>/.
    """

    def __init__(self, prompts: Prompts, taxonomy: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.prompts = prompts
        self.taxonomy = taxonomy
        self.labels = prompts.labels()

    def label(self, kind: str, slug: str) -> str:
        return taxonomy_label(self.taxonomy.get(kind, {}), slug)

    def program(self, record: RecordDict) -> str:
        """The funding programme as planners read it: the label, and the programme's name where the record gives it."""
        label = self.label("programs", str(record["program"]))
        detail = str(record.get("program_detail") or "")
        return f"{label}: {detail}" if detail and detail != label else label

    def entry(self, number: int, record: RecordDict) -> dict[str, Any]:
        """One shown result for the contact, costs and which-one answers: number, record, programme and what the
        record itself says about money (sentences naming euros), nothing more."""
        return {"number": number, "record": record, "program": self.program(record),
                "is_mpsc": str(record["program"]).startswith("mpsc_"), "costs": cost_sentences(record),
                "page": project_page(record), "status_label": self.label("status", record["status"]),
                "dates": record_sentences(record, YEAR), "partners": record_sentences(record, PARTNER)}

    def details_chip(self, number: int) -> Suggestion:
        return self._chip("details", number=number)

    def local_label(self, kind: str, slug: str) -> str:
        """A taxonomy entry's name in this language (prompts/<lang>/labels.yaml, else the taxonomy's label)."""
        return str(self.labels.get(kind, {}).get(slug) or self.label(kind, slug))

    def space_label(self, slug: str) -> str:
        """A space type's name in this language (chips and sentences), e.g. "Business park"."""
        return self.local_label("space_types", slug)

    def item(self, hit: Hit, space_type: str | None, rank: int = 1) -> ResultItem:
        record = hit.record
        space_labels = [self.label("space_types", s) for s in record["space_types"]]
        explanation = self.prompts.render(
            "explanation",
            record=record,
            matched_challenge=hit.matched_challenge,
            space_type=space_type,
            space_type_label=self.space_label(space_type) if space_type else None,
            space_type_labels=[self.space_label(s) for s in record["space_types"]],
            status_label=self.label("status", record["status"]),
            program=self.program(record),
            is_mpsc=str(record["program"]).startswith("mpsc_"),
        )
        return ResultItem(
            id=record["id"], title=record["title"], summary=record["summary"],
            space_types=record["space_types"], space_type_labels=space_labels,
            themes=record["themes"], theme_labels=[self.label("themes", t) for t in record["themes"]],
            municipality=record["municipality"], state=record["state"], status=record["status"],
            status_label=self.label("status", record["status"]),
            raumwirkungen=record["raumwirkungen"],
            raumwirkungen_labels=[self.label("raumwirkungen", r) for r in record["raumwirkungen"]],
            rank=rank, score=round(hit.score, 4),
            matched_challenge=hit.matched_challenge, explanation=explanation,
        )

    def items(self, result: SearchResult, offset: int = 0) -> list[ResultItem]:
        focus = result.space_type or (result.detected_space_types[0] if len(result.detected_space_types) == 1 else None)
        return [self.item(hit, focus, rank) for rank, hit in enumerate(result.hits, start=offset + 1)]

    def message(self, template: str, **context: Any) -> str:
        state = context.get("state")
        space = getattr(state, "space_type", None)
        themes = getattr(state, "themes", []) or []
        return self.prompts.render(
            template,
            municipality=municipality_preference(getattr(state, "context", "") or ""),
            space_type_label=self.space_label(space) if space else None,
            theme_labels=[self.label("themes", t) for t in themes],
            status_labels=[self.local_label("status", s) for s in getattr(state, "status", []) or []],
            all_themes=[self.label("themes", t) for t in self.taxonomy.get("themes", {})],
            labels=self.labels,
            label=self.label,
            program_of=self.program,
            **context,
        )

    def chip(self, key: str, **values: Any) -> Suggestion:
        """A quick reply worded in prompts/<lang>/labels.yaml."""
        return self._chip(key, **values)

    def _chip(self, key: str, **values: Any) -> Suggestion:
        label = str(self.labels["chips"][key]).format(**values)
        return Suggestion(label=label, message=label)

    def starter_suggestions(self) -> list[Suggestion]:
        return [Suggestion(label=str(e["label"]), message=str(e["message"])) for e in self.labels.get("examples", [])]

    def theme_suggestions(self) -> list[Suggestion]:
        slugs = list(self.taxonomy.get("themes", {}))[:6]
        return [Suggestion(label=self.label("themes", s), message=self.label("themes", s)) for s in slugs]

    def result_suggestions(self, state: ConversationState, asked_space_type: bool) -> list[Suggestion]:
        chips: list[Suggestion] = []
        if asked_space_type or not state.space_type:
            chips += [Suggestion(label=self.space_label(s), message=self.space_label(s)) for s in self.taxonomy.get("space_types", {})]
        if state.shown:
            chips.append(self._chip("more"))
            chips.append(self._chip("details", number=1))
        if "verstetigt" not in state.status:
            chips.append(self._chip("established"))
        chips.append(self._chip("reset"))
        return chips


def project_page(record: RecordDict) -> str:
    """The record's source most likely to be the project's own page: one on a site named after the municipality,
    else the first source."""
    sources = [str(s) for s in record.get("sources") or []]
    words = [w for w in re.findall(r"[a-z]{4,}", strip_accents(str(record["municipality"]))) if w not in ("stadt", "kreis")]
    for source in sources:
        host = strip_accents(source.split("//", 1)[-1].split("/", 1)[0])
        if any(w in host for w in words):
            return source
    return sources[0] if sources else ""


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ„\"])")
MONEY = re.compile(r"\b(euro|eur)\b|€", re.IGNORECASE)
MAX_COST_SENTENCES = 2


YEAR = re.compile(r"\b(19[89]\d|20[0-4]\d)\b")
PARTNER = re.compile(r"\b(partner\w*|gemeinsam mit|zusammen mit|kooperation\w*|verbund|verbundprojekt\w*|beteiligt\w*|träger\w*|"
                     r"in zusammenarbeit)\b", re.IGNORECASE)


def record_sentences(record: RecordDict, pattern: re.Pattern[str], limit: int = MAX_COST_SENTENCES) -> list[str]:
    """The record's own sentences that match ``pattern`` (years, partners), as written by the editors."""
    text = " ".join(str(record.get("description") or "").split())
    return [s for s in SENTENCE_END.split(text) if pattern.search(s)][:limit]


def cost_sentences(record: RecordDict) -> list[str]:
    """The record's own sentences that name an amount of money (at most two), as written by the editors."""
    text = " ".join(str(record.get("description") or "").split())
    return [s for s in SENTENCE_END.split(text) if MONEY.search(s)][:MAX_COST_SENTENCES]
