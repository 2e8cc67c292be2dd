"""The feedback store on a real PostgreSQL (Debian's package, started on 127.0.0.1): what several replicas share."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.app import create_app
from service.cli import main
from service.config import Settings
from service.feedback import FeedbackRequest, FeedbackStore, database_url
from tests.conftest import assert_error
from tests.system import running_postgres

NO_FILE = Path("unused.sqlite3")  # database_url falls back to it only without a URL
GOOD = {"query": "Leerstand in der Fußgängerzone", "result_ids": ["einbeck-leerstandsmanagement"], "helpful": True}


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with running_postgres() as url:
        yield url


@pytest.fixture
def fresh(postgres: str) -> Iterator[str]:
    """The server's URL with an empty feedback table."""
    engine = sa.create_engine(database_url(postgres, NO_FILE))
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS feedback"))
    engine.dispose()
    yield postgres


def test_the_service_creates_its_table_and_stores_feedback_in_postgres(settings: Settings, fresh: str) -> None:
    with TestClient(create_app(settings.model_copy(update={"database_url": SecretStr(fresh)}))) as client:
        first = client.post("/api/feedback", json=GOOD)
        again = client.post("/api/feedback", json=GOOD)  # a retry
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
    engine = sa.create_engine(database_url(fresh, NO_FILE))
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT query, helpful, result_ids, created FROM feedback")).all()
    engine.dispose()
    assert len(rows) == 1 and rows[0].query == GOOD["query"] and rows[0].helpful == 1
    assert rows[0].created.endswith("Z")


def test_two_replicas_write_to_one_database_without_losing_a_row(fresh: str) -> None:
    replicas = [FeedbackStore(database_url(fresh, NO_FILE)) for _ in range(2)]
    ids: list[int] = []

    def post(store: FeedbackStore, start: int) -> None:
        for n in range(start, start + 40):
            row_id, duplicate = store.add(FeedbackRequest(query=f"Frage {n}", helpful=n % 2 == 0), "b1")
            assert not duplicate
            ids.append(row_id)

    threads = [threading.Thread(target=post, args=(replicas[k % 2], 40 * k)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = replicas[0].rows()
    assert len(rows) == 160 == len(set(ids))
    assert {row["query"] for row in rows} == {f"Frage {n}" for n in range(160)}
    for store in replicas:
        store.close()


def test_retention_and_cap_work_in_postgres(fresh: str) -> None:
    store = FeedbackStore(database_url(fresh, NO_FILE))
    store.add(FeedbackRequest(query="erste Frage", helpful=True), "b1")
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE feedback SET created = '2020-01-01T00:00:00Z'"))
    store.add(FeedbackRequest(query="zweite Frage", helpful=True), "b1", keep_days=30)
    assert [r["query"] for r in store.rows()] == ["zweite Frage"]
    for n in range(5):
        store.add(FeedbackRequest(query=f"Frage {n}", helpful=False), "b1", max_rows=3)
    assert [r["query"] for r in store.rows()] == ["Frage 2", "Frage 3", "Frage 4"]
    store.close()


def test_cli_exports_from_postgres(fresh: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FeedbackStore(database_url(fresh, NO_FILE))
    store.add(FeedbackRequest(query="Hitze im Quartier; was tun?", helpful=False, comment="=1+1"), "b7")
    store.close()
    monkeypatch.setenv("ATLAS_DATABASE_URL", fresh)
    result = CliRunner().invoke(main, ["feedback", "export"])
    assert result.exit_code == 0, result.output
    assert "Hitze im Quartier; was tun?" in result.output and ",nein," in result.output and "'=1+1" in result.output


def test_an_unreachable_database_costs_feedback_only(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    from tests.serving import free_port

    url = f"postgresql://atlas:geheim-{free_port()}@127.0.0.1:{free_port()}/atlas"
    with TestClient(create_app(settings.model_copy(update={"database_url": SecretStr(url)}))) as client:
        assert client.post("/api/search", json={"query": "Leerstand in der Innenstadt"}).status_code == 200
        assert_error(client.post("/api/feedback", json=GOOD), 503, "nicht gespeichert")
    assert "geheim" not in caplog.text  # the password never reaches the log
