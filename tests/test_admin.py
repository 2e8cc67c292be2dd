"""The editors' workbench API: token, records with versions, audit and undo, import dry run, publish, rollback."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from indexer.build import BuildResult
from service.app import create_app
from service.config import Settings
from tests.conftest import CACHE_DIR, FIXTURES, assert_error
from tests.serving import running_process

TOKEN = "werkbank-test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def new_record(rid: str = "beispielstadt-pegelwarnung") -> dict:
    """A full record in the import format, on a topic no fixture record covers; a ';' and quotes in a challenge.

    The summary names a fresh number each time, so the vector cache cannot know it from an earlier run."""
    return {
        "id": rid,
        "title": "Pegelsensoren und Sirenen-App für die Hochwasserwarnung",
        "summary": f"Beispielstadt misst die Wasserstände ihrer {secrets.randbelow(10**6) + 3} Bäche mit Funksensoren "
                   "und warnt Anwohner per App.",
        "space_types": ["quartier"], "themes": ["klimaanpassung", "daten"],
        "challenges": ["Bei Starkregen tritt unser Bach über die Ufer; die Anwohner werden zu spät gewarnt.",
                       'Wir wissen nicht, wie schnell der Pegel steigt; "Hochwasser" kommt oft nachts.',
                       "Die Feuerwehr braucht früher Pegeldaten, um Sandsäcke zu verteilen."],
        "effects_intended": ["Frühere Warnung der Anwohner bei Hochwasser"],
        "effects_unintended": ["Fehlalarme können das Vertrauen in die Warnungen schwächen"],
        "indicators": ["Vorwarnzeit in Minuten", "Zahl der erreichten Haushalte"],
        "municipality": "Beispielstadt", "state": "Hessen", "program": "mpsc_2021", "status": "umsetzung",
        "sources": ["https://www.beispielstadt.de/pegel"], "updated": "2026-12-01",
        "description": ("Beispielstadt hat an drei Bächen Pegelsensoren aufgestellt, die ihre Messwerte per Funk an eine "
                        "Datenplattform senden. Steigt ein Pegel schnell, warnt eine App die Anwohner der betroffenen "
                        "Straßen, und die Feuerwehr sieht die Werte auf einer Karte. ") * 3,
    }


@pytest.fixture
def workbench(published: BuildResult, tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", corpus)
    index_dir = tmp_path / "index"
    shutil.copytree(published.path.parent.parent, index_dir, symlinks=True)
    return Settings(index_dir=index_dir, corpus_dir=corpus, cache_dir=CACHE_DIR, min_fit=0.0, tune=False,
                    admin_token=SecretStr(TOKEN), audit_log=tmp_path / "audit.jsonl")


@pytest.fixture
def admin(workbench: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(workbench)) as client:
        yield client


def wait_for(client: TestClient | httpx.Client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/admin/jobs/{job_id}", headers=AUTH).json()["job"]
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_the_workbench_is_off_without_a_token_and_guarded_with_one(settings: Settings, admin: TestClient) -> None:
    with TestClient(create_app(settings)) as off:
        assert off.get("/api/admin/solutions", headers=AUTH).status_code == 404
    missing = admin.get("/api/admin/solutions/einbeck-leerstandsmanagement")
    assert_error(missing, 401, "Werkbank-Token")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert_error(admin.get("/api/admin/solutions", headers={"Authorization": "Bearer falsch"}), 403, "falsch")
    assert_error(admin.get("/api/admin/solutions", headers={"Authorization": f"Basic {TOKEN}"}), 401)
    listed = admin.get("/api/admin/solutions", headers=AUTH).json()
    assert listed["count"] == 10 and all(len(item["version"]) == 16 for item in listed["solutions"])
    assert admin.get("/api/admin/solutions?space_type=gewerbegebiet", headers=AUTH).json()["count"] < 10


def test_versions_prevent_silent_overwrites_and_every_change_can_be_undone(admin: TestClient, workbench: Settings) -> None:
    rid = "einbeck-leerstandsmanagement"
    got = admin.get(f"/api/admin/solutions/{rid}", headers=AUTH)
    etag, record = got.headers["etag"], got.json()["record"]
    original = (workbench.corpus_dir / "solutions" / f"{rid}.md").read_text(encoding="utf-8")

    assert_error(admin.put(f"/api/admin/solutions/{rid}", json=record, headers=AUTH), 428, "If-Match")
    changed = {**record, "title": "Leerstandsmanagement; jetzt mit Eigentümerportal"}
    saved = admin.put(f"/api/admin/solutions/{rid}", json=changed, headers={**AUTH, "If-Match": etag})
    assert saved.status_code == 200 and saved.headers["etag"] != etag
    stale = admin.put(f"/api/admin/solutions/{rid}", json={**record, "title": "Zweite Fassung"}, headers={**AUTH, "If-Match": etag})
    assert_error(stale, 409, "inzwischen geändert")
    assert admin.get(f"/api/admin/solutions/{rid}", headers=AUTH).json()["record"]["title"].endswith("Eigentümerportal")

    invalid = admin.put(f"/api/admin/solutions/{rid}", json={**record, "space_types": ["mond"], "title": " "},
                        headers={**AUTH, "If-Match": saved.headers["etag"]})
    body = assert_error(invalid, 422)
    assert {"title", "space_types"} <= {e["field"] for e in body["errors"]}

    assert_error(admin.delete(f"/api/admin/solutions/{rid}", headers=AUTH), 428)
    deleted = admin.delete(f"/api/admin/solutions/{rid}", headers={**AUTH, "If-Match": saved.headers["etag"]})
    assert deleted.status_code == 200 and admin.get(f"/api/admin/solutions/{rid}", headers=AUTH).status_code == 404

    entries = admin.get(f"/api/admin/audit?id={rid}", headers=AUTH).json()["entries"]
    assert [e["action"] for e in entries] == ["delete", "update"]
    assert entries[1]["previous"] == original  # the audit log keeps what was there before
    assert admin.post(f"/api/admin/audit/{entries[1]['n']}/undo", headers=AUTH).status_code == 409  # undo the delete first
    assert admin.post(f"/api/admin/audit/{entries[0]['n']}/undo", headers=AUTH).status_code == 200
    assert admin.post(f"/api/admin/audit/{entries[1]['n']}/undo", headers=AUTH).status_code == 200
    assert (workbench.corpus_dir / "solutions" / f"{rid}.md").read_text(encoding="utf-8") == original


CSV_HEADER = ("id;title;summary;space_types;themes;raumwirkungen;challenges;effects_intended;effects_unintended;indicators;"
              "municipality;state;program;program_detail;status;sources;updated;description")


def test_import_dry_run_shows_the_diff_and_applying_it_keeps_semicolons_quotes_and_line_breaks(admin: TestClient) -> None:
    from indexer.corpus import Record
    from indexer.exchange import export_records

    exported = admin.get("/api/admin/solutions/einbeck-leerstandsmanagement", headers=AUTH).json()["record"]

    fresh = new_record()
    fresh["challenges"].append('Mehrzeilig:\nerste Zeile; zweite "Zeile"')
    rows = [Record(**r) for r in (exported | {"title": "Neuer Titel"}, fresh)]
    text = export_records(rows, "csv") + '"kaputt";;;;;;;;;;;;;;;;;\r\n'
    preview = admin.post("/api/admin/import?format=csv&dry_run=true", content=text.encode("utf-8"),
                         headers={**AUTH, "Content-Type": "text/csv"}).json()
    assert preview["applied"] is False
    assert preview["new"] == [fresh["id"]] and preview["changed"] == ["einbeck-leerstandsmanagement"]
    assert len(preview["rejected"]) == 1 and preview["rejected"][0]["problems"]
    assert admin.get(f"/api/admin/solutions/{fresh['id']}", headers=AUTH).status_code == 404  # nothing written yet

    applied = admin.post("/api/admin/import?format=csv&dry_run=false", content=text.encode("utf-8"),
                         headers={**AUTH, "Content-Type": "text/csv"}).json()
    assert applied["applied"] is True and applied["new"] == [fresh["id"]]
    stored = admin.get(f"/api/admin/solutions/{fresh['id']}", headers=AUTH).json()["record"]
    assert stored["challenges"] == fresh["challenges"]
    jsonl = json.dumps({**fresh, "title": "Per JSON Lines geändert"}, ensure_ascii=False) + "\n"
    again = admin.post("/api/admin/import?format=jsonl&dry_run=true&remove_missing=true", content=jsonl.encode(),
                       headers=AUTH).json()
    assert again["changed"] == [fresh["id"]] and len(again["removed"]) == 10


def test_publish_reuses_the_model_embeds_only_what_changed_and_rollback_returns(admin: TestClient,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    record = new_record()
    assert admin.put(f"/api/admin/solutions/{record['id']}", json=record, headers=AUTH).status_code == 201
    started = admin.post("/api/admin/publish", headers=AUTH)
    assert started.status_code == 202
    job = wait_for(admin, started.json()["job"]["id"])
    assert job["state"] == "done", job
    assert 0 < job["encoded"] <= 10  # the new record's passage, challenges, title and summary only
    hits = admin.post("/api/search", json={"query": "Hochwasserwarnung mit Pegelsensoren", "limit": 3}).json()["results"]
    assert record["id"] in [h["id"] for h in hits]

    builds = admin.get("/api/admin/builds", headers=AUTH).json()["builds"]
    assert builds[0]["current"] and builds[0]["build"] == job["build"] and builds[0]["count"] == 11
    publisher = admin.app.state.publisher  # type: ignore[attr-defined]
    monkeypatch.setattr("service.admin.ROLLBACK_WAIT", 0.5)
    with publisher.going_live:  # as while a build goes live: the rollback is refused, not overtaken a moment later
        busy = admin.post("/api/admin/rollback", json={"build": builds[1]["build"]}, headers=AUTH)
    assert_error(busy, 409, message="in einigen Sekunden erneut")
    assert admin.get("/api/health").json()["index_build"] == builds[0]["build"]
    back = admin.post("/api/admin/rollback", json={"build": builds[1]["build"]}, headers=AUTH)
    assert back.status_code == 200
    assert admin.get("/api/health").json()["index_build"] == builds[1]["build"]
    assert_error(admin.post("/api/admin/rollback", json={"build": "gibt-es-nicht"}, headers=AUTH), 404)


def test_publish_refuses_a_corpus_with_errors_and_keeps_the_live_build(admin: TestClient, workbench: Settings) -> None:
    before = admin.get("/api/health").json()["index_build"]
    (workbench.corpus_dir / "solutions" / "kaputt.md").write_text("---\ntitle: ohne alles\n---\n", encoding="utf-8")
    job = wait_for(admin, admin.post("/api/admin/publish", headers=AUTH).json()["job"]["id"])
    assert job["state"] == "failed" and job["problems"] and job["problems"][0]["file"].endswith("kaputt.md")
    assert admin.get("/api/health").json()["index_build"] == before
    listed = admin.get("/api/admin/solutions?problems=true", headers=AUTH).json()["solutions"]
    assert [item["id"] for item in listed if not item["valid"]] == ["kaputt"]



def test_a_publish_goes_live_while_a_retune_fine_tunes_and_the_retune_keeps_it(
        admin: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quick fix after a large import does not wait minutes for the model's fine-tune; and the retune, publishing
    after its fine-tune, does not take that fix back out of the live index. The fine-tune is held until the fix is
    live (it returns the live model: what is tested is the order of the jobs, not the training)."""
    import indexer.tune

    tuning, release = threading.Event(), threading.Event()
    live_model = admin.app.state.startup.live.embedder  # type: ignore[attr-defined]

    def held_fine_tune(*args: object, **kwargs: object) -> object:
        tuning.set()
        assert release.wait(120)
        return live_model

    monkeypatch.setattr(indexer.tune, "index_embedder", held_fine_tune)
    retune = admin.post("/api/admin/publish", json={"retune": True}, headers=AUTH).json()["job"]
    assert tuning.wait(30)
    record = new_record("beispielstadt-pegel-schnell")
    assert admin.put(f"/api/admin/solutions/{record['id']}", json=record, headers=AUTH).status_code == 201
    try:
        fix = wait_for(admin, admin.post("/api/admin/publish", headers=AUTH).json()["job"]["id"], timeout=60)
        assert fix["state"] == "done", fix
        assert admin.get(f"/api/admin/jobs/{retune['id']}", headers=AUTH).json()["job"]["state"] == "running"
        query = {"query": "Hochwasserwarnung mit Pegelsensoren", "limit": 3}
        assert record["id"] in [h["id"] for h in admin.post("/api/search", json=query).json()["results"]]
        again = admin.post("/api/admin/publish", json={"retune": True}, headers=AUTH).json()["job"]
        assert admin.post("/api/admin/publish", json={"retune": True}, headers=AUTH).json()["job"]["id"] == again["id"]
    finally:
        release.set()
    retuned = wait_for(admin, retune["id"])
    assert retuned["state"] == "done" and retuned["build"] != fix["build"], retuned
    assert wait_for(admin, again["id"])["state"] == "done"
    counts = {b["build"]: b["count"] for b in admin.get("/api/admin/builds", headers=AUTH).json()["builds"]}
    assert counts[retuned["build"]] == 11  # the fix published during the fine-tune is in the retune's build
    assert record["id"] in [h["id"] for h in admin.post("/api/search", json=query).json()["results"]]



def test_jobs_outlive_a_restart_and_one_the_restart_cut_off_says_so(workbench: Settings) -> None:
    """An editor signing in after a restart sees what happened: finished jobs as they were, and a retune that was
    running when the service stopped as failed with a word of what to do; it is never run again unasked. A damaged
    jobs file costs the history, not the service."""
    with TestClient(create_app(workbench)) as client:
        done = wait_for(client, client.post("/api/admin/publish", headers=AUTH).json()["job"]["id"])
        assert done["state"] == "done"
    jobs_file = workbench.index_dir / "jobs.json"
    saved = json.loads(jobs_file.read_text(encoding="utf-8"))
    assert [j["id"] for j in saved] == [done["id"]]
    saved.append({**done, "id": "abgebrochen", "kind": "retune", "state": "running", "step": "Modell an den Korpus "
                  "anpassen (einige Minuten)", "progress": 0.05, "build": None, "finished": None, "seconds": None})
    jobs_file.write_text(json.dumps(saved), encoding="utf-8")
    with TestClient(create_app(workbench)) as client:
        cut, before = client.get("/api/admin/jobs", headers=AUTH).json()["jobs"]
        assert before == done
        assert cut["id"] == "abgebrochen" and cut["state"] == "failed" and cut["interrupted"] and cut["finished"]
        assert "neu gestartet" in cut["error"] and "Modell zuvor neu an den Korpus anpassen" in cut["error"]
        assert client.get("/api/health").json()["index_build"] == done["build"]  # nothing was run again
    for damaged in ("[{kaputt", '{"jobs": 1}', '[{"id": "ohne-art"}]'):
        jobs_file.write_text(damaged, encoding="utf-8")
        with TestClient(create_app(workbench)) as client:
            assert client.get("/api/admin/jobs", headers=AUTH).json()["jobs"] == [], damaged
            assert client.post("/api/search", json={"query": "Leerstand in der Innenstadt"}).status_code == 200


def test_an_edit_is_searchable_within_15_seconds_on_a_real_server(workbench: Settings) -> None:
    """The issue's check: atlas serve with ATLAS_ADMIN_TOKEN and ATLAS_CORPUS_DIR; PUT, publish, search."""
    env = {**os.environ, "ATLAS_INDEX_DIR": str(workbench.index_dir), "ATLAS_CORPUS_DIR": str(workbench.corpus_dir),
           "ATLAS_CACHE_DIR": str(CACHE_DIR), "ATLAS_ADMIN_TOKEN": TOKEN, "ATLAS_MIN_FIT": "0",
           "ATLAS_AUDIT_LOG": str(workbench.audit_log)}
    with running_process(env) as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/api/admin/solutions/x").status_code == 401
        assert client.get("/api/admin/solutions/x", headers={"Authorization": "Bearer falsch"}).status_code == 403
        record = new_record("beispielstadt-pegel-echt")
        t0 = time.monotonic()
        assert client.put(f"/api/admin/solutions/{record['id']}", json=record, headers=AUTH).status_code == 201
        assert client.post("/api/admin/publish", headers=AUTH).status_code == 202
        found_after = None
        while time.monotonic() - t0 < 30:
            hits = client.post("/api/search", json={"query": "Hochwasserwarnung mit Pegelsensoren", "limit": 3}).json()
            if record["id"] in [h["id"] for h in hits["results"]]:
                found_after = time.monotonic() - t0
                break
            time.sleep(0.25)
        print(f"edit searchable after {found_after} s")
        assert found_after is not None and found_after <= 15
        assert client.get("/admin").status_code == 200
