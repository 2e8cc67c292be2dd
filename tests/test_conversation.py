"""Scripted multi-turn conversations against the real model and the real corpus index."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.language import detect_language
from service.prompts import Prompts
from service.schemas import ChatRequest
from tests.conftest import assert_error

ROOT = Path(__file__).parent.parent


class Chat:
    """A conversation that sends back the state of the previous answer, as the page does."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.state: dict[str, Any] | None = None

    def say(self, message: str, **facets: Any) -> dict[str, Any]:
        response = self.client.post("/api/chat", json={"message": message, "state": self.state, **facets})
        assert response.status_code == 200, response.text
        body = response.json()
        self.state = body["state"]
        assert "<" not in body["message"]  # plain text, never HTML
        return body


def ids(body: dict[str, Any]) -> list[str]:
    return [r["id"] for r in body["results"]]


def labels(body: dict[str, Any]) -> list[str]:
    return [s["label"] for s in body["suggestions"]]


@pytest.fixture
def chat(atlas_client: TestClient) -> Chat:
    return Chat(atlas_client)


def test_1_vacancy_then_more_details_similar_and_reset(chat: Chat) -> None:
    first = chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    assert first["detected_space_types"] == ["innenstadt"]
    assert len(first["results"]) == 5 and all("innenstadt" in r["space_types"] for r in first["results"])
    assert any("leerstand" in rid for rid in ids(first))
    assert "Mehr Lösungen" in labels(first)
    more = chat.say("mehr")
    assert len(more["results"]) == 5 and not set(ids(more)) & set(ids(first))
    assert [r["rank"] for r in more["results"]] == [6, 7, 8, 9, 10]
    details = chat.say("Details zu Nummer 2")
    assert ids(details) == [ids(first)[1]]
    assert details["results"][0]["title"] in details["message"]
    similar = chat.say("ähnliche wie 1")
    assert similar["results"] and ids(first)[0] not in ids(similar)
    assert "Ähnlich wie Nummer 1" in similar["message"]
    reset = chat.say("neu anfangen")
    assert reset["results"] == [] and reset["state"]["challenge"] == "" and reset["state"]["shown"] == []


def test_2_asks_back_once_when_space_type_is_unclear(chat: Chat) -> None:
    first = chat.say("Wir haben im Sommer große Probleme mit Hitze.")
    assert first["detected_space_types"] == []
    assert "Um welchen Raumtyp geht es Ihnen" in first["message"]
    assert first["results"]  # best results are shown meanwhile
    assert {"Innenstadt", "Quartier", "Gewerbegebiet"} <= set(labels(first))
    narrowed = chat.say("Quartier")
    assert narrowed["state"]["space_type"] == "quartier"
    assert all("quartier" in r["space_types"] for r in narrowed["results"])
    assert "Um welchen Raumtyp" not in narrowed["message"]
    other = chat.say("und im Gewerbegebiet?")
    assert other["state"]["space_type"] == "gewerbegebiet"
    assert other["state"]["challenge"].startswith("Wir haben im Sommer")  # standalone search from the challenge
    assert all("gewerbegebiet" in r["space_types"] for r in other["results"])
    assert "Um welchen Raumtyp" not in other["message"]  # asked at most once per challenge


def test_3_theme_follow_up_shifts_the_results(chat: Chat) -> None:
    chat.say("Unser Wohnquartier soll klimafreundlicher werden.")
    themed = chat.say("eher was zu Energie")
    assert themed["state"]["themes"] == ["energie"]
    assert themed["results"] and all("energie" in r["themes"] for r in themed["results"])
    assert "Energie" in themed["message"]


def test_4_only_established_solutions(chat: Chat) -> None:
    chat.say("Parksuchverkehr in der Innenstadt")
    established = chat.say("nur verstetigte")
    assert established["state"]["status"] == ["verstetigt"]
    assert all(r["status"] == "verstetigt" for r in established["results"])


def test_5_new_unrelated_challenge_starts_new_topic(chat: Chat) -> None:
    chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    chat.say("Gewerbegebiet")
    fresh = chat.say("Im Neubaugebiet fehlen Treffpunkte für ältere Menschen und Nachbarschaftshilfe.")
    assert fresh["state"]["challenge"].startswith("Im Neubaugebiet")
    assert fresh["state"]["space_type"] == "quartier"
    assert all("quartier" in r["space_types"] for r in fresh["results"])


def test_6_greeting_thanks_help_and_empty(chat: Chat) -> None:
    hello = chat.say("Hallo")
    assert "automatischer Assistent" in hello["message"] and "personenbezogenen Daten" in hello["message"]
    assert hello["results"] == [] and len(hello["suggestions"]) == 3
    assert "Gern geschehen" in chat.say("Danke!")["message"]
    assert "Details zu Nummer 2" in chat.say("Was kannst du?")["message"]
    assert "nicht verstanden" in chat.say("?")["message"]
    assert "noch keine Lösungen gezeigt" in chat.say("mehr")["message"]


def test_7_off_topic_is_refused_honestly_with_themes(chat: Chat) -> None:
    body = chat.say("Wie beantrage ich einen neuen Reisepass?")
    assert body["no_match"] is True and body["results"] == []
    assert "nichts Passendes" in body["message"] and "Mobilität" in body["message"]
    assert "Mobilität" in labels(body)


def test_8_english_conversation(chat: Chat) -> None:
    first = chat.say("Our business park needs better bus connections for the workers")
    assert first["language"] == "en" and first["detected_space_types"] == ["gewerbegebiet"]
    assert "I found" in first["message"]
    assert all("gewerbegebiet" in r["space_types"] for r in first["results"])
    assert "Matches:" in first["results"][0]["explanation"]
    more = chat.say("more")
    assert more["language"] == "en" and "More solutions" in more["message"]
    details = chat.say("Details on number 1")
    assert details["language"] == "en" and details["results"][0]["id"] == ids(first)[0]
    assert "Effects and indicators are the editors' assessment" in details["message"]


def test_9_english_help_and_space_type_chip(chat: Chat) -> None:
    helped = chat.say("What can you do?")
    assert helped["language"] == "en" and "automatic assistant" in helped["message"]
    chat.say("Heat is a big problem for older people in summer")
    narrowed = chat.say("Neighbourhood")
    assert narrowed["state"]["space_type"] == "quartier" and narrowed["language"] == "en"


def test_10_other_language_gets_german_with_note(chat: Chat) -> None:
    body = chat.say("Bonjour, nous cherchons des solutions contre les magasins vides au centre-ville")
    assert body["language"] == "de"
    assert body["message"].startswith("Hinweis: Der Atlas und dieser Assistent sind deutschsprachig")


def test_11_explanations_are_grounded_in_the_record(chat: Chat, atlas_client: TestClient) -> None:
    body = chat.say("Lieferverkehr und Paketdienste verstopfen unsere Altstadt")
    for result in body["results"]:
        record = atlas_client.get(f"/api/solutions/{result['id']}").json()
        lines = result["explanation"].splitlines()
        assert 3 <= len(lines) <= 5
        assert result["matched_challenge"] in record["challenges"]
        assert f"„{result['matched_challenge']}“" in lines[0]
        if record["effects_intended"]:
            assert record["effects_intended"][0] in result["explanation"]
        assert record["municipality"] in lines[-1] and record["program_label"] in lines[-1]


def test_12_space_type_facet_and_other_space_type_explained(chat: Chat) -> None:
    body = chat.say("Wie machen wir Daten für die Planung nutzbar?", space_type="gewerbegebiet")
    assert body["state"]["space_type"] == "gewerbegebiet"
    assert all("gewerbegebiet" in r["space_types"] for r in body["results"])
    assert "Gewerbegebiet – wie gefragt" in body["results"][0]["explanation"]


def test_13_details_of_unknown_number(chat: Chat) -> None:
    chat.say("Starkregen überflutet unsere Keller im Wohngebiet")
    body = chat.say("Details zu Nummer 5")
    assert body["results"]
    missing = chat.say("zur fünften bitte Details")
    assert missing["results"] or "Nummer 5" in missing["message"]
    chat.say("ähnliche wie 2")  # now five similar ones are numbered 1–5
    none = chat.say("Details zu Nummer 9")
    assert none["results"] == [] or "9" in none["message"]


def test_state_from_an_older_index_is_handled(chat: Chat) -> None:
    chat.say("Leerstand in der Innenstadt")
    assert chat.state is not None
    chat.state["shown"] = ["gibt-es-nicht-mehr"] + chat.state["shown"][1:]
    body = chat.say("mehr")
    assert body["message"].startswith("Hinweis: Der Atlas wurde inzwischen aktualisiert")
    assert "gibt-es-nicht-mehr" not in body["state"]["shown"]


@pytest.mark.parametrize(
    "state",
    [
        {"challenge": "x", "shown": "keine-liste"},
        {"challenge": "x", "space_type": "wald"},
        {"challenge": "x", "admin": True},
        {"challenge": "x", "shown": ["<script>"]},
        {"challenge": "x" * 5000},
        {"version": 99},
        "kein objekt",
    ],
)
def test_tampered_or_malformed_state_is_422(atlas_client: TestClient, state: Any) -> None:
    assert_error(atlas_client.post("/api/chat", json={"message": "mehr", "state": state}), 422)


@pytest.mark.parametrize(
    "message",
    [
        "ä" * 2000,
        "🙂🙂🙂 Leerstand 🙂",
        "<script>alert(1)</script> Leerstand in der Innenstadt",
        "'; DROP TABLE solutions; --",
        "Innenstadt " * 180,
        "\u200b\u200b Leerstand \u0000 im Zentrum",
        "1234567890",
    ],
)
def test_long_or_odd_messages_get_graceful_answers(atlas_client: TestClient, message: str) -> None:
    response = atlas_client.post("/api/chat", json={"message": message})
    assert response.status_code == 200, response.text
    assert response.json()["message"]
    assert "<script>" not in response.json()["message"]


def test_too_long_message_is_422(atlas_client: TestClient) -> None:
    assert_error(atlas_client.post("/api/chat", json={"message": "x" * 2001}), 422, "zu lang", "message")


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_template_renders(language: str) -> None:
    prompts = Prompts(ROOT / "prompts", language)
    names = prompts.names()
    assert {"answer", "ask_space_type", "details", "explanation", "no_match", "similar", "help"} <= set(names)
    labels_ = prompts.labels()
    record = {
        "id": "x", "title": "Titel", "summary": "Satz.", "space_types": ["quartier"], "themes": ["energie"],
        "raumwirkungen": [], "challenges": ["Herausforderung"], "effects_intended": ["Wirkung"],
        "effects_unintended": ["Nebenwirkung"], "indicators": ["Indikator"], "municipality": "Ulm",
        "state": "Baden-Württemberg", "program": "mpsc_2019", "status": "umsetzung", "sources": ["https://example.org"],
        "updated": "2026-11-27", "description": "Text",
    }
    item = {"rank": 1, "title": "Titel", "municipality": "Ulm", "space_type_labels": ["Quartier"], "status_label": "In Umsetzung"}
    from service.schemas import ConversationState
    from service.understanding import Preference

    context = {
        "items": [item], "state": ConversationState(challenge="c", shown=["x"]), "result": None,
        "notes": {"stale": True, "other_language": True, "preferred": True}, "said": "Wir sind 8000.", "record": record, "number": 1, "labels": labels_,
        "label": lambda kind, slug: slug, "space_type_label": "Quartier", "theme_labels": ["Energie"], "status_labels": ["In Umsetzung"],
        "all_themes": ["Energie"], "matched_challenge": "Herausforderung", "space_type": "quartier",
        "municipality": Preference(land="Bayern", size_classes=("kleinstadt", "mittelstadt")),
        "space_type_labels": ["Quartier"], "status_label": "In Umsetzung", "is_mpsc": True,
        "program_of": lambda record: f"{record['program']} (Detail)", "program": "Modellprojekt Smart Cities",
        "entries": [{"number": 1, "record": record, "program": "MPSC 2019", "is_mpsc": True, "costs": ["Es kostete 5 Euro."],
                     "page": "https://example.org", "peers": ["Ulm"], "status_label": "In Umsetzung",
                     "dates": ["Seit 2021 läuft es."], "partners": ["Gemeinsam mit der IHK."]}],
    }
    for name in names:
        if name.startswith("_"):
            continue
        text = prompts.render(name, **context)
        assert text.strip(), name
        assert "{{" not in text and "{%" not in text, name


@pytest.mark.parametrize(
    ("text", "previous", "expected"),
    [
        ("danke", "de", "de"),
        ("thanks", "de", "en"),
        ("mehr", "en", "de"),
        ("Quartier", "en", "de"),
        ("42", "en", "en"),
        ("In unserer Fußgängerzone stehen immer mehr Läden leer", "en", "de"),
        ("Our business park needs fibre broadband", "de", "en"),
    ],
)
def test_language_detection_is_deterministic_with_short_message_fallback(text: str, previous: str, expected: str) -> None:
    assert detect_language(text, previous) == expected


def test_error_messages_are_worded_in_prompts() -> None:
    import re

    import yaml

    catalogue = yaml.safe_load((ROOT / "prompts" / "de" / "errors.yaml").read_text(encoding="utf-8"))
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "service").rglob("*.py"))
    used = set(re.findall(r'(?:ValueError|Error)\("([a-z_]+)"', code)) | set(re.findall(r'text\(request, "([a-z_0-9]+)"', code))
    assert used and used <= set(catalogue), used - set(catalogue)
    assert {"status_404", "status_405", "status_500", "status_other"} <= set(catalogue)


def test_a_size_wish_in_a_refinement_puts_towns_of_that_size_first(chat: Chat) -> None:
    """"gibt es sowas auch in kleineren Gemeinden?" refines the topic and, like "wir sind 8000 Einwohner", puts
    solutions from towns of that size first among the best matches, and says so (the words alone moved nothing)."""
    def sizes(body: dict[str, Any]) -> list[str]:
        return [chat.client.get(f"/api/solutions/{i}").json()["size_class"] for i in ids(body)]

    first = chat.say("Unsere Schulwegsicherheit ist schlecht, Eltern fahren alle mit dem Auto bis vors Schultor")
    wish = chat.say("gibt es sowas auch in kleineren Gemeinden unter 10.000 Einwohnern?")
    assert wish["turn"] == "refine" and "kleineren Gemeinden" in chat.state["context"]  # type: ignore[index]
    assert "Lösungen aus Kleinstädten und Gemeinden (unter 20.000 Einwohner) stelle ich" in wish["message"]
    assert sizes(wish).count("kleinstadt") > sizes(first).count("kleinstadt")
    assert sizes(wish)[0] == "kleinstadt"
    # only solutions that fit the question nearly as well as the best move ahead: the school-route solutions (all
    # from big cities) stay, not pushed out by small towns' bus services further down
    assert len(set(ids(wish)) & set(ids(first))) >= 3
    # a bound keeps every size class on its side: towns under 50,000 are small and medium-sized towns
    bound = chat.say("bitte nur Städte unter 50.000 Einwohnern")
    assert "Kleinstädten und Gemeinden (unter 20.000 Einwohner) und Mittelstädten" in bound["message"]
    assert "grossstadt" not in sizes(bound)[:2]


# Follow-ups as planners phrase them (issue 13): the learned turn classifier and references to shown results.


def test_context_and_budget_follow_ups_keep_the_topic(chat: Chat) -> None:
    first = chat.say("Unser Ortskern stirbt aus, seit der Edeka an den Ortsrand gezogen ist. Was können wir tun?")
    topic = chat.state["challenge"]  # type: ignore[index]
    context = chat.say("wir sind eine Gemeinde mit 8000 Einwohnern")
    assert chat.state["challenge"].startswith(topic)  # type: ignore[index]
    assert context["turn"] == "context" and "8000 Einwohnern" in chat.state["context"]  # type: ignore[index]
    assert "berücksichtige" in context["message"]
    # still village centres, not a new topic: the answer comes from the best ten for the same challenge, with
    # solutions from small towns first
    pool = [r["id"] for r in chat.client.post("/api/search", json={"query": topic, "limit": 10}).json()["results"]]
    assert set(ids(context)) <= set(pool) and set(ids(first)) <= set(pool)
    assert "Kleinstädten und Gemeinden" in context["message"]
    budget = chat.say("gibt es das auch ohne großes Budget?")
    assert budget["turn"] == "refine"
    assert budget["results"] and not budget["no_match"]
    details = chat.say("Details zu Nummer 1")
    assert ids(details) == [ids(budget)[0]]


def test_an_everyday_question_midway_is_asked_back_without_losing_the_thread(chat: Chat) -> None:
    first = chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    refused = chat.say("Wie wird das Wetter morgen in Berlin?")
    assert refused["turn"] in ("unclear", "new") and not refused["results"]
    if refused["turn"] == "unclear":  # asked back: what the planner may have meant, with the first result named
        assert "nicht sicher verstanden" in refused["message"] and first["results"][0]["title"] in refused["message"]
        assert [c["label"] for c in refused["suggestions"]] == ["Details zu Nummer 1", "Lösungen ohne große Investition",
                                                                 "Neu anfangen"]
    else:
        assert refused["no_match"]
    assert chat.state["shown"] == ids(first)  # type: ignore[index]
    details = chat.say("Details zu Nummer 2")
    assert ids(details) == [ids(first)[1]]


def test_a_result_is_named_by_its_place_or_its_ordinal(chat: Chat) -> None:
    first = chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    number = ids(first).index("einbeck-leerstandsmanagement") + 1
    einbeck = chat.say("Was hat Einbeck genau gemacht?")
    assert ids(einbeck) == ["einbeck-leerstandsmanagement"] and f"Nummer {number}:" in einbeck["message"]
    second = chat.say("zeig mir die zweite genauer")
    assert ids(second) == [ids(first)[1]]


def test_contact_and_costs_are_answered_from_the_shown_records(chat: Chat, atlas_client: TestClient) -> None:
    first = chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    contact = chat.say("wer ist da Ansprechpartner?")
    assert "Ansprechpersonen nennt der Atlas nicht" in contact["message"]
    for rid in ids(first):
        record = atlas_client.get(f"/api/solutions/{rid}").json()
        line = next(line for line in contact["message"].splitlines() if record["title"] in line)
        assert re.search(r"Projektseite: (\S+)", line).group(1) in record["sources"]  # type: ignore[union-attr]
        peers = line.split("Ähnliches haben umgesetzt: ")[1].split(" – Projektseite")[0].split(", ")  # similar elsewhere
        assert peers and record["municipality"] not in peers
    costs = chat.say("und was kostet sowas ungefähr?")
    assert "Geprüfte Kostenangaben führt der Atlas nicht" in costs["message"]
    assert chat.state["shown"] == ids(first)  # type: ignore[index]  # the results stay on screen


def test_since_when_and_partners_are_answered_from_the_record(chat: Chat, atlas_client: TestClient) -> None:
    first = chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    number = ids(first).index("einbeck-leerstandsmanagement") + 1
    record = atlas_client.get("/api/solutions/einbeck-leerstandsmanagement").json()
    since = chat.say("seit wann läuft das in Einbeck?")
    assert since["turn"] == "since" and f"{number}. {record['title']}" in since["message"]
    assert f"Stand {record['updated']}" in since["message"]
    partners = chat.say("wer war da noch beteiligt?")
    assert partners["turn"] == "partners" and "Beteiligte nennt der Atlas nur" in partners["message"]
    description = " ".join(record["description"].split())
    quoted = [line.split("): ", 1)[1] for line in partners["message"].splitlines() if record["title"] in line]
    assert quoted and (quoted[0].startswith("Der Datensatz nennt keine Partner")
                       or all(part in description for part in re.split(r"(?<=[.!?])\s+", quoted[0])))
    assert chat.state["shown"] == ids(first)  # type: ignore[index]


def test_costs_quote_only_the_records_own_money_sentences() -> None:
    from service.explain import cost_sentences

    record: Any = {"description": "Das Projekt startete 2021. Die Stadt investierte 120.000 Euro in Sensoren. "
                                  "Betrieb über die Stadtwerke. Jährlich fallen rund 5.000 € Wartung an. Noch 3 Euro."}
    assert cost_sentences(record) == ["Die Stadt investierte 120.000 Euro in Sensoren.", "Jährlich fallen rund 5.000 € Wartung an."]
    assert cost_sentences({"description": "Keine Beträge."}) == []  # type: ignore[typeddict-item]


def test_anaphoric_follow_up_refines_the_topic(chat: Chat, atlas_client: TestClient) -> None:
    chat.say("Hitze im Quartier")
    sensors = chat.say("gibt es da was mit Sensoren?")
    assert "Hitze" in chat.state["challenge"] and "Sensoren" in chat.state["challenge"]  # type: ignore[index]
    themes = [atlas_client.get(f"/api/solutions/{rid}").json()["themes"] for rid in ids(sensors)]
    assert sum("klimaanpassung" in t for t in themes) >= 3, themes


def test_several_matching_results_are_asked_back(chat: Chat) -> None:
    first = chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    which = chat.say("erzähl mir mehr über die Plattform")  # no number, no place: which one?
    assert which["results"] == [] and "Welche Lösung meinen Sie?" in which["message"]
    assert all(s["message"].startswith("Details zu Nummer") for s in which["suggestions"])
    assert chat.state["shown"] == ids(first)  # type: ignore[index]


def test_refinements_never_grow_the_state_past_its_limit(chat: Chat) -> None:
    chat.say("Parkplatzsuche in der Altstadt")
    for n in range(4):
        chat.say("und was mit " + " ".join(["Bürgerbeteiligung"] * 60) + f" {n}?")
        assert len(chat.state["challenge"]) <= 2000  # type: ignore[index]
    assert chat.state["challenge"].startswith("Parkplatzsuche")  # type: ignore[index]


def test_which_of_these_are_permanent_stays_among_the_topics_best_matches(chat: Chat) -> None:
    topic = "In unserer Fußgängerzone stehen immer mehr Läden leer."
    chat.say(topic)
    permanent = chat.say("Welche davon sind schon dauerhaft im Betrieb?")
    assert permanent["turn"] == "status" and permanent["results"]
    assert all(r["status"] == "verstetigt" for r in permanent["results"])
    best = [r["id"] for r in chat.client.post("/api/search", json={"query": topic, "limit": 20}).json()["results"]]
    assert set(ids(permanent)) <= set(best)  # "davon": of these, not verstetigt solutions to other challenges


def test_asking_what_a_named_result_is_opens_its_details() -> None:
    from service.conversation import Turn, classify
    from service.schemas import ConversationState

    running = ConversationState(challenge="Lärm in der Nacht", shown=["a", "b", "c"])
    for message in ("was ist dieser Lärmomat in Berlin?", "what's Schaddel in Kassel?", "und das Portal aus Bad Vilbel"):
        assert classify(message, running, [], [], None, (2,)) == Turn("details", 2), message
    assert classify("was ist dieser Lärmomat?", running, [], [], None, (1, 2)).kind != "details"  # two could be meant


def test_an_ordinal_with_da_and_a_question_for_more_of_its_kind_asks_for_similar_ones() -> None:
    from service.conversation import Turn, classify
    from service.schemas import ConversationState

    running = ConversationState(challenge="Leerstand in der Fußgängerzone", shown=["a", "b", "c", "d", "e"])
    assert classify("das zweite da, gibt's sowas noch öfter?", running, [], []) == Turn("similar", 2)
    assert classify("die dritte, gibt es das auch woanders?", running, [], []) == Turn("similar", 3)
    assert classify("Nummer 4, gibts das noch öfter?", running, [], []) == Turn("similar", 4)
    assert classify("das zweite da, wie funktioniert das?", running, [], []) == Turn("details", 2)


def test_which_of_these_lie_in_a_space_type_filters_to_it(chat: Chat) -> None:
    chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    business = chat.say("Welche von denen liegen wirklich in Gewerbegebieten?")
    assert business["turn"] == "space_type" and chat.state["space_type"] == "gewerbegebiet"  # type: ignore[index]
    assert chat.state["challenge"].startswith("In unserer Fußgängerzone")  # type: ignore[index]
    assert business["results"] and all("gewerbegebiet" in r["space_types"] for r in business["results"])


def test_records_are_named_by_their_rare_words_only() -> None:
    from service.conversation import RecordNames

    def record(rid: str, title: str, place: str, text: str) -> dict[str, Any]:
        return {"id": rid, "title": title, "municipality": place, "summary": text, "description": text, "challenges": []}

    names = RecordNames([  # type: ignore[list-item]
        record("a", "On-Demand-Verkehr „Schaddel“", "Kassel", "Eine Karte zeigt die Haltepunkte."),
        record("b", "Digitale Karte der Baustellen", "Bamberg", "Die Karte zeigt Baustellen."),
        record("c", "Karte für Leerstände", "Kassel", "Eine Karte der Leerstände."),
        record("d", "Sensorkarte", "Ulm", "Eine Karte mit Sensoren."),
        record("e", "KLING – klimaneutrale Gewerbegebiete", "Erfurt", "Ein Netzwerk."),
    ])
    assert names.named("was ist Schaddel?") == ["a"]
    assert names.named("was ist Schaddel in Kassel?") == ["a"]  # two words name it, the town alone names two
    assert names.named("und das in Bamberg?") == ["b"]
    assert sorted(names.named("die aus Kassel")) == ["a", "c"]  # a tie, left to the caller
    assert names.named("was kostet so eine Karte?") == []  # an everyday word names nothing
    assert names.named("KLING") == ["e"] and names.named("das klingt spannend, mehr dazu") == []  # short names: exact only


def test_a_solution_named_but_not_on_screen_is_opened_and_joins_the_list(chat: Chat, atlas_client: TestClient) -> None:
    first = chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    assert "kassel-schaddel-on-demand-gewerbegebiete" not in ids(first)
    record = atlas_client.get("/api/solutions/kassel-schaddel-on-demand-gewerbegebiete").json()
    named = chat.say("was ist eigentlich dieses Schaddel in Kassel?")
    assert named["turn"] == "details" and record["title"] in named["message"]
    assert chat.state["shown"] == [*ids(first), record["id"]]  # type: ignore[index]  # it joins the list as number 6
    again = chat.say("Details zu Nummer 6")
    assert again["turn"] == "details" and record["title"] in again["message"]
    assert chat.state["challenge"] == "In unserer Fußgängerzone stehen immer mehr Läden leer."  # type: ignore[index]
    costs = chat.say("was kostet so eine Karte ungefähr?")  # an everyday word: about what is shown, nothing added
    assert costs["turn"] == "costs" and len(chat.state["shown"]) == 6  # type: ignore[index]


def test_a_contrast_names_the_wanted_space_type_and_a_trailing_question_points_back(chat: Chat) -> None:
    topic = chat.say("Uns fehlen Ideen gegen Hitze und Starkregen.")
    preferred = chat.say("nicht die Innenstadt, sondern das Gewerbegebiet")
    assert preferred["turn"] == "space_type" and chat.state["space_type"] == "gewerbegebiet"  # type: ignore[index]
    preferred = chat.say("lieber das Quartier statt der Innenstadt")
    assert preferred["turn"] == "space_type" and chat.state["space_type"] == "quartier"  # type: ignore[index]
    refined = chat.say("Zisternen mit Sensoren, gibt es das?")
    assert refined["turn"] == "refine" and refined["results"]
    assert chat.state["challenge"].startswith("Uns fehlen Ideen gegen Hitze")  # type: ignore[index]
    assert topic["results"]


def test_a_question_that_asks_for_details_does_not_ask_the_turn_model() -> None:
    """What is asked of a numbered result is learned only where no word says it: "Details zu Nummer 2" stays a
    details question without a forward pass of the turn model, even one that would read costs."""
    from service.conversation import Turn, classify
    from service.intents import Intent
    from service.schemas import ConversationState

    running = ConversationState(challenge="Leerstand", shown=[f"r{n}" for n in range(5)])
    asked: list[str] = []

    def reads_costs(message: str) -> Intent:
        asked.append(message)
        return Intent("costs", 0.99)

    for message, number in (("Details zu Nummer 2", 2), ("mehr zur 3 bitte", 3), ("die 2", 2),
                            ("Nummer 3 genauer bitte", 3), ("tell me more about number 4", 4)):
        assert classify(message, running, [], [], reads_costs) == Turn("details", number), message
    assert asked == []
    assert classify("Die Sache aus Nr. 2, wie groß war da das Budget?", running, [], [], reads_costs) == Turn("costs", 2)
    assert asked == ["Die Sache aus Nr. 2, wie groß war da das Budget?"]


def test_numbers_beyond_the_first_five_only_when_they_number_a_result() -> None:
    from service.conversation import Turn, classify
    from service.schemas import ConversationState

    running = ConversationState(challenge="Leerstand", shown=[f"r{n}" for n in range(10)])
    assert classify("Details zu Nummer 7", running, [], []) == Turn("details", 7)
    assert classify("zur achten bitte", running, [], []) == Turn("details", 8)
    assert classify("ähnliche wie Nr. 9", running, [], []) == Turn("similar", 9)
    assert classify("was kostet #6?", running, [], []) == Turn("costs", 6)
    assert classify("was hat die Nummer 4 gekostet?", running, [], []) == Turn("costs", 4)  # not details of 4
    assert classify("Kostenpunkt?", running, [], []) == Turn("costs")
    assert classify("ok. andere Beispiele?", running, [], []) == Turn("more")
    assert classify("who's behind number 3?", running, [], []) == Turn("contact", 3)
    assert classify("schick mir den Link zur Projektseite", running, [], []) == Turn("contact")
    assert classify("wie lange hat die Umsetzung gedauert bei der ersten?", running, [], []) == Turn("since", 1)
    assert classify("das letzte klingt interessant", running, [], []) == Turn("details", 10)  # the last one shown
    assert classify("ähnliche wie die letzte?", running, [], []) == Turn("similar", 10)
    assert classify("Das letzte Hochwasser hat die Altstadt geflutet", running, [], []).kind == "new"
    assert classify("only the ones in the city centre please", running, ["innenstadt"], [],
                    facet_words=frozenset({"city", "centre"})) == Turn("space_type")  # 8 words
    assert classify("es geht ums quartier", running, ["quartier"], []) == Turn("space_type")
    assert classify("the seventh one please", running, [], []) == Turn("details", 7)
    assert classify("first one pls", running, [], []) == Turn("details", 1)
    assert classify("hallo nochmal, war kurz in ner Besprechung", running, [], []) == Turn("greeting")
    assert classify("hallo nochmal, was gibt es zu Hitze?", running, [], []).kind != "greeting"
    assert classify("ne, vergiss das, lass uns nochmal ganz neu anfangen", running, [], []) == Turn("reset")
    for message in ("bitte nur Thema Verwaltung", "beschränk das mal aufs Thema Sicherheit", "schwerpunkt soziales bitte"):
        assert classify(message, running, [], ["verwaltung"]) == Turn("theme"), message


def test_a_numbered_result_can_be_asked_about_its_money_or_contact_and_a_marked_new_topic_starts_over() -> None:
    from service.conversation import Turn, _preferred_part, classify
    from service.schemas import ConversationState

    running = ConversationState(challenge="Leerstand", shown=[f"r{n}" for n in range(5)])
    assert classify("Nummer 2 klingt gut. wurde das gefördert und wenn ja aus welchem Topf?", running, [], []) == Turn("costs", 2)
    assert classify("number 4 looks interesting, who's the contact person?", running, [], []) == Turn("contact", 4)
    assert classify("Nummer 3 klingt gut, erzähl mehr", running, [], []) == Turn("details", 3)
    for message in ("ok, ganz anderes Thema: unsere Spielplätze sind im Sommer brutal heiß. Was gibt es dazu?",
                    "Zweites Anliegen, hat mit dem ersten nix zu tun: wir wollen ein Leerstandskataster aufbauen."):
        assert classify(message, running, [], []) == Turn("new"), message
    assert _preferred_part("nur Wohnquartiere bitte, keine Innenstädte").strip(" ,") == "nur Wohnquartiere bitte"

    from service.intents import Intent

    def unsure(_message: str) -> Intent:
        return Intent("greeting", 0.42, Intent("refine", 0.2))

    assert classify("ach so, hallo erstmal, hab mich gar nicht vorgestellt, Klimaschutzmanagement LK", running, [], [],
                    unsure) == Turn("greeting")
    assert classify("wir suchen noch was mit Sensoren, hallo übrigens", running, [], [], unsure) != Turn("greeting")

    def place(_message: str) -> Intent:
        return Intent("context", 0.93)

    about_us = "we're a town of about 30,000 just outside Cologne, lots of commuter traffic"
    assert classify(about_us, running, [], ["mobilitaet"], place, facet_words=frozenset({"traffic"})) == Turn("context")
    assert classify("just the traffic side please", running, [], ["mobilitaet"], place,
                    facet_words=frozenset({"traffic"})).kind == "theme"  # a theme and little else
    assert "Innenstädte" not in _preferred_part("keine Innenstädte, nur Wohnquartiere")


def test_a_land_in_a_short_follow_up_is_context_about_the_place() -> None:
    from service.conversation import Turn, classify
    from service.intents import Intent
    from service.schemas import ConversationState

    running = ConversationState(challenge="Senioren vereinsamen", shown=["a", "b"])
    for guess in ("help", "refine", "new"):  # whatever the classifier guessed for the short question
        assert classify("haben Sie auch was aus Bayern?", running, [], [], lambda _m, g=guess: Intent(g, 0.4)) == Turn("context")
    assert classify("und ähnliches wie das aus Bayern?", running, [], [], lambda _m: Intent("similar", 0.6)).kind == "which_one"
    assert classify("welche davon gibts in Niedersachsen?", running, [], [], lambda _m: Intent("status", 0.5)) == Turn("context")
    assert classify("the one from Darmstadt?", running, [], [], lambda _m: Intent("contact", 0.5), (2,)) == Turn("details", 2)
    for message in ("Wir haben mehr als 20 Leerstände in 12 Straßen.", "Bei uns fahren die Leute mehr als 30 km zum Arzt."):
        assert classify(message, running, [], []).kind == "new", message
        assert classify(message, ConversationState(), [], []).kind == "new", message


def test_a_question_about_a_land_is_not_quoted_back_as_a_statement(chat: Chat) -> None:
    chat.say("Unsere Senioren vereinsamen, seit der Treffpunkt im Ort geschlossen hat.")
    bavaria = chat.say("haben Sie auch was aus Bayern?")
    assert bavaria["turn"] == "context" and bavaria["message"].startswith("Gern. Lösungen aus Bayern stelle ich")
    assert "berücksichtige" not in bavaria["message"]
    town = chat.say("wir sind eine Gemeinde mit 8000 Einwohnern")
    assert town["message"].startswith("Danke, das berücksichtige ich: „wir sind eine Gemeinde mit 8000 Einwohnern“.")
    assert "aus Kleinstädten und Gemeinden (unter 20.000 Einwohner) und aus Bayern" in town["message"]  # both kept


def test_a_town_with_a_few_records_names_the_one_nearest_the_topic(chat: Chat) -> None:
    chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    chat.say("Welche davon sind schon dauerhaft im Betrieb?")
    assert "einbeck-leerstandsmanagement" not in chat.state["shown"]  # type: ignore[index]  # filtered away
    einbeck = chat.say("Was hat Einbeck genau gemacht?")  # Einbeck has four records in the atlas
    assert einbeck["turn"] == "details" and [r["id"] for r in einbeck["results"]] == ["einbeck-leerstandsmanagement"]


def test_after_details_a_question_naming_nothing_is_about_that_result(chat: Chat, atlas_client: TestClient) -> None:
    first = chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    chat.say("zeig mir die zweite genauer")
    assert chat.state["focus"] == 2  # type: ignore[index]
    record = atlas_client.get(f"/api/solutions/{ids(first)[1]}").json()
    contact = chat.say("wer ist da Ansprechpartner?")
    listed = [line for line in contact["message"].splitlines() if re.match(r"\d+\. ", line)]
    assert contact["turn"] == "contact" and len(listed) == 1 and listed[0].startswith(f"2. {record['title']}")
    where = chat.say("und wo genau war das?")  # names no result: the one in focus, not "Welche meinen Sie?"
    assert where["turn"] == "details" and ids(where) == [record["id"]]
    assert chat.say("gibts noch was ähnliches wie das?")["turn"] == "similar"  # similar to the one in focus
    chat.say("gibt es das auch ohne großes Budget?")  # new results: the focus is gone
    assert chat.state["focus"] is None  # type: ignore[index]
    contact = chat.say("wer ist da Ansprechpartner?")
    assert len([line for line in contact["message"].splitlines() if re.match(r"\d+\. ", line)]) == 5


def test_a_weak_guess_at_help_asks_back() -> None:
    from service.conversation import classify
    from service.intents import Intent
    from service.schemas import ConversationState

    running = ConversationState(challenge="Leerstand in der Innenstadt", shown=["a", "b"])
    message = "hast du einen Tipp für die Mittagspause hier?"
    assert classify(message, running, [], [], lambda _: Intent("help", 0.8)).kind == "help"
    assert classify(message, running, [], [], lambda _: Intent("help", 0.3)).kind == "unclear"


def test_a_status_question_filters_to_the_status_it_names(chat: Chat) -> None:
    chat.say("Wie können wir mit Daten den Verkehr in der Innenstadt besser steuern?")
    finished = chat.say("welche davon sind schon abgeschlossen?")
    assert finished["turn"] == "status" and chat.state["status"] == ["abgeschlossen"]  # type: ignore[index]
    assert finished["results"] and all(r["status"] == "abgeschlossen" for r in finished["results"])
    assert "„Abgeschlossen“" in finished["message"]
    ideas = chat.say("und welche sind erst Ideen?")
    assert ideas["turn"] == "status" and chat.state["status"] == ["idee"]  # type: ignore[index]
    assert all(r["status"] == "idee" for r in ideas["results"])
    assert "Idee" in ideas["message"] and "verstetigt" not in ideas["message"]
    assert chat.state["challenge"].startswith("Wie können wir")  # type: ignore[index]
    beyond = chat.say("welche davon sind nicht mehr nur im Test?")  # a negated trial asks for regular operation
    assert chat.state["status"] == ["verstetigt"]  # type: ignore[index]
    assert all(r["status"] == "verstetigt" for r in beyond["results"])


def test_a_space_type_or_theme_in_a_longer_follow_up_keeps_the_thread(chat: Chat) -> None:
    chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    business = chat.say("gilt das auch für Gewerbegebiete? da haben wir die größten Dachflächen")
    assert business["turn"] == "space_type" and chat.state["space_type"] == "gewerbegebiet"  # type: ignore[index]
    assert chat.state["challenge"].startswith("In unserer Fußgängerzone")  # type: ignore[index]
    assert "Dachflächen" in chat.state["challenge"]  # type: ignore[index]  # what else it said refines the topic
    assert business["results"] and all("gewerbegebiet" in r["space_types"] for r in business["results"])
    energy = chat.say("eher die Energieseite")
    assert energy["turn"] == "theme" and chat.state["themes"] == ["energie"]  # type: ignore[index]
    aside = chat.say("apropos, weißt du wie das Wetter morgen in Kassel wird?")
    assert aside["turn"] == "unclear" and chat.state["challenge"].startswith("In unserer")  # type: ignore[index]
    kind = chat.say("gibt's auch was mit Telemedizin?")  # a kind of solution, not the theme health
    assert kind["turn"] == "refine" and chat.state["themes"] == ["energie"]  # type: ignore[index]


def test_a_quoted_title_names_its_result() -> None:
    from service.conversation import resolve_references

    shown = [{"title": "Bodenfeuchtesensoren für Stadtbäume", "municipality": "Darmstadt"},
             {"title": "Gieß den Kiez", "municipality": "Berlin"}]
    assert resolve_references("Gieß den Kiez klingt spannend, mehr dazu", shown) == (2,)  # short words, whole title
    assert resolve_references("im Kiez gießen", shown) == ()


def test_a_new_problem_that_names_a_space_type_and_says_auch_is_a_new_topic(chat: Chat) -> None:
    chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    flood = chat.say("Wir haben auch ein Problem mit Starkregen in der Altstadt, die Keller laufen voll")
    assert flood["turn"] == "new" and chat.state["challenge"].startswith("Wir haben auch")  # type: ignore[index]
    back = chat.say("Uns interessiert dabei vor allem, wie sich das auf die Keller im Quartier auswirkt")  # points back
    assert back["turn"] == "space_type" and chat.state["challenge"].startswith("Wir haben auch")  # type: ignore[index]


@pytest.mark.parametrize(("message", "expected"), [
    ("gibt es noch mehr projekte wie das zweite?", ("similar", 2)),
    ("Nummer 4 gefällt mir, gibts davon mehr?", ("similar", 4)),
    ("die dritte trifft es gut, zeig mir vergleichbare", ("similar", 3)),
    ("anything else along the lines of number 2?", ("similar", 2)),
    ("I'd like more details on number 2", ("details", 2)),  # "like" here is no likeness
    ("vergiss das", ("reset", None)),
    ("alles auf Anfang bitte", ("reset", None)),
    ("let's try something different", ("reset", None)),
    ("das war hilfreich", ("thanks", None)),
    ("passt, danke", ("thanks", None)),
    ("this is really useful, thank you so much", ("thanks", None)),
    ("danke, und gibt es auch was für Senioren", ("refine", None)),  # thanks, but it asks for more
    ("wie erreiche ich die Leute von Nummer 1?", ("contact", 1)),
    ("gibts da eine E-Mail-Adresse?", ("contact", None)),
])
def test_other_ways_to_ask_for_similar_results_to_start_over_to_thank_and_to_reach_someone(
        message: str, expected: tuple[str, int | None]) -> None:
    from service.conversation import classify
    from service.intents import Intent
    from service.schemas import ConversationState

    running = ConversationState(challenge="Leerstand in der Innenstadt", shown=["a", "b", "c", "d", "e"])
    turn = classify(message, running, [], [], lambda _m: Intent("refine", 0.5))
    assert (turn.kind, turn.number) == expected, message


def test_learned_reset_thanks_and_greeting_keep_or_clear_the_thread_as_meant(chat: Chat) -> None:
    chat.say("Leerstand in der Innenstadt")
    assert chat.say("tausend Dank, genau das wollte ich wissen")["turn"] == "thanks"
    assert chat.say("guten Abend, bin wieder am Rechner")["turn"] == "greeting"
    assert chat.state["challenge"] == "Leerstand in der Innenstadt"  # type: ignore[index]
    assert chat.say("die 4 bitte")["turn"] == "details"  # a weak guess at small talk goes to the runner-up
    assert chat.say("For context: we are a small town of 9,000 people in Hesse")["turn"] == "context"
    reset = chat.say("das führt zu nichts, ich möchte eine andere Suche beginnen")
    assert reset["turn"] == "reset" and not chat.state["challenge"]  # type: ignore[index]


def test_more_about_one_result_is_not_a_request_for_similar_ones_nor_a_status_filter() -> None:
    from service.conversation import classify
    from service.intents import Intent
    from service.schemas import ConversationState

    running = ConversationState(challenge="Leerstand in der Innenstadt", shown=["a", "b", "c", "d", "e"])
    for message in ("erzähl mir mehr davon zur zweiten", "mehr Infos wie das funktioniert bei der zweiten"):
        assert classify(message, running, [], [], lambda _m: Intent("details", 0.5)).kind == "details", message
    assert classify("wie lief die Umsetzung bei der zweiten?", running, [], [], lambda _m: Intent("details", 0.5),
                    understanding_status="umsetzung").kind != "status"
    assert classify("haben andere Städte was wie Nr. 2 gemacht?", running, [], []).kind == "similar"


@pytest.mark.parametrize(("message", "kind"), [
    ("das war's, neues Thema", "reset"),
    ("nochmal neu:", "reset"),
    ("lass uns über was anderes reden", "reset"),
    ("anderes Thema: Parkplätze am Bahnhof", "new"),  # a new topic with its content is searched, not reset
    ("I was thinking more of shading at bus stops", "refine"),
    ("ich dachte eher an Begrünung von Dächern", "refine"),
])
def test_starting_over_and_correcting_the_topic(message: str, kind: str) -> None:
    from service.conversation import classify
    from service.intents import Intent
    from service.schemas import ConversationState

    running = ConversationState(challenge="Hitze im Quartier", shown=["a", "b", "c", "d", "e"])
    assert classify(message, running, [], [], lambda _m: Intent("details", 0.5)).kind == kind, message


def test_an_opening_greeting_or_question_about_the_assistant_is_answered_not_refused(atlas_client: TestClient) -> None:
    conversation = atlas_client.app.state.startup.current().conversation  # type: ignore[attr-defined]
    for message, kind in (("Moin, ich bin neu hier – wofür ist dieser Chat eigentlich gedacht?", "help"),
                          ("what kind of questions does this thing answer?", "help"), ("Servus beinand!", "greeting"),
                          ("good evening to you all", "greeting")):
        answer = conversation.reply(ChatRequest(message=message))
        assert (answer.turn, answer.no_match, answer.state.challenge) == (kind, False, ""), message
    for message in ("Wie wird das Wetter morgen in Berlin?", "Wie baue ich eine Gartenhütte?"):
        answer = conversation.reply(ChatRequest(message=message))
        assert answer.turn == "new" and answer.no_match, message  # everyday questions are still refused


def test_small_talk_the_detector_takes_for_planning_keeps_the_thread(chat: Chat) -> None:
    """Asides about the weather or the office can score on-topic for the domain detector (up to 0.70); the turn model is
    sure they are small talk, so the topic stays and the assistant asks back (issue 13)."""
    chat.say("Auf dem Marktplatz wird es im Sommer unerträglich heiß, es gibt kaum Schatten.")
    topic = chat.state["challenge"]  # type: ignore[index]
    for aside in ("übrigens regnet es hier gerade wie aus Eimern, haha", "Sorry, kurz abgelenkt: im Büro hat's 34 Grad"):
        answer = chat.say(aside)
        assert answer["turn"] == "unclear" and not answer["results"], aside
        assert chat.state["challenge"] == topic  # type: ignore[index]
    assert chat.say("Details zu Nummer 2")["turn"] == "details"


def test_a_theme_in_focus_words_or_a_compound_switches_the_theme(chat: Chat) -> None:
    chat.say("Bei uns im Ortskern parken Tagesgäste alles zu.")
    for message, theme in (("eher mit Fokus auf Tourismuslenkung, nicht nur Parken", "tourismus"),
                           ("anything from a public health angle?", "gesundheit"),
                           ("Und wenn's eher ums Sicherheitsgefühl geht, dunkle Ecken und so?", "sicherheit")):
        answer = chat.say(message)
        assert answer["turn"] == "theme" and chat.state["themes"] == [theme], message  # type: ignore[index]


def test_long_openings_statements_and_ruled_out_parts_are_read_as_meant(chat: Chat) -> None:
    # A long first message that mentions "fünf" is a challenge, not a question about results not yet shown.
    first = chat.say("Zu unseren Infoabenden zur Ortskernsanierung kommen immer nur dieselben fünf Leute. Gibt es "
                     "digitale Beteiligungsformate, die auch im Dorf funktionieren?")
    assert first["turn"] == "new" and first["results"]
    # A statement about the place that mentions a website is context, not a question for a contact.
    assert chat.say("Kleinstadt in Vorpommern, die Händler sind meistens über 60, viele haben nicht mal eine Website.")[
        "turn"] == "context"
    # What is ruled out says nothing new: the space type alone is asked for.
    assert chat.say("In der Innenstadt bitte, nicht Parks oder Friedhöfe.")["turn"] == "space_type"
    assert chat.state["space_type"] == "innenstadt"  # type: ignore[index]
    # "Andere Baustelle:" opens a new topic.
    topic = chat.state["challenge"]  # type: ignore[index]
    answer = chat.say("Andere Baustelle: die Betriebe im Gewerbegebiet wollen ihre Abwärme gemeinsam nutzen.")
    assert answer["turn"] == "new" and chat.state["challenge"] != topic  # type: ignore[index]


def test_a_part_dismissed_after_its_name_is_not_the_one_wanted(chat: Chat) -> None:
    from service.conversation import _preferred_part

    assert "Innenstadt" not in _preferred_part("Bitte wirklich nur Sachen aus Gewerbegebieten, Innenstadt bringt mir nix.")
    chat.say("In unserer Fußgängerzone stehen immer mehr Läden leer.")
    answer = chat.say("Nur die, die noch in Planung sind – wir suchen Partnerstädte für einen gemeinsamen Förderantrag.")
    assert answer["turn"] == "status" and chat.state["status"] == ["planung"]  # type: ignore[index]


def test_more_ways_to_greet_switch_topic_ask_who_is_responsible_and_want_the_same_style(chat: Chat) -> None:
    assert chat.say("Gude! 👋")["turn"] == "greeting"
    chat.say("Im Ortskern stehen viele Läden leer, seit der Supermarkt an den Ortsrand gezogen ist.")
    assert chat.say("wer ist bei Nr. 4 verantwortlich? würde die gern interviewen")["turn"] == "contact"
    assert chat.say("Das sollte aber auch telefonisch buchbar sein, nicht nur per App.")["turn"] == "refine"
    assert chat.say("Die zweite gefällt mir, gibt es mehr in dem Stil?")["turn"] == "similar"
    topic = chat.state["challenge"]  # type: ignore[index]
    answer = chat.say("Ganz andere Sache: unsere Kreisverwaltung will den Stromverbrauch der Kreisschulen in Echtzeit sehen.")
    assert answer["turn"] == "new" and chat.state["challenge"] != topic  # type: ignore[index]


def test_what_is_asked_of_a_numbered_result_a_longer_reset_and_a_theme_compound(chat: Chat) -> None:
    first = chat.say("Im Ortskern stehen viele Läden leer, seit der Supermarkt an den Ortsrand gezogen ist.")
    # The number is exact, what is asked of it is learned: money without a cost word.
    answer = chat.say("Was hat die Kommune bei Nr. 2 dafür insgesamt ausgegeben?")
    assert answer["turn"] == "costs" and first["results"][1]["title"] in answer["message"]
    answer = chat.say("Bei dem Projekt auf Rang 4 – wie wurden da die Bürger eingebunden?")
    assert answer["turn"] == "details" and ids(answer) == [ids(first)[3]] and chat.state["focus"] == 4  # type: ignore[index]
    # "mehr … zwei" across a colon is no question about result 2.
    assert chat.say("Zur Info: die Gemeinde hat 6000 Einwohner, und zwei Bäckereien haben im Sommer zugemacht.")[
        "turn"] == "context"
    assert chat.say("eher mit Mobilitätsschwerpunkt bitte")["turn"] == "theme"
    assert chat.state["themes"] == ["mobilitaet"]  # type: ignore[index]
    assert chat.say("only solutions for the neighbourhood, not the whole city centre")["turn"] == "space_type"
    assert chat.state["space_type"] == "quartier"  # type: ignore[index]
    reset = chat.say("Okay, wir fangen nochmal von vorne an, ich hab ein anderes Anliegen.")
    assert reset["turn"] == "reset" and chat.state["challenge"] == ""  # type: ignore[index]
    chat.say("Hitze im Quartier, es gibt kaum Schatten.")
    assert chat.say("Start over please, I've got a completely different question for you now.")["turn"] == "reset"


@pytest.mark.parametrize("follow_up", ["gibt es das auch ohne großes Budget?", "Und wie ist das bei Starkregen?"])
def test_a_follow_up_turn_encodes_what_it_needs_in_one_forward_pass(chat: Chat, atlas_client: TestClient,
                                                                   follow_up: str) -> None:
    """The message, the message as a new topic and the topic it refines, each as the search reads it (with its "?"
    for the ranking, without it for the "nothing fits" detector), go through the model together: a second pass
    costs about 25 ms (the follow-up turn took 30 ms longer than a search when the detector's form was missing)."""
    batcher = atlas_client.app.state.startup.current().batcher  # type: ignore[attr-defined]
    # An opening no other test says: the service keeps recent vectors, so a known one would need no pass at all.
    chat.say(f"In unserer Fußgängerzone in Probstheide stehen seit {len(follow_up)} Monaten immer mehr Läden leer.")
    before = sum(batcher.batch_sizes.values())
    chat.say(follow_up)
    assert sum(batcher.batch_sizes.values()) - before == 1
