"""All configuration in one typed Settings class, read from ATLAS_* environment variables.

The indexer's settings (corpus, index, model) are the base class, indexer/settings.py; the service adds its own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from indexer.resources import bundled
from indexer.settings import IndexerSettings


class Settings(IndexerSettings):
    """Service and CLI settings; each field can be set as ATLAS_<NAME> (e.g. ATLAS_MAX_QUERY_CHARS)."""

    prompts_dir: Path = Field(default_factory=lambda: bundled(__file__, "prompts"), description="Templates for what the assistant says.")
    web_dir: Path = Field(default_factory=lambda: bundled(__file__, "web"), description="Page templates and static files.")
    max_query_chars: int = Field(2000, ge=50, le=20000)
    reload_interval: float = Field(2.0, ge=0, description="Seconds between checks for a newly published index build.")
    min_fit: float | None = Field(None, ge=0, le=1, description="'Nothing fits' threshold: the domain detector's probability "
                                 "below which a question is refused; unset = the calibrated default, 0 = never refuse.")
    default_limit: int = Field(5, ge=1, le=50)
    max_limit: int = Field(20, ge=1, le=100)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_body_bytes: int = Field(65536, ge=1024, le=10_000_000,
                                description="Largest request body accepted; larger ones get 413 before they are read.")
    load_in_background: bool = Field(False, description="Answer /api/health and /api/ready (503) while the model and index "
                                     "load; `atlas serve` switches this on.")
    metrics_token: SecretStr | None = Field(None, description="Bearer token for /metrics (Prometheus); unset = no /metrics.")
    timeout_keep_alive: int = Field(5, ge=1, le=300, description="Seconds an idle keep-alive connection stays open.")
    header_timeout: float = Field(10.0, gt=0, le=300, description="Seconds a client has to send a request's headers "
                                  "(atlas serve); slower connections are closed.")

    # Editors' workbench (/admin, /api/admin/*)
    admin_token: SecretStr | None = Field(None, description="Bearer token for the workbench; unset = workbench off (404).")
    audit_log: Path = Field(Path("var/audit.jsonl"), description="Every workbench change with the previous content (undo).")
    max_import_bytes: int = Field(10_000_000, ge=1024, le=200_000_000, description="Largest upload to /api/admin/import.")

    insights: bool = Field(True, description="Keep questions answered with 'nothing fits' or rated unhelpful, scrubbed of "
                           "personal data, for the workbench's gap view; false = keep none.")
    insights_days: int = Field(90, ge=1, le=730, description="Insight questions older than this are deleted.")

    # Page, widget and feedback (issue 6)
    # NoDecode: the variable is a plain comma-separated list ("https://a.example, https://b.example"), not JSON.
    embed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins that may embed the page and widget (CSP frame-ancestors) and call /api/* (CORS).",
    )
    feedback_db: Path = Field(Path("var/feedback.sqlite3"), description="SQLite file for answer feedback (one replica).")
    database_url: SecretStr | None = Field(None, description="Feedback store shared by several replicas, e.g. "
                                           "postgresql://atlas:PASSWORT@db.intern/atlas (psycopg 3); unset = feedback_db.")
    feedback_rate: str = Field("10/minute", description="Feedback posts per client (in memory, per replica; the client "
                               "address is kept only as a salted hash), in the notation of the `limits` package.")
    feedback_days: int = Field(365, ge=1, le=3650, description="Feedback older than this is deleted.")
    feedback_max_rows: int = Field(100_000, ge=100, description="At most this many feedback rows; the oldest go first.")

    def feedback_store_url(self) -> str:
        """The SQLAlchemy URL of the feedback store (service/feedback.py)."""
        from service.feedback import database_url

        return database_url(self.database_url.get_secret_value() if self.database_url else None, self.feedback_db)

    @field_validator("embed_origins", mode="before")
    @classmethod
    def _origins_are_origins(cls, value: object) -> list[str]:
        items = value.split(",") if isinstance(value, str) else value if isinstance(value, list | tuple) else [value]
        origins = []
        for item in (str(i).strip().rstrip("/") for i in items if i is not None and str(i).strip()):
            # An origin is scheme://host[:port]; a path or a wildcard would be silently ignored by browsers.
            if not re.fullmatch(r"https?://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?", item, re.IGNORECASE):
                raise ValueError(
                    f"ATLAS_EMBED_ORIGINS: '{item}' is not an origin. Use scheme://host[:port] without path or wildcard, "
                    "e.g. https://www.beispielstadt.de; separate several with commas."
                )
            origins.append(item.lower())
        return origins
