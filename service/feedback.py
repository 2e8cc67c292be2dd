"""Feedback on answers: the request model and a small SQLite store that editors export as CSV.

A row holds the time, the question, the ids of the solutions shown, the index build, "helpful" and an
optional comment. Nothing about the person: no IP address, no user agent, no session id.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from service.errors import AtlasError
from service.schemas import MAX_QUERY_CHARS, SolutionId

MAX_COMMENT_CHARS = 1000
MAX_RESULT_IDS = 50
COLUMNS = ("id", "created", "helpful", "query", "result_ids", "index_build", "comment")

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    query TEXT NOT NULL,
    result_ids TEXT NOT NULL,
    index_build TEXT NOT NULL,
    comment TEXT NOT NULL
)
"""


class FeedbackStoreError(AtlasError):
    status = 503


class FeedbackRateError(AtlasError):
    """Too many feedback posts from one client."""

    status = 429


DUPLICATE_WINDOW_S = 600  # the same rating again within ten minutes is a retry, not a second opinion


class FeedbackRequest(BaseModel):
    """What the page sends when a planner rates an answer."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., max_length=MAX_QUERY_CHARS, description="The question the rated answer replied to.")
    result_ids: list[SolutionId] = Field(default_factory=list, max_length=MAX_RESULT_IDS)
    helpful: StrictBool
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT_CHARS)] = ""

    @field_validator("query")
    @classmethod
    def _query_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("feedback_needs_query")  # message key, worded in prompts/de/errors.yaml
        return value.strip()


class FeedbackResponse(BaseModel):
    ok: bool
    id: int
    duplicate: bool = Field(False, description="True if the same rating was stored moments ago (a retry): not stored twice.")



def _cell(value: str) -> str:
    # Spreadsheets run cells that start with these characters as formulas; comments are typed by anyone.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class FeedbackStore:
    """One SQLite file; each call opens its own connection, so threads never share one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        connection.execute(SCHEMA)
        return connection

    def add(self, feedback: FeedbackRequest, index_build: str, keep_days: int = 365, max_rows: int = 100_000,
            duplicate_window_s: int = DUPLICATE_WINDOW_S) -> tuple[int, bool]:
        """Store one rating; return its row id and whether it was a repeat of one stored moments ago (a retry).

        Also deletes rows older than ``keep_days`` and the oldest beyond ``max_rows``.

        Raises:
            FeedbackStoreError: if the file cannot be written.
        """
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        created = now.isoformat().replace("+00:00", "Z")
        since = (now - dt.timedelta(seconds=duplicate_window_s)).isoformat().replace("+00:00", "Z")
        cutoff = (now - dt.timedelta(days=keep_days)).isoformat().replace("+00:00", "Z")
        content = (int(feedback.helpful), feedback.query, json.dumps(feedback.result_ids), index_build, feedback.comment)
        try:
            with closing(self._connect()) as connection, connection:
                same = connection.execute(
                    "SELECT id FROM feedback WHERE helpful = ? AND query = ? AND result_ids = ? AND index_build = ? "
                    "AND comment = ? AND created >= ? ORDER BY id DESC LIMIT 1", (*content, since),
                ).fetchone()
                if same:
                    return int(same[0]), True
                cursor = connection.execute(
                    "INSERT INTO feedback (created, helpful, query, result_ids, index_build, comment) VALUES (?, ?, ?, ?, ?, ?)",
                    (created, *content),
                )
                connection.execute("DELETE FROM feedback WHERE created < ?", (cutoff,))
                connection.execute("DELETE FROM feedback WHERE id <= (SELECT MAX(id) FROM feedback) - ?", (max_rows,))
                return int(cursor.lastrowid or 0), False
        except sqlite3.Error as exc:
            raise FeedbackStoreError("feedback_store_failed") from exc

    def rows(self) -> list[dict[str, Any]]:
        """All ratings, oldest first (none if the file does not exist yet)."""
        if not self.path.exists():
            return []
        with closing(self._connect()) as connection:
            cursor = connection.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")
            rows = [dict(zip(COLUMNS, values, strict=True)) for values in cursor.fetchall()]
        for row in rows:
            row["helpful"] = bool(row["helpful"])
            row["result_ids"] = json.loads(row["result_ids"])
        return rows


def feedback_csv(rows: list[dict[str, Any]]) -> str:
    """Ratings as CSV for editors: helpful as ja/nein, result ids separated by ';'."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([
            row["id"], row["created"], "ja" if row["helpful"] else "nein", _cell(row["query"]),
            ";".join(row["result_ids"]), row["index_build"], _cell(row["comment"]),
        ])
    return buffer.getvalue()
