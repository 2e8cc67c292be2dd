"""Feedback on answers: stored in SQLite without anything about the person, validated, exported as CSV."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from service.app import create_app
from service.cli import main
from service.config import Settings
from tests.conftest import assert_error

GOOD = {
    "query": "Leerstand in der Fußgängerzone",
    "result_ids": ["einbeck-leerstandsmanagement", "ulm-besuchertrend-innenstadt"],
    "helpful": True,
    "comment": "Sehr nützlich.",
}


@pytest.fixture(scope="module")
def feedback_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "sub" / "feedback.sqlite3"


@pytest.fixture(scope="module")
def feedback_client(settings: Settings, feedback_db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"feedback_db": feedback_db}))) as client:
        yield client


def test_feedback_is_stored_with_index_build_and_nothing_personal(feedback_client: TestClient, feedback_db: Path) -> None:
    response = feedback_client.post("/api/feedback", json=GOOD, headers={"user-agent": "Testbrowser/1.0"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["ok"] is True and body["id"] >= 1
    with sqlite3.connect(feedback_db) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(feedback)")]
        row = dict(zip(columns, connection.execute("SELECT * FROM feedback WHERE id = ?", (body["id"],)).fetchone(), strict=True))
    assert columns == ["id", "created", "helpful", "query", "result_ids", "index_build", "comment"]
    assert row["query"] == GOOD["query"] and row["helpful"] == 1 and row["comment"] == "Sehr nützlich."
    assert row["index_build"] == feedback_client.get("/api/health").json()["index_build"]
    assert row["created"].endswith("Z")
    assert "testclient" not in str(row) and "Testbrowser" not in str(row)  # neither client address nor user agent


def test_feedback_without_comment_or_results(feedback_client: TestClient) -> None:
    response = feedback_client.post("/api/feedback", json={"query": "Etwas ganz anderes", "result_ids": [], "helpful": False})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"helpful": None}, "helpful", None),
        ({"helpful": "ja"}, "helpful", None),
        ({"query": "  "}, "query", "braucht die Frage"),
        ({"query": "x" * 2001}, "query", "zu lang"),
        ({"comment": "x" * 1001}, "comment", "zu lang"),
        ({"result_ids": ["<script>"]}, "result_ids", None),
        ({"result_ids": ["einbeck-leerstandsmanagement"] * 51}, "result_ids", None),
        ({"result_ids": ["gibt-es-nicht"]}, "result_ids", "gibt es im Atlas nicht"),
        ({"ip": "127.0.0.1"}, "ip", "unbekannt"),
    ],
)
def test_invalid_feedback_gets_the_one_error_shape(feedback_client: TestClient, change: dict, field: str, message: str | None) -> None:
    payload = {**GOOD, **change}
    if change.get("helpful", True) is None:
        del payload["helpful"]
    assert_error(feedback_client.post("/api/feedback", json=payload), 422, message, field)


def test_unwritable_store_is_a_503_not_a_crash(settings: Settings, tmp_path: Path) -> None:
    blocked = tmp_path / "a-folder"
    blocked.mkdir()
    with TestClient(create_app(settings.model_copy(update={"feedback_db": blocked}))) as client:
        assert_error(client.post("/api/feedback", json=GOOD), 503, "nicht gespeichert")


def test_cli_exports_csv_and_defuses_formulas(feedback_client: TestClient, feedback_db: Path, tmp_path: Path) -> None:
    attack = {**GOOD, "comment": '=HYPERLINK("https://example.org","klick")', "helpful": False}
    assert feedback_client.post("/api/feedback", json=attack).status_code == 201
    out = tmp_path / "feedback.csv"
    result = CliRunner().invoke(main, ["feedback", "export", "--db", str(feedback_db), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Rückmeldungen nach" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0]["helpful"] == "ja" and rows[0]["result_ids"] == "einbeck-leerstandsmanagement;ulm-besuchertrend-innenstadt"
    assert rows[-1]["helpful"] == "nein" and rows[-1]["comment"].startswith("'=HYPERLINK")
    stdout = CliRunner().invoke(main, ["feedback", "export", "--db", str(feedback_db)])
    assert stdout.exit_code == 0 and stdout.output.startswith("id,created,helpful,query,result_ids,index_build,comment\n")


def test_cli_export_without_any_feedback_yet(tmp_path: Path) -> None:
    missing = tmp_path / "nie-angelegt.sqlite3"
    result = CliRunner().invoke(main, ["feedback", "export", "--db", str(missing)])
    assert result.exit_code == 0
    assert "Noch keine Rückmeldungen" in result.output and "id,created,helpful" in result.output
    assert not missing.exists()


def test_one_client_is_rate_limited_with_retry_after(settings: Settings, tmp_path: Path) -> None:
    db = tmp_path / "rate.sqlite3"
    with TestClient(create_app(settings.model_copy(update={"feedback_db": db, "feedback_rate": "5/minute"}))) as client:
        statuses = []
        for n in range(8):
            response = client.post("/api/feedback", json={**GOOD, "comment": f"Rückmeldung {n}"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert 1 <= int(response.headers["retry-after"]) <= 60
                assert response.json()["error"].startswith("Sie haben gerade sehr viele Rückmeldungen gesendet")
        assert statuses == [201] * 5 + [429] * 3
        with sqlite3.connect(db) as connection:
            assert connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 5
            assert "testclient" not in str(connection.execute("SELECT * FROM feedback").fetchall())


def test_a_retried_post_is_stored_once(settings: Settings, tmp_path: Path) -> None:
    db = tmp_path / "dedup.sqlite3"
    with TestClient(create_app(settings.model_copy(update={"feedback_db": db}))) as client:
        first = client.post("/api/feedback", json=GOOD)
        again = client.post("/api/feedback", json=GOOD)
        other = client.post("/api/feedback", json={**GOOD, "helpful": False})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json() == {"ok": True, "id": first.json()["id"], "duplicate": True}
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 2


def test_old_rows_expire_and_the_table_is_capped(tmp_path: Path) -> None:
    from service.feedback import FeedbackRequest, FeedbackStore

    store = FeedbackStore(f"sqlite:///{tmp_path / 'cap.sqlite3'}")
    store.add(FeedbackRequest(query="erste Frage", helpful=True), "b1")
    with sqlite3.connect(tmp_path / "cap.sqlite3") as connection:
        connection.execute("UPDATE feedback SET created = '2020-01-01T00:00:00Z'")
    store.add(FeedbackRequest(query="zweite Frage", helpful=True), "b1", keep_days=30)
    assert [r["query"] for r in store.rows()] == ["zweite Frage"]  # the old one expired
    for n in range(5):
        store.add(FeedbackRequest(query=f"Frage {n}", helpful=False), "b1", max_rows=3)
    assert [r["query"] for r in store.rows()] == ["Frage 2", "Frage 3", "Frage 4"]  # the newest three stay
