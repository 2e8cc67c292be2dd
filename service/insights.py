"""Insights for editors: the questions the atlas could not answer well, without personal data.

Two kinds are kept: questions answered with "nothing fits" (``no_match``) and questions whose answer a planner
rated "nicht hilfreich" (``not_helpful``). Before anything is stored, e-mail addresses, phone numbers, IBANs,
street addresses and postcodes are replaced by placeholders (``scrub``; feedback comments and questions go
through the same function). Rows expire after ATLAS_INSIGHTS_DAYS; ATLAS_INSIGHTS=false stores none.

The workbench groups the questions by meaning (agglomerative clustering of their query vectors, each group with
the question nearest its centre and a count) and sets demand against supply per space type and theme.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import Request

from service.feedback import FeedbackStore, FeedbackStoreError, spreadsheet_cell
from service.search import Searcher

log = logging.getLogger(__name__)

# Order matters: IBANs and e-mail addresses first (they contain digit runs a phone pattern would take).
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){3,7}(?:[ ]?[A-Z0-9]{1,3})?\b"), "[IBAN]"),
    (re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+", re.UNICODE), "[E-Mail]"),
    (re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE), "[Adresse im Netz]"),
    # Street and house number: "Musterstraße 12a", "Am Markt 3", "Hauptstr. 5"
    (re.compile(r"\b[A-ZÄÖÜ][\wäöüß.-]*(?:stra(?:ß|ss)e|str\.|weg|gasse|allee|platz|ring|damm|ufer|chaussee|markt)"
                r"\s+\d{1,4}\s?[a-zA-Z]?\b", re.UNICODE), "[Anschrift]"),
    (re.compile(r"\b(?:Am|An der|Auf dem|Im|In der|Zum|Zur)\s+[A-ZÄÖÜ][\wäöüß-]+\s+\d{1,4}\s?[a-zA-Z]?\b"), "[Anschrift]"),
    # Phone numbers: +49 …, 0049 …, 0…; at least 6 digits with optional separators
    (re.compile(r"(?:\+|00)\d{1,3}[\s/().-]*(?:\d[\s/().-]*){5,14}\d"), "[Telefon]"),
    (re.compile(r"\b0\d{2,5}[\s/().-]*(?:\d[\s/().-]*){3,10}\d\b"), "[Telefon]"),
    # Postcode with place: "37574 Einbeck"
    (re.compile(r"\b\d{5}\s+[A-ZÄÖÜ][\wäöüß-]+"), "[PLZ Ort]"),
]


def keep(request: Request, kind: str, question: str, index_build: str) -> None:
    """Store one question for the insights (scrubbed), unless switched off; a store failure never fails the answer."""
    settings = request.app.state.settings
    if not settings.insights or not question.strip():
        return
    store: FeedbackStore = request.app.state.feedback_store
    try:
        store.add_insight(kind, scrub(question.strip())[:2000], index_build, settings.insights_days)
    except FeedbackStoreError:
        log.warning("event=insight_not_stored kind=%s", kind)


def scrub(text: str) -> str:
    """``text`` with e-mail addresses, phone numbers, IBANs, street addresses, postcodes and web addresses replaced."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


@dataclass
class Group:
    representative: str
    count: int
    no_match: int
    not_helpful: int
    examples: list[str]


def group_questions(rows: list[dict[str, Any]], searcher: Searcher, threshold: float = 0.65) -> list[Group]:
    """Questions grouped by meaning, largest group first.

    E5 vectors of any two planning questions are close (cosine distance 0.07–0.23), so the vectors are first
    centred on the mean of the atlas's own challenge phrases – what all planning questions share – and
    renormalised; then groups join while their average cosine distance stays below ``threshold`` (same topic
    about 0.4–0.6, different topics 0.7–1.0 after centring).
    """
    from sklearn.cluster import AgglomerativeClustering

    if not rows:
        return []
    questions = [str(r["question"]) for r in rows]
    vectors = searcher.embedder.encode_queries(questions)
    if len(searcher.artifact.challenge_vectors):
        vectors = vectors - searcher.artifact.challenge_vectors.mean(axis=0)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    if len(rows) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        labels = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="cosine",
                                         linkage="average").fit_predict(vectors)
    groups = []
    for label in sorted(set(labels.tolist())):
        members = [i for i, value in enumerate(labels) if value == label]
        centre = vectors[members].mean(axis=0)
        ordered = sorted(members, key=lambda i: -float(vectors[i] @ centre))
        kinds = [rows[i]["kind"] for i in members]
        groups.append(Group(questions[ordered[0]], len(members), kinds.count("no_match"), kinds.count("not_helpful"),
                            list(dict.fromkeys(questions[i] for i in ordered))[:3]))
    return sorted(groups, key=lambda g: (-g.count, g.representative))


def demand_and_supply(rows: list[dict[str, Any]], searcher: Searcher) -> list[dict[str, Any]]:
    """Per space type and theme: how many of these questions name it, and how many records the atlas has for it."""
    understanding = searcher.understanding
    taxonomy = searcher.artifact.taxonomy
    table = []
    for kind in ("space_types", "themes"):
        field = kind
        detect = understanding.detect_space_types if kind == "space_types" else understanding.detect_themes
        asked: dict[str, int] = {}
        for row in rows:
            for slug in detect(str(row["question"])):
                asked[slug] = asked.get(slug, 0) + 1
        for slug, entry in taxonomy.get(kind, {}).items():
            supply = sum(1 for r in searcher.artifact.records if slug in (r["space_types"] if field == "space_types" else r["themes"]))
            table.append({"kind": kind, "slug": slug, "label": str(entry.get("short") or entry.get("label") or slug),
                          "asked": asked.get(slug, 0), "records": supply})
    return sorted(table, key=lambda r: (-r["asked"], r["records"], r["kind"], r["slug"]))


def insights_csv(groups: list[Group], table: list[dict[str, Any]]) -> str:
    """Both views as one CSV (semicolon, BOM: opens in German Excel) for editorial meetings."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Ansicht", "Frage bzw. Raumtyp/Thema", "Anzahl", "davon nichts passend", "davon nicht hilfreich",
                     "Lösungen im Atlas", "Beispiele"])
    for g in groups:
        writer.writerow(["Fragengruppe", spreadsheet_cell(g.representative), g.count, g.no_match, g.not_helpful, "",
                         spreadsheet_cell(" | ".join(g.examples))])
    for row in table:
        writer.writerow(["Raumtyp" if row["kind"] == "space_types" else "Thema", row["label"], row["asked"], "", "",
                         row["records"], ""])
    return buffer.getvalue()

