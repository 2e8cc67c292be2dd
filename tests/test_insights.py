"""Insights for editors: unanswered and unhelpful questions, scrubbed of personal data, grouped, counted, exported."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import SecretStr

from service.app import create_app
from service.config import Settings
from service.insights import scrub

TOKEN = "einblick-token-42"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(("text", "kept", "gone"), [
    ("Schreiben Sie an anna.mueller@beispielstadt.de wegen Leerstand", "wegen Leerstand", "anna.mueller"),
    ("Rückruf unter +49 (0)551 123 45 67 bitte", "Rückruf unter", "123 45"),
    ("Tel. 0551/1234567, Parkhaus voll", "Parkhaus voll", "1234567"),
    ("Spende an DE89 3704 0044 0532 0130 00 für den Bürgerbus", "für den Bürgerbus", "3704"),
    ("Ich wohne in der Musterstraße 12a und es ist laut", "es ist laut", "Musterstraße 12"),
    ("Am Markt 3 stehen Läden leer", "stehen Läden leer", "Am Markt 3"),
    ("37574 Einbeck hat Leerstand", "hat Leerstand", "37574"),
    ("siehe https://privat.example.org/profil?id=7", "siehe", "privat.example"),
])
def test_personal_data_is_replaced(text: str, kept: str, gone: str) -> None:
    cleaned = scrub(text)
    assert kept in cleaned and gone not in cleaned, cleaned


def test_planning_text_stays_as_it_is() -> None:
    text = ("Wir sind eine Gemeinde mit 8000 Einwohnern; seit 2019 stehen 12 Läden leer, die B 27 ist voll und "
            "der Bus fährt alle 30 Minuten. Wie hilft ein Parkleitsystem mit 450 Stellplätzen?")
    assert scrub(text) == text


@hsettings(max_examples=60, deadline=None, derandomize=True)
@given(st.emails(), st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüß ,.?", max_size=40),
       st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüß ,.?", max_size=40))
def test_no_email_address_survives(email: str, before: str, after: str) -> None:
    cleaned = scrub(f"{before} {email} {after}")
    assert "@" not in cleaned and email not in cleaned


@hsettings(max_examples=60, deadline=None, derandomize=True)
@given(st.sampled_from(["+49 ", "0049 ", "0"]), st.lists(st.integers(10, 9999), min_size=2, max_size=4),
       st.sampled_from([" ", "-", "/", ""]))
def test_no_phone_number_survives(prefix: str, groups: list[int], separator: str) -> None:
    number = prefix + separator.join(str(g) for g in groups)
    digits = "".join(c for c in number if c.isdigit())
    if len(digits) < 7:
        return
    cleaned = scrub(f"Bitte rufen Sie {number} an")
    assert sum(c.isdigit() for c in cleaned) < 4, cleaned


@pytest.fixture
def strict(settings: Settings, tmp_path: Path) -> Settings:
    """A service that answers every question with "nothing fits" (threshold 1.0), with the workbench on."""
    return settings.model_copy(update={"min_fit": 0.999, "feedback_db": tmp_path / "store.sqlite3",
                                       "admin_token": SecretStr(TOKEN)})


QUESTIONS = [
    "Eltern parken morgens vor der Grundschule alles zu",
    "Elterntaxis blockieren die Straße vor unserer Schule",
    "Chaos durch Elterntaxis am Schulbeginn, schreiben Sie an hans@beispiel.de",
    "Nachts ist es in der Altstadt zu laut",
    "Lärm von Kneipengästen in der Innenstadt in der Nacht",
]


def test_unanswered_questions_are_grouped_and_set_against_the_records(strict: Settings) -> None:
    with TestClient(create_app(strict)) as client:
        for question in QUESTIONS:
            assert client.post("/api/search", json={"query": question}).json()["no_match"] is True
        rated = client.post("/api/feedback", json={"query": "Leerstand in der Innenstadt (Tel. 0551 1234567)",
                                                   "result_ids": [], "helpful": False, "comment": "mail: x@y.de"})
        assert rated.status_code == 201
        view = client.get("/api/admin/insights", headers=AUTH).json()
        download = client.get("/api/admin/insights.csv", headers=AUTH)
    assert view["questions"] == 6
    everything = str(view)
    assert "hans@beispiel.de" not in everything and "1234567" not in everything
    groups = view["groups"]
    assert groups[0]["count"] >= 2 and sum(g["count"] for g in groups) == 6 and len(groups) < 6
    school = next(g for g in groups if "Schul" in g["representative"] or "Elterntaxi" in g["representative"])
    assert school["count"] == 3 and school["no_match"] == 3 and "[E-Mail]" in str(school["examples"])
    assert sum(g["not_helpful"] for g in groups) == 1
    demand = {(r["kind"], r["slug"]): r for r in view["demand"]}
    assert demand[("space_types", "innenstadt")]["asked"] >= 2 and demand[("space_types", "innenstadt")]["records"] >= 1
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff")), delimiter=";"))
    assert download.headers["content-type"].startswith("text/csv") and rows[0][0] == "Ansicht"
    assert any(r[0] == "Fragengruppe" for r in rows) and any(r[0] == "Raumtyp" for r in rows)
    with TestClient(create_app(strict)) as client:  # the feedback row itself was scrubbed as well
        exported = client.app.state.feedback_store.rows()  # type: ignore[attr-defined]
    assert "1234567" not in str(exported) and "x@y.de" not in str(exported)


def test_insights_can_be_switched_off(strict: Settings) -> None:
    with TestClient(create_app(strict.model_copy(update={"insights": False}))) as client:
        client.post("/api/search", json={"query": QUESTIONS[0]})
        assert client.get("/api/admin/insights", headers=AUTH).json()["questions"] == 0
