"""The editors' workbench in a real browser: sign in, edit, upload with a preview, publish with progress, find the
new record in the chat, roll back; axe-core on every view."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By

from indexer.build import BuildResult
from indexer.corpus import Record
from indexer.exchange import export_records
from tests.browser.conftest import FIXTURES, answers, ask, run_axe, screenshot, wait_for
from tests.conftest import CACHE_DIR
from tests.serving import running_server
from tests.test_admin import TOKEN, new_record


@pytest.fixture
def workbench_url(browser_ready: None, published: BuildResult, tmp_path: Path) -> Iterator[str]:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(FIXTURES / "corpus", corpus)
    shutil.copytree(published.path.parent.parent, index_dir, symlinks=True)
    # A publish the last run of the service did not finish: the page says so at sign-in.
    (index_dir / "jobs.json").write_text(json.dumps([{"id": "abgebrochen", "kind": "publish", "state": "running",
                                                       "progress": 0.4, "step": "Texte einbetten"}]), encoding="utf-8")
    env = {**os.environ, "ATLAS_INDEX_DIR": str(index_dir), "ATLAS_CORPUS_DIR": str(corpus), "ATLAS_CACHE_DIR": str(CACHE_DIR),
           "ATLAS_ADMIN_TOKEN": TOKEN, "ATLAS_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
           "ATLAS_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"), "ATLAS_TUNE": "false"}  # no retune after the 2 edits
    with running_server(env) as url:
        yield url


def no_violations(driver: Any, view: str) -> None:
    result = run_axe(driver)
    assert result["violations"] == [], (view, result["violations"])


def status(driver: Any) -> str:
    return str(driver.find_element(By.ID, "admin-status").text)


def test_sign_in_edit_upload_publish_find_and_roll_back(driver: Any, workbench_url: str, tmp_path: Path) -> None:
    driver.get(workbench_url + "/admin")
    no_violations(driver, "sign-in")
    token = driver.find_element(By.ID, "token")
    token.send_keys("falsch")
    driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "token-error").is_displayed(), "no message for a wrong token")
    assert token.get_attribute("aria-invalid") == "true" and "falsch" in driver.find_element(By.ID, "token-error").text
    no_violations(driver, "sign-in with error")
    token.clear()
    token.send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "workbench").is_displayed(), "the workbench did not open")
    wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#records tbody tr")) == 10, "no record list")
    wait_for(driver, lambda d: d.find_element(By.ID, "publish-status").text.startswith(
        "Nicht veröffentlicht: Der Dienst wurde neu gestartet"), "no word of the publish a restart cut off")
    assert driver.execute_script("return document.cookie") == ""
    no_violations(driver, "record list")

    # Edit a record: first an invalid save (field-level message), then a valid one.
    driver.find_element(By.CSS_SELECTOR, "#records button[aria-label*='Leerstandsmanagement']").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "editor").is_displayed(), "the editor did not open")
    title = driver.find_element(By.ID, "f-title")
    title.clear()
    driver.find_element(By.CSS_SELECTOR, "#record-form button[type=submit]").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "e-title").is_displayed(), "no field message for an empty title")
    assert title.get_attribute("aria-invalid") == "true"
    no_violations(driver, "editor with errors")
    title.send_keys("Digitales Leerstandsmanagement mit Eigentümerportal")
    driver.find_element(By.CSS_SELECTOR, "#record-form button[type=submit]").click()
    wait_for(driver, lambda d: status(d).startswith("Gespeichert"), "the edit was not saved")
    assert "Einbeck (51.82018, 9.86961)" in driver.find_element(By.ID, "f-place").text
    saved = httpx.get(f"{workbench_url}/api/admin/solutions/einbeck-leerstandsmanagement", headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=10).json()["record"]
    assert saved["location"][0]["place"] == "Einbeck" and saved["size_class"] == "mittelstadt"  # fields the form does not show

    # Upload a CSV with a new record; preview the diff, then apply it.
    record = new_record("beispielstadt-pegel-browser")
    upload = tmp_path / "neu.csv"
    upload.write_text(export_records([Record(**record)], "csv"), encoding="utf-8")
    driver.find_element(By.ID, "import-file").send_keys(str(upload))
    driver.find_element(By.CSS_SELECTOR, "#import-form button[type=submit]").click()
    wait_for(driver, lambda d: "Neu (1)" in d.find_element(By.ID, "import-result").text, "no import preview")
    assert "Vorschau" in driver.find_element(By.ID, "import-result").text
    no_violations(driver, "import preview")
    driver.find_element(By.ID, "import-apply").click()
    wait_for(driver, lambda d: status(d).startswith("Import übernommen"), "the import was not applied")

    # Publish and watch the progress bar reach the end.
    driver.find_element(By.CSS_SELECTOR, "#publish-form button").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "publish-status").text.startswith("Veröffentlicht"),
             "publishing did not finish", timeout=120)
    assert driver.find_element(By.ID, "publish-progress").get_attribute("value") == "1"
    wait_for(driver, lambda d: "(aktiv)" in d.find_element(By.CSS_SELECTOR, "#builds tbody tr").text, "no new build listed")
    screenshot(driver, "admin.png")
    no_violations(driver, "after publishing")

    # The chat finds the new record.
    driver.get(workbench_url + "/")
    answer = ask(driver, "Hochwasserwarnung mit Pegelsensoren")
    assert record["title"] in answer.text

    driver.get(workbench_url + "/")  # a fresh conversation (inside one, small talk is asked back, not refused)
    refused = ask(driver, "Wie backe ich einen Apfelkuchen mit Streuseln?")  # nothing fits: kept for the gap view
    assert "nichts Passendes" in refused.text
    # Roll back to the build before: the token is still in this tab's sessionStorage.
    driver.get(workbench_url + "/admin")
    wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#builds button")) >= 1, "no earlier build to go back to")
    driver.find_element(By.CSS_SELECTOR, "#builds button").click()
    wait_for(driver, lambda d: "wieder aktiv" in status(d), "the rollback did not happen")
    wait_for(driver, lambda d: "Apfelkuchen" in d.find_element(By.ID, "insight-groups").text, "the gap view misses the question")
    no_violations(driver, "gap view")
    driver.get(workbench_url + "/")
    again = ask(driver, "Hochwasserwarnung mit Pegelsensoren")
    assert record["title"] not in again.text
    assert len(answers(driver)) >= 1


@pytest.fixture
def retuning_workbench(browser_ready: None, published: BuildResult, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, threading.Event]]:
    """A real HTTP server (uvicorn, in a thread of this process) with tuning on, and a short fine-tune (3 steps), so a
    larger change is retuned in seconds instead of minutes. The fine-tune starts when the test sets the event."""
    import functools

    from pydantic import SecretStr

    import indexer.tune
    from indexer.tune import TuneSettings
    from service.app import create_app
    from service.config import Settings
    from tests.serving import running_app

    monkeypatch.setattr(indexer.tune, "TuneSettings", functools.partial(TuneSettings, max_steps=3, max_seq_length=64))
    background = indexer.tune.shipped_records()[:20]  # the detector embeds the background again with the new model
    monkeypatch.setattr(indexer.tune, "shipped_records", lambda: background)
    release, fine_tune = threading.Event(), indexer.tune.index_embedder

    def held_fine_tune(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(300)
        return fine_tune(*args, **kwargs)

    monkeypatch.setattr(indexer.tune, "index_embedder", held_fine_tune)
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(FIXTURES / "corpus", corpus)
    shutil.copytree(published.path.parent.parent, index_dir, symlinks=True)
    settings = Settings(index_dir=index_dir, corpus_dir=corpus, cache_dir=CACHE_DIR, admin_token=SecretStr(TOKEN),
                        audit_log=tmp_path / "audit.jsonl", feedback_db=tmp_path / "feedback.sqlite3", tune=True)
    with running_app(create_app(settings)) as url:
        try:
            yield url, release
        finally:
            release.set()


def test_the_publish_status_follows_the_retune_a_larger_change_starts(
        driver: Any, retuning_workbench: tuple[str, threading.Event]) -> None:
    """Two new records of twelve (more than RETUNE_SHARE): the publish goes live at once with the live model, then a
    retune job fine-tunes the model on the new corpus and publishes again. The status says so and follows that job to
    its own publish, instead of stopping at the first "Veröffentlicht"; the service swaps to the tuned model. A quick
    fix published during the fine-tune goes live at once, the status says the retune goes on, and the retuned build
    has the fix in it."""
    url, release = retuning_workbench
    for rid in ("beispielstadt-pegel-a", "beispielstadt-pegel-b"):
        put = httpx.put(f"{url}/api/admin/solutions/{rid}", json=new_record(rid),
                        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert put.status_code == 201
    driver.get(url + "/admin")
    driver.find_element(By.ID, "token").send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "workbench").is_displayed(), "the workbench did not open")
    seen: list[str] = []

    def publish_status(d: Any) -> str:
        text = str(d.find_element(By.ID, "publish-status").text)
        if not seen or seen[-1] != text:
            seen.append(text)
        return text

    driver.find_element(By.CSS_SELECTOR, "#publish-form button").click()
    wait_for(driver, lambda d: "im Hintergrund neu angepasst" in publish_status(d), "no word of the retune", timeout=120)
    assert seen[-1].startswith("Veröffentlicht: Stand "), seen
    no_violations(driver, "publish with a retune to follow")
    wait_for(driver, lambda d: publish_status(d).startswith("Modell wird neu angepasst: "), "the status did not follow the retune",
             timeout=120)
    seen.append("(reload)")
    driver.refresh()  # the token is still in this tab's sessionStorage: the page shows the running retune again
    wait_for(driver, lambda d: d.find_element(By.ID, "workbench").is_displayed(), "the workbench did not open again")
    wait_for(driver, lambda d: publish_status(d).startswith("Modell wird neu angepasst: "),
             "the status did not follow the retune after a reload", timeout=60)
    fix = httpx.put(f"{url}/api/admin/solutions/beispielstadt-pegel-c", json=new_record("beispielstadt-pegel-c"),
                    headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert fix.status_code == 201
    driver.find_element(By.CSS_SELECTOR, "#publish-form button").click()  # while the fine-tune is held
    wait_for(driver, lambda d: "weiter im Hintergrund neu angepasst" in publish_status(d),
             "a publish during the retune did not go live at once", timeout=60)
    assert seen[-1].startswith("Veröffentlicht: Stand "), seen
    assert httpx.get(url + "/api/health", timeout=10).json()["solutions"] == 13
    time.sleep(1.5)  # the retune is followed quietly: the notice stays up while it runs
    assert "weiter im Hintergrund neu angepasst" in publish_status(driver), seen
    release.set()
    wait_for(driver, lambda d: publish_status(d).startswith("Mit neu angepasstem Modell veröffentlicht"),
             "the status did not follow the retune to its end", timeout=300)
    after_reload = [text for text in seen[seen.index("(reload)") + 1:] if text]
    assert after_reload[0].startswith("Modell wird neu angepasst: "), seen
    assert driver.find_element(By.ID, "publish-progress").get_attribute("value") == "1"
    health = httpx.get(url + "/api/health", timeout=10).json()
    assert health["tuned"] and health["solutions"] == 13  # the tuned model, and the fix published meanwhile
    hits = httpx.post(url + "/api/search", json={"query": "Hochwasserwarnung mit Pegelsensoren", "limit": 3},
                      timeout=30).json()["results"]
    assert {"beispielstadt-pegel-a", "beispielstadt-pegel-b", "beispielstadt-pegel-c"} <= {h["id"] for h in hits}
    wait_for(driver, lambda d: health["index_build"] in d.find_element(By.CSS_SELECTOR, "#builds tbody tr").text
             and "(aktiv)" in d.find_element(By.CSS_SELECTOR, "#builds tbody tr").text, "the retuned build is not listed")
    no_violations(driver, "after the retune")
    # The build published before the retune (the live model) stays for a rollback.
    driver.find_element(By.CSS_SELECTOR, "#builds button").click()
    wait_for(driver, lambda d: "wieder aktiv" in status(d), "the rollback did not happen")
    assert httpx.get(url + "/api/health", timeout=10).json()["tuned"] is None
