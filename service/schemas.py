"""Request and response models of the JSON API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

SpaceType = Literal["innenstadt", "quartier", "gewerbegebiet"]
MAX_QUERY_CHARS = 20000  # the upper bound of ATLAS_MAX_QUERY_CHARS; the configured value is checked in service/limits.py
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"  # zero-width and soft-hyphen characters: nothing to read


def _not_blank(value: str) -> str:
    if not value or not value.strip().strip(INVISIBLE).strip():
        raise ValueError("blank")  # message key, worded in prompts/de/errors.yaml
    return value.strip()


Status = Literal["idee", "planung", "umsetzung", "verstetigt", "abgeschlossen"]
Land = Literal["Baden-Württemberg", "Bayern", "Berlin", "Brandenburg", "Bremen", "Hamburg", "Hessen", "Mecklenburg-Vorpommern",
               "Niedersachsen", "Nordrhein-Westfalen", "Rheinland-Pfalz", "Saarland", "Sachsen", "Sachsen-Anhalt",
               "Schleswig-Holstein", "Thüringen"]
SizeClass = Literal["kleinstadt", "mittelstadt", "grossstadt", "region"]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
SolutionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,120}$")]


class Filters(BaseModel):
    """Facets that narrow the results (the Wissensspeicher has them too)."""

    space_type: SpaceType | None = None
    themes: list[Slug] = Field(default_factory=list, max_length=20)
    status: list[Status] = Field(default_factory=list, max_length=5)
    land: Land | None = Field(None, description="Only solutions from this Land.")
    size_class: SizeClass | None = Field(None, description="Only solutions from municipalities of this size class "
                                         "(kleinstadt < 20,000 inhabitants, mittelstadt under 100,000, grossstadt, region).")


class SearchRequest(Filters):
    """A planner's challenge, optionally narrowed by space type, themes and status."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., max_length=MAX_QUERY_CHARS, examples=["In unserer Fußgängerzone stehen immer mehr Läden leer."])
    limit: int | None = Field(None, ge=1, le=100, description="At most ATLAS_MAX_LIMIT (default 20); more is a 422.")

    _check_query = field_validator("query")(_not_blank)


class ResultItem(BaseModel):
    """One ranked solution with the reason it matched."""

    id: str
    title: str
    summary: str
    space_types: list[str]
    space_type_labels: list[str]
    themes: list[str]
    theme_labels: list[str]
    municipality: str
    state: str
    status: str
    status_label: str
    raumwirkungen: list[str]
    raumwirkungen_labels: list[str]
    rank: int
    score: float
    matched_challenge: str | None
    explanation: str


class Correction(BaseModel):
    """A word of the question read as another word before searching (a typo)."""

    typed: str
    read_as: str


class SearchResponse(BaseModel):
    query: str
    space_type: SpaceType | None
    detected_space_types: list[SpaceType]
    no_match: bool
    corrections: list[Correction] = Field(default_factory=list, description="Words of the question read as other "
                                          "words before searching (\"Statteil\" as \"Stadtteil\"); umlauts put back are "
                                          "not listed.")
    results: list[ResultItem]


class ConversationState(BaseModel):
    """What the client sends back each turn, so that any replica can answer any turn."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    challenge: str = Field("", max_length=MAX_QUERY_CHARS)
    space_type: SpaceType | None = None
    themes: list[Slug] = Field(default_factory=list, max_length=20)
    status: list[Status] = Field(default_factory=list, max_length=5)
    shown: list[SolutionId] = Field(default_factory=list, max_length=200)
    land: Land | None = None
    size_class: SizeClass | None = None
    asked_space_type: bool = False
    language: Literal["de", "en"] = "de"
    context: str = Field("", max_length=300, description="What the planner said about their municipality (size, Land, "
                         "rural or urban); it shapes the following searches.")
    focus: int | None = Field(None, ge=1, le=200, description="The number of the result last shown in detail: a "
                              "question that names none (\"wer ist da Ansprechpartner?\") is about this one.")


class ChatRequest(Filters):
    """A chat turn: the new message, the state the previous answer returned, and optional facets."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(..., max_length=MAX_QUERY_CHARS)
    state: ConversationState | None = None

    _check_message = field_validator("message")(_not_blank)


class Suggestion(BaseModel):
    """A quick reply: the label on the chip and the message it sends."""

    label: str
    message: str


class ChatResponse(BaseModel):
    message: str
    results: list[ResultItem]
    suggestions: list[Suggestion]
    state: ConversationState
    no_match: bool
    detected_space_types: list[SpaceType]
    language: Literal["de", "en"]
    turn: str = Field("new", description="How the assistant understood the message (new, refine, context, details, "
                      "similar, more, status, contact, costs, unclear, …).")


class HealthResponse(BaseModel):
    """Liveness: 200 while the process runs ("starting" while the model and index load, then "ok" with the index)."""

    status: Literal["ok", "starting"]
    model: str | None = None
    tuned: str | None = Field(None, description="Key of the fine-tuned model the index was built with; null = base model.")
    solutions: int | None = None
    index_created: str | None = None
    index_build: str | None = None
    corpus_hash: str | None = None


class ReadyResponse(BaseModel):
    """Readiness: 200 once the model and index are loaded (503 with the error shape before)."""

    status: Literal["ready"]
    index_build: str


class Place(BaseModel):
    """Where a solution runs (WGS84, from the GeoNames gazetteer)."""

    place: str
    lat: float
    lon: float


class Solution(BaseModel):
    """A full record as editors wrote it."""

    id: str
    title: str
    summary: str
    space_types: list[str]
    themes: list[str]
    raumwirkungen: list[str]
    challenges: list[str]
    effects_intended: list[str]
    effects_unintended: list[str]
    indicators: list[str]
    municipality: str
    state: str
    location: list[Place] = Field(default_factory=list, description="The places where it runs (empty: Land-wide or unknown).")
    size_class: str = Field("", description="kleinstadt, mittelstadt, grossstadt or region (empty if unknown).")
    program: str
    program_detail: str = ""
    program_label: str = Field("", description="The programme as planners read it (label and name).")
    status: str
    sources: list[str]
    updated: str
    description: str
