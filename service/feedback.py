"""Feedback on answers: the request model and the store that editors export as CSV.

A row holds the time, the question, the ids of the solutions shown, the index build, "helpful" and an
optional comment. Nothing about the person: no IP address, no user agent, no session id.

The store is SQLite by default (one file, for one replica) and PostgreSQL when ATLAS_DATABASE_URL is set (for
several replicas behind a load balancer). Both go through SQLAlchemy Core; the table is created on start.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from indexer.artifact import utc_now
from service.errors import AtlasError
from service.schemas import MAX_QUERY_CHARS, SolutionId

log = logging.getLogger(__name__)

MAX_COMMENT_CHARS = 1000
MAX_RESULT_IDS = 50
COLUMNS = ("id", "created", "helpful", "query", "result_ids", "index_build", "comment")

METADATA = sa.MetaData()
# The columns and types of the first SQLite version, so existing files keep working.
FEEDBACK = sa.Table(
    "feedback", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created", sa.Text, nullable=False),  # ISO 8601 in UTC, "…Z": sorts as text
    sa.Column("helpful", sa.Integer, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("result_ids", sa.Text, nullable=False),  # a JSON array
    sa.Column("index_build", sa.Text, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)
# Questions the atlas could not answer well (service/insights.py), already scrubbed of personal data.
INSIGHTS = sa.Table(
    "insights", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),  # "no_match" or "not_helpful"
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("index_build", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)


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



def spreadsheet_cell(value: str) -> str:
    """A text for a CSV cell that a spreadsheet shows as text: cells starting with these characters would run as
    formulas, and questions and comments are typed by anyone."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def database_url(url: str | None, sqlite_file: Path) -> str:
    """The SQLAlchemy URL of the feedback store: ATLAS_DATABASE_URL, else the SQLite file.

    ``postgresql://`` and ``postgres://`` URLs use psycopg 3, the driver installed with Atlas-Lotse.
    """
    if not url:
        return f"sqlite:///{sqlite_file}"
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


class FeedbackStore:
    """The feedback table in SQLite or PostgreSQL; safe to share between threads (SQLAlchemy's connection pool)."""

    def __init__(self, url: str) -> None:
        self.url = sa.make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.file = Path(self.url.database) if self.is_sqlite and self.url.database else None
        options: dict[str, Any] = {"connect_args": {"timeout": 10}} if self.is_sqlite else {"pool_pre_ping": True}
        self.engine = sa.create_engine(self.url, **options)
        self._ready = False

    def __repr__(self) -> str:
        return f"FeedbackStore({self.url.render_as_string(hide_password=True)})"

    def prepare(self) -> None:
        """Create the table if it is missing (on start, and before the first write).

        Raises:
            FeedbackStoreError: if the database cannot be reached or written.
        """
        if self._ready:
            return
        for attempt in range(3):
            try:
                if self.file:
                    self.file.parent.mkdir(parents=True, exist_ok=True)
                METADATA.create_all(self.engine)
                break
            except sa.exc.DBAPIError as exc:
                # Replicas starting together race to create the table: the loser sees it afterwards.
                if attempt == 2 or exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError):
                    raise FeedbackStoreError("feedback_store_failed") from exc
            except (OSError, sa.exc.SQLAlchemyError) as exc:
                raise FeedbackStoreError("feedback_store_failed") from exc
        self._ready = True

    def add(self, feedback: FeedbackRequest, index_build: str, keep_days: int = 365, max_rows: int = 100_000,
            duplicate_window_s: int = DUPLICATE_WINDOW_S) -> tuple[int, bool]:
        """Store one rating; return its row id and whether it was a repeat of one stored moments ago (a retry).

        Also deletes rows older than ``keep_days`` and the oldest beyond ``max_rows``.

        Raises:
            FeedbackStoreError: if the database cannot be written.
        """
        created = utc_now()
        since = utc_now(dt.timedelta(seconds=duplicate_window_s))
        cutoff = utc_now(dt.timedelta(days=keep_days))
        content = {"helpful": int(feedback.helpful), "query": feedback.query, "result_ids": json.dumps(feedback.result_ids),
                   "index_build": index_build, "comment": feedback.comment}
        table = FEEDBACK
        try:
            self.prepare()
            with self.engine.begin() as connection:
                same = connection.execute(
                    sa.select(table.c.id).where(*(table.c[k] == v for k, v in content.items()), table.c.created >= since)
                    .order_by(table.c.id.desc()).limit(1)
                ).scalar()
                if same is not None:
                    return int(same), True
                row_id = connection.execute(table.insert().values(created=created, **content).returning(table.c.id)).scalar_one()
                connection.execute(table.delete().where(table.c.created < cutoff))
                newest = sa.select(sa.func.max(table.c.id)).scalar_subquery()
                connection.execute(table.delete().where(table.c.id <= newest - max_rows))
                return int(row_id), False
        except sa.exc.SQLAlchemyError as exc:
            log.warning("event=feedback_store_failed error=%s", type(exc).__name__)
            raise FeedbackStoreError("feedback_store_failed") from exc

    def rows(self) -> list[dict[str, Any]]:
        """All ratings, oldest first (none if the SQLite file does not exist yet: it is not created just to read)."""
        if self.file and not self.file.exists():
            return []
        self.prepare()
        try:
            with self.engine.connect() as connection:
                rows = [dict(row._mapping) for row in connection.execute(sa.select(FEEDBACK).order_by(FEEDBACK.c.id))]
        except sa.exc.SQLAlchemyError as exc:
            raise FeedbackStoreError("feedback_store_failed") from exc
        for row in rows:
            row["helpful"] = bool(row["helpful"])
            row["result_ids"] = json.loads(row["result_ids"])
        return rows

    def add_insight(self, kind: str, question: str, index_build: str, keep_days: int) -> None:
        """Keep one scrubbed question for the editors' insights; rows older than ``keep_days`` are deleted.

        Raises:
            FeedbackStoreError: if the database cannot be written.
        """
        created = utc_now()
        cutoff = utc_now(dt.timedelta(days=keep_days))
        try:
            self.prepare()
            with self.engine.begin() as connection:
                connection.execute(INSIGHTS.insert().values(created=created, kind=kind, question=question,
                                                            index_build=index_build))
                connection.execute(INSIGHTS.delete().where(INSIGHTS.c.created < cutoff))
        except sa.exc.SQLAlchemyError as exc:
            raise FeedbackStoreError("feedback_store_failed") from exc

    def insight_rows(self, days: int, limit: int = 5000) -> list[dict[str, Any]]:
        """The newest insight rows of the last ``days`` days."""
        if self.file and not self.file.exists():
            return []
        since = utc_now(dt.timedelta(days=days))
        self.prepare()
        try:
            with self.engine.connect() as connection:
                query = sa.select(INSIGHTS).where(INSIGHTS.c.created >= since).order_by(INSIGHTS.c.id.desc()).limit(limit)
                return [dict(row._mapping) for row in connection.execute(query)]
        except sa.exc.SQLAlchemyError as exc:
            raise FeedbackStoreError("feedback_store_failed") from exc

    def close(self) -> None:
        self.engine.dispose()


def feedback_csv(rows: list[dict[str, Any]]) -> str:
    """Ratings as CSV for editors: helpful as ja/nein, result ids separated by ';'."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([
            row["id"], row["created"], "ja" if row["helpful"] else "nein", spreadsheet_cell(row["query"]),
            ";".join(row["result_ids"]), row["index_build"], spreadsheet_cell(row["comment"]),
        ])
    return buffer.getvalue()
