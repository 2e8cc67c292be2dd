"""The JSON API over a real index and model: success and every error path."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.app import create_app
from service.config import Settings
from tests.conftest import assert_error


def test_health_reports_model_count_and_index(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["model"] == "bundled:multilingual-e5-small"
    assert body["solutions"] == 10
    assert body["tuned"] is None  # the fixture index is built with the base model
    assert body["index_created"].endswith("Z")


def test_search_ranks_fitting_solutions_first(client: TestClient) -> None:
    response = client.post("/api/search", json={"query": "Immer mehr Geschäfte in der Fußgängerzone sind leer"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 5
    assert results[0]["id"] in {"einbeck-leerstandsmanagement", "ulm-besuchertrend-innenstadt"}
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    top = results[0]
    assert top["matched_challenge"] and top["matched_challenge"] in top["explanation"]
    assert set(top) >= {"id", "title", "summary", "space_types", "themes", "municipality", "score", "explanation"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Paketdienste und Lieferwagen blockieren unsere Innenstadt", "berlin-komodo-mikrodepot"),
        ("Our business park needs fibre broadband for the companies", "gelsenkirchen-glasfaser-gewerbegebiete"),
        ("Gesundheitsversorgung im benachteiligten Stadtteil", "hamburg-gesundheitskiosk-billstedt"),
    ],
)
def test_search_finds_the_obvious_solution(client: TestClient, query: str, expected: str) -> None:
    results = client.post("/api/search", json={"query": query, "limit": 3}).json()["results"]
    assert expected in [r["id"] for r in results]


def test_space_type_filter_and_limit(client: TestClient) -> None:
    body = client.post("/api/search", json={"query": "digitale Lösungen", "space_type": "gewerbegebiet", "limit": 10}).json()
    assert body["space_type"] == "gewerbegebiet"
    assert body["results"] and all("gewerbegebiet" in r["space_types"] for r in body["results"])
    assert len(body["results"]) == 2  # the fixture corpus has two Gewerbegebiet records
    assert "Raumtyp Gewerbegebiet – wie gefragt" in body["results"][0]["explanation"]
    assert len(client.post("/api/search", json={"query": "Verkehr", "limit": 2}).json()["results"]) == 2


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"query": ""}, "query", "Bitte beschreiben Sie"),
        ({"query": "   \n\t "}, "query", "Bitte beschreiben Sie"),
        ({"query": "x" * 2001}, "query", "zu lang"),
        ({}, "query", "fehlt"),
        ({"query": 42}, "query", None),
        ({"query": "Leerstand", "space_type": "wald"}, "space_type", "erlaubt sind"),
        ({"query": "Leerstand", "limit": 0}, "limit", "ganze Zahl"),
        ({"query": "Leerstand", "limit": "viele"}, "limit", "ganze Zahl"),
        ({"query": "Leerstand", "foo": 1}, "foo", "unbekannt"),
    ],
)
def test_search_input_errors(client: TestClient, payload: dict, field: str, message: str | None) -> None:
    assert_error(client.post("/api/search", json=payload), 422, message, field)


def test_malformed_json_and_wrong_method(client: TestClient) -> None:
    assert_error(client.post("/api/search", content=b"{kaputt", headers={"content-type": "application/json"}), 422)
    assert_error(client.post("/api/search", content=b"[1, 2]", headers={"content-type": "application/json"}), 422)
    assert_error(client.get("/api/search"), 405)


def test_solution_details_and_404(client: TestClient) -> None:
    body = client.get("/api/solutions/hamburg-gesundheitskiosk-billstedt").json()
    assert body["municipality"].startswith("Hamburg")
    assert body["description"] and body["sources"] and body["challenges"]
    assert_error(client.get("/api/solutions/gibt-es-nicht"), 404, "gibt-es-nicht", "solution_id")
    assert_error(client.get("/api/nirgendwo"), 404)


def test_chat_answers_with_message_and_results(client: TestClient) -> None:
    body = client.post("/api/chat", json={"message": "Wie bekommen wir den Lieferverkehr aus der Altstadt?"}).json()
    assert body["results"] and "Lösungen" in body["message"]
    assert body["results"][0]["title"] in body["message"]
    assert "Mehr Lösungen" in [s["label"] for s in body["suggestions"]]
    assert body["state"]["challenge"] and body["state"]["shown"] == [r["id"] for r in body["results"]]
    assert_error(client.post("/api/chat", json={"message": " "}), 422, "Bitte beschreiben Sie", "message")


def test_the_planner_is_told_which_mistyped_words_were_read_as_which(client: TestClient) -> None:
    """A respelled word is named (search: as data; chat: in the answer, once); umlauts put back are not worth a note."""
    body = client.post("/api/search", json={"query": "Leerstand in der Innenstat, Laeden melden"}).json()
    assert body["corrections"] == [{"typed": "Innenstat", "read_as": "Innenstadt"}]
    assert client.post("/api/search", json={"query": "Leerstand in der Innenstadt"}).json()["corrections"] == []
    first = client.post("/api/chat", json={"message": "Leerstand in der Innenstat, Laeden melden"}).json()
    assert "Hinweis: Ich habe „Innenstat“ als „Innenstadt“ gelesen." in first["message"]
    assert "Laeden" not in first["message"]
    again = client.post("/api/chat", json={"message": "eher mit einer Online-Plattform", "state": first["state"]}).json()
    assert again["turn"] == "refine" and "gelesen" not in again["message"]  # said once, not on every refinement
    # The note says how to keep a word as typed, and a word in quotes is kept (search and chat alike).
    assert "Dann setzen Sie das Wort in Anführungszeichen." in first["message"]
    quoted = client.post("/api/search", json={"query": "Leerstand in der „Innenstat“"}).json()
    assert quoted["corrections"] == []
    kept = client.post("/api/chat", json={"message": 'Leerstand in der "Innenstat", Laeden melden'}).json()
    assert "gelesen" not in kept["message"]


def test_untrusted_text_is_returned_as_data(client: TestClient) -> None:
    attack = "<script>alert(1)</script> Leerstand"
    body = client.post("/api/chat", json={"message": attack}).json()
    assert "<script>" not in body["message"]
    page = client.get("/")
    assert "<script>alert" not in page.text


def test_chat_page_is_german_accessible_and_self_hosted(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="de">' in html
    assert "automatischen Assistenten" in html and "keine personenbezogenen Daten" in html
    assert 'role="log"' in html and 'aria-live="polite"' in html
    assert '<label for="message">' in html
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
    assert client.get("/static/chat.js").status_code == 200
    assert client.get("/static/app.css").status_code == 200
    assert "localStorage" not in client.get("/static/chat.js").text


def test_unknown_page_renders_german_error_page(client: TestClient) -> None:
    response = client.get("/gibt-es-nicht", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "Fehler 404" in response.text and "Zurück zum Assistenten" in response.text


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/health", "/api/search", "/api/chat", "/api/solutions/{solution_id}"} <= set(paths)


def test_inputs_are_checked_against_settings_and_index(settings: Settings) -> None:
    small = settings.model_copy(update={"max_query_chars": 300, "max_limit": 7})
    with TestClient(create_app(small)) as client:
        assert_error(client.post("/api/search", json={"query": "x" * 301}), 422, "höchstens 300 Zeichen", "query")
        assert client.post("/api/search", json={"query": "Leerstand " * 30}).status_code == 200
        assert_error(client.post("/api/search", json={"query": "Leerstand", "limit": 8}), 422, "Höchstens 7", "limit")
        assert len(client.post("/api/search", json={"query": "Leerstand", "limit": 7}).json()["results"]) <= 7
        assert_error(client.post("/api/chat", json={"message": "y" * 301}), 422, "höchstens 300", "message")
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert schema["SearchRequest"]["properties"]["query"]["maxLength"] == 300
        assert schema["ChatRequest"]["properties"]["message"]["maxLength"] == 300
        limit = schema["SearchRequest"]["properties"]["limit"]["anyOf"][0]
        assert limit["maximum"] == 7


@pytest.mark.parametrize("query", ["\u200b\u200b", " \u200d\ufeff ", "\u00ad"])
def test_invisible_only_queries_are_blank(client: TestClient, query: str) -> None:
    assert_error(client.post("/api/search", json={"query": query}), 422, "in ein paar Worten", "query")


def test_unknown_theme_and_repeated_state_ids_are_422(client: TestClient) -> None:
    assert_error(client.post("/api/search", json={"query": "Leerstand", "themes": ["gibtsnicht"]}), 422,
                 "Das Thema 'gibtsnicht' gibt es im Atlas nicht", "themes")
    assert_error(client.post("/api/chat", json={"message": "Leerstand", "themes": ["gibtsnicht"]}), 422, "gibtsnicht", "themes")
    first = client.post("/api/chat", json={"message": "Leerstand in der Innenstadt"}).json()
    state = {**first["state"], "shown": [first["state"]["shown"][0]] * 200}
    assert_error(client.post("/api/chat", json={"message": "mehr", "state": state}), 422, "mehrfach", "state.shown")


def test_metrics_only_with_the_token_and_without_question_text(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 404  # no token configured: no metrics page at all
    with TestClient(create_app(settings.model_copy(update={"metrics_token": SecretStr("geheim-123")}))) as client:
        client.post("/api/search", json={"query": "Leerstand in der Fußgängerzone"})
        client.post("/api/search", json={"query": "Wie backe ich einen Apfelkuchen?"})
        client.get("/api/solutions/gibt-es-nicht")
        assert client.get("/metrics").status_code == 404
        assert client.get("/metrics", headers={"Authorization": "Bearer falsch"}).status_code == 404
        response = client.get("/metrics", headers={"Authorization": "Bearer geheim-123"})
        assert response.status_code == 200
        text = response.text
        assert 'atlas_requests_total{method="POST",route="/api/search",status="200"} 2.0' in text
        assert 'route="/api/solutions/{solution_id}",status="404"' in text  # the template, not the id
        assert "atlas_request_seconds_bucket" in text and "atlas_encode_batch_size_count" in text
        assert 'atlas_build_info{build="' in text
        assert "Leerstand" not in text and "Apfelkuchen" not in text and "gibt-es-nicht" not in text
