"""The chat page in a real browser: conversation, details, Merkliste, feedback, accessibility, privacy, injection."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import (
    HOSTILE_CHALLENGE,
    HOSTILE_SUMMARY,
    HOSTILE_TITLE,
    Service,
    active_element,
    answers,
    ask,
    performance_requests,
    record_fetches,
    run_axe,
    screenshot,
    wait_for,
)

QUESTION = "In unserer Fußgängerzone stehen immer mehr Läden leer. Was können wir tun?"


def cards(answer: Any) -> list[Any]:
    return answer.find_elements(By.CSS_SELECTOR, ".cards > li.card")


def open_details(driver: Any, card: Any) -> Any:
    """Open a card's details with the keyboard and wait until the full record is there."""
    summary = card.find_element(By.CSS_SELECTOR, ".card-details summary")
    driver.execute_script("arguments[0].focus()", summary)
    summary.send_keys(Keys.ENTER)
    wait_for(driver, lambda d: card.find_elements(By.CSS_SELECTOR, ".card-sources li"), "details did not load")
    return card.find_element(By.CSS_SELECTOR, ".card-full")


def wait_for_file(folder: Path, suffix: str) -> Path:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        # Chromium may create the file before it has written it: wait for content and no partial download.
        partial = [p for p in folder.iterdir() if p.suffix == ".crdownload"]
        done = [p for p in folder.iterdir() if p.suffix == suffix and p.stat().st_size > 0]
        if done and not partial:
            size = done[0].stat().st_size
            time.sleep(0.2)
            if done[0].stat().st_size == size:
                return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} file downloaded into {folder}: {list(folder.iterdir())}")


def test_question_quick_reply_and_details(driver: Any, service: Service) -> None:
    driver.get(service.url + "/")
    record_fetches(driver)
    driver.execute_script("""
        window.__added = [];
        new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n =>
          window.__added.push([n.className, n.querySelectorAll('.card').length])))
        ).observe(document.getElementById('messages'), {childList: true, subtree: true});
    """)
    answer = ask(driver, QUESTION)
    assert active_element(driver).get_attribute("id") == "message", "the input keeps focus after sending"
    added = driver.execute_script("return window.__added")
    # the live region gets the question, then the whole answer in one piece (announced once, complete)
    assert [a[0] for a in added] == ["msg msg-user", "msg msg-assistant"] and added[1][1] == len(cards(answer)) > 0
    user = driver.find_elements(By.CSS_SELECTOR, "#messages > li.msg-user")[-1]
    assert user.find_element(By.CSS_SELECTOR, ".who").text == "Sie:" and QUESTION in user.text
    assert answer.find_element(By.CSS_SELECTOR, ".who").text == "Assistent:"
    found = cards(answer)
    assert found, "no result cards"
    first = found[0]
    assert first.find_element(By.CSS_SELECTOR, ".card-title").text
    assert first.find_element(By.CSS_SELECTOR, ".card-place").text
    assert first.find_element(By.CSS_SELECTOR, ".card-status").text
    assert first.find_elements(By.CSS_SELECTOR, ".card-space .badge")
    # the first view is compact: the one-line reason; summary and full explanation open with Details
    assert first.find_element(By.CSS_SELECTOR, ".card-why").text.startswith("Passt zu:")
    assert not first.find_element(By.CSS_SELECTOR, ".card-summary").is_displayed()
    assert "Einbeck" in answer.text or "Ulm" in answer.text  # the fixture corpus's two vacancy solutions

    chips = answer.find_elements(By.CSS_SELECTOR, ".chips button.chip")
    assert chips, "no quick replies"
    chip_label = chips[0].text
    chips[0].click()
    wait_for(driver, lambda d: len(answers(d)) == 3, "the quick reply got no answer")
    last_user = driver.find_elements(By.CSS_SELECTOR, "#messages > li.msg-user")[-1]
    assert last_user.find_element(By.CSS_SELECTOR, ".text").text  # the chip's message was sent as the user's turn
    assert active_element(driver).get_attribute("id") == "message"
    sent = driver.execute_script("return window.__fetches.filter(f => f.url.endsWith('/api/chat'))")
    assert len(sent) == 2 and chip_label
    first_state = sent[0].get("response", {}).get("state")
    assert sent[1]["body"]["state"] == first_state, "the page sends back the state of the previous answer"

    full = open_details(driver, first)
    assert full.find_elements(By.CSS_SELECTOR, ".field h4")
    links = full.find_elements(By.CSS_SELECTOR, ".card-sources a")
    assert links and all(a.get_attribute("target") == "_blank" for a in links)
    assert all("noopener" in a.get_attribute("rel") for a in links)
    driver.execute_script("window.scrollTo(0, 0)")
    path = screenshot(driver, "page.png")
    assert path.stat().st_size > 10_000


def test_merkliste_collects_exports_and_prints(driver: Any, service: Service, downloads: Path) -> None:
    driver.get(service.url + "/")
    assert not driver.find_element(By.ID, "merkliste-actions").is_displayed(), "no export buttons for an empty list"
    answer = ask(driver, QUESTION)
    found = cards(answer)[:2]
    titles = [c.find_element(By.CSS_SELECTOR, ".card-title").text for c in found]
    for card in found:
        button = card.find_element(By.CSS_SELECTOR, ".card-keep")
        button.click()
        assert button.get_attribute("aria-pressed") == "true"
    assert driver.find_element(By.ID, "merkliste-count").text == "(2)"
    assert "auf die Merkliste gesetzt" in driver.find_element(By.ID, "merkliste-status").get_attribute("textContent")

    driver.refresh()  # the list lives in sessionStorage: it survives a reload in the same tab
    wait_for(driver, lambda d: d.find_element(By.ID, "merkliste-count").text == "(2)", "Merkliste lost on reload")
    storage = driver.execute_script("return [document.cookie, window.localStorage.length, Object.keys(sessionStorage)]")
    assert storage == ["", 0, ["atlas-lotse-merkliste"]]

    driver.find_element(By.ID, "merkliste-md").click()
    markdown = wait_for_file(downloads, ".md").read_text(encoding="utf-8")
    assert markdown.startswith("# Merkliste aus dem Atlas-Lotsen")
    assert all(f"## {i}. " in markdown for i in (1, 2)) and "**Warum passt das?**" in markdown
    assert all(title in markdown for title in titles)

    driver.find_element(By.ID, "merkliste-csv").click()
    raw = wait_for_file(downloads, ".csv").read_text(encoding="utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:4] == ["Titel", "Kommune", "Bundesland", "Status"]
    assert [r[0] for r in rows[1:]] == titles

    compare = driver.find_element(By.ID, "merkliste-compare")  # two solutions: side by side on /vergleich
    assert compare.is_displayed()
    driver.get(compare.get_attribute("href"))
    columns = driver.find_elements(By.CSS_SELECTOR, "table.compare thead th")
    assert [c.text for c in columns] == titles
    comparison = run_axe(driver)
    assert comparison["violations"] == [], comparison["violations"]
    screenshot(driver, "vergleich.png")
    driver.back()
    wait_for(driver, lambda d: d.find_element(By.ID, "merkliste-count").text == "(2)", "Merkliste lost after comparing")

    driver.execute_script("window.__printed = null; window.print = () => { window.__printed = document.body.className; };")
    driver.find_element(By.ID, "merkliste-print").click()
    assert "print-merkliste" in driver.execute_script("return window.__printed")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert driver.find_element(By.ID, "merkliste").is_displayed()
    assert not driver.find_element(By.ID, "ask").is_displayed() and not driver.find_element(By.ID, "log").is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, "#merkliste-items .print-only").is_displayed()
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    remove = driver.find_elements(By.CSS_SELECTOR, ".merkliste-remove")[0]
    remove.send_keys(Keys.ENTER)
    assert driver.find_element(By.ID, "merkliste-count").text == "(1)"
    assert "merkliste-remove" in active_element(driver).get_attribute("class"), "focus stays in the list"


OLD_CHAT_SHAPE = """
    window.__sent = [];
    const original = window.fetch;
    window.fetch = function (url, init) {
      if (!String(url).endsWith('/api/chat')) return original.apply(this, arguments);
      const body = JSON.parse(init.body);
      window.__sent.push(body);
      return original('/api/search', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                      body: JSON.stringify({query: body.message})})
        .then(r => r.json())
        .then(s => new Response(JSON.stringify({message: 'Antwort im alten Format.', results: s.results,
                                                suggestions: ['Innenstadt', 'Quartier', 'Gewerbegebiet']}),
                                {status: 200, headers: {'Content-Type': 'application/json'}}));
    };
"""


def test_older_chat_answers_without_state_still_work(driver: Any, service: Service) -> None:
    driver.get(service.url + "/")
    driver.execute_script(OLD_CHAT_SHAPE)  # the answer shape before issue 5: suggestions as strings, no state
    answer = ask(driver, QUESTION)
    assert cards(answer) and "Antwort im alten Format." in answer.text
    chips = answer.find_elements(By.CSS_SELECTOR, ".chips button.chip")
    assert [c.text for c in chips] == ["Innenstadt", "Quartier", "Gewerbegebiet"]
    chips[1].click()
    wait_for(driver, lambda d: len(answers(d)) == 3, "the quick reply got no answer")
    sent = driver.execute_script("return window.__sent")
    assert [s["message"] for s in sent] == [QUESTION, "Quartier"] and [s["state"] for s in sent] == [None, None]


def test_feedback_is_stored_and_exported(driver: Any, service: Service, tmp_path: Path) -> None:
    driver.get(service.url + "/")
    answer = ask(driver, "Wie bekommen wir den Lieferverkehr aus der Altstadt?")
    ids = [c.get_attribute("data-id") for c in cards(answer)]
    form = answer.find_element(By.CSS_SELECTOR, "form.feedback")
    form.find_element(By.CSS_SELECTOR, ".feedback-send").click()
    assert "Bitte wählen Sie" in form.find_element(By.CSS_SELECTOR, ".feedback-status").text  # no rating chosen yet
    form.find_element(By.CSS_SELECTOR, "input[value=false]").click()
    comment = form.find_element(By.CSS_SELECTOR, "textarea")
    assert form.find_element(By.CSS_SELECTOR, f"label[for='{comment.get_attribute('id')}']").text.startswith("Kommentar")
    comment.send_keys("Uns fehlen Beispiele für Kleinstädte.")
    form.find_element(By.CSS_SELECTOR, ".feedback-send").click()
    wait_for(driver, lambda d: "Vielen Dank" in form.text, "no thanks after feedback")
    assert "feedback-status" in active_element(driver).get_attribute("class")

    out = tmp_path / "feedback.csv"
    env = {**os.environ, "ATLAS_FEEDBACK_DB": str(service.feedback_db)}
    result = subprocess.run([sys.executable, "-m", "service.cli", "feedback", "export", "-o", str(out)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    row = next(r for r in rows if r["comment"] == "Uns fehlen Beispiele für Kleinstädte.")
    assert row["helpful"] == "nein" and row["query"] == "Wie bekommen wir den Lieferverkehr aus der Altstadt?"
    assert row["result_ids"].split(";") == ids
    assert row["index_build"] == httpx.get(service.url + "/api/health", timeout=10).json()["index_build"]
    assert set(rows[0]) == {"id", "created", "helpful", "query", "result_ids", "index_build", "comment"}


def test_axe_finds_no_violations_on_the_pages(driver: Any, service: Service) -> None:
    driver.get(service.url + "/")
    answer = ask(driver, QUESTION)
    first = cards(answer)[0]
    first.find_element(By.CSS_SELECTOR, ".card-keep").click()
    open_details(driver, first)
    answer.find_element(By.CSS_SELECTOR, "form.feedback .feedback-send").click()  # shows the feedback error state too
    results = {"/": run_axe(driver)}
    for path in ("/barrierefreiheit", "/datenschutz", "/gibt-es-nicht"):
        driver.get(service.url + path)
        results[path] = run_axe(driver)
    for path, result in results.items():
        assert result["violations"] == [], (path, result["violations"])
        assert result["applicable"] >= 15, (path, result)


def test_keyboard_skip_link_and_labels(driver: Any, service: Service) -> None:
    driver.get(service.url + "/")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    skip = active_element(driver)
    assert skip.text == "Zum Inhalt springen"
    skip.send_keys(Keys.ENTER)
    assert active_element(driver).get_attribute("id") == "main"
    labels = driver.execute_script("""
        return [...document.querySelectorAll('button, input, textarea, summary')].map(e =>
          [e.outerHTML.slice(0, 80), (e.labels && e.labels.length) || e.textContent.trim().length || e.getAttribute('aria-label')]);
    """)
    assert all(named for _, named in labels), [html for html, named in labels if not named]
    footer = driver.find_element(By.CSS_SELECTOR, ".site-footer")
    assert {a.get_attribute("pathname") for a in footer.find_elements(By.TAG_NAME, "a")} == {"/barrierefreiheit", "/datenschutz"}
    assert "Automatischer Assistent" in footer.text and "automatischen Assistenten" in driver.find_element(By.ID, "ai-notice").text


@pytest.mark.parametrize("width", [320, 640])  # 640 CSS px is a 1280 px window at 200 % zoom
def test_reflow_at_320_px_and_200_percent_zoom(driver: Any, service: Service, width: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]})
    driver.get(service.url + "/")
    answer = ask(driver, QUESTION)
    open_details(driver, cards(answer)[0])
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"horizontal scrolling at {width} px: {overflow} px"
    assert driver.find_element(By.ID, "send").is_displayed()
    assert driver.execute_script("return getComputedStyle(document.documentElement).scrollBehavior") == "auto"


def test_every_request_stays_on_the_own_origin(driver: Any, service: Service) -> None:
    performance_requests(driver)  # drop what the browser's own start page loaded before ours
    driver.get(service.url + "/")
    answer = ask(driver, QUESTION)
    open_details(driver, cards(answer)[0])
    cards(answer)[0].find_element(By.CSS_SELECTOR, ".card-keep").click()
    driver.find_element(By.ID, "merkliste-md").click()
    time.sleep(0.5)
    requested = performance_requests(driver)
    assert any(u.endswith("/api/chat") for u in requested) and any("/api/solutions/" in u for u in requested)
    foreign = [u for u in requested if not u.startswith(service.url + "/") and not u.startswith(("blob:", "data:"))]
    assert foreign == []
    entries = driver.execute_script("return performance.getEntries().map(e => e.name).filter(n => /^https?:/.test(n))")
    assert entries and all(n.startswith(service.url + "/") for n in entries), entries
    headers = httpx.get(service.url + "/", timeout=10).headers
    assert "set-cookie" not in headers and "default-src 'self'" in headers["content-security-policy"]


def no_alert(driver: Any) -> bool:
    try:
        driver.switch_to.alert.text  # noqa: B018 (raises when there is no alert)
    except NoAlertPresentException:
        return True
    return False


def test_markup_in_a_question_renders_as_text(driver: Any, service: Service) -> None:
    driver.get(service.url + "/")
    attack = '<script>window.__xss = "query"</script><img src=x onerror="window.__xss=\'img\'"> Leerstand'
    ask(driver, attack)
    user = driver.find_elements(By.CSS_SELECTOR, "#messages > li.msg-user")[-1]
    assert attack in user.find_element(By.CSS_SELECTOR, ".text").text
    log = driver.find_element(By.ID, "log")
    assert log.find_elements(By.CSS_SELECTOR, "script, img, svg") == []
    assert driver.execute_script("return window.__xss") is None and no_alert(driver)


def test_markup_in_a_corpus_record_renders_as_text(driver: Any, service: Service) -> None:
    driver.get(service.url + "/")
    answer = ask(driver, HOSTILE_CHALLENGE)
    card = next(c for c in cards(answer) if c.get_attribute("data-id") == "sicherheitsprobe-markup")
    assert card.find_element(By.CSS_SELECTOR, ".card-title").text == HOSTILE_TITLE
    assert "<i>am Meer</i>" in card.find_element(By.CSS_SELECTOR, ".card-place").text
    full = open_details(driver, card)
    assert card.find_element(By.CSS_SELECTOR, ".card-summary").text == HOSTILE_SUMMARY
    locator = full.find_element(By.CSS_SELECTOR, "img.card-locator")  # the one image: the server's locator map
    assert "Probe <b>Mole</b>" in locator.get_attribute("alt")
    assert "<script>window.__xss = 4</script>" in full.text and "<svg onload=alert(2)>" in full.text
    source = full.find_element(By.CSS_SELECTOR, ".card-sources a")
    assert source.get_attribute("href").startswith("https://example.org/") and "<img/src=x" in source.text
    assert driver.find_element(By.ID, "log").find_elements(By.CSS_SELECTOR, "script, img:not(.card-locator), svg, b, i") == []
    assert driver.execute_script("return window.__xss") is None and no_alert(driver)
    assert not [u for u in performance_requests(driver) if u.rstrip("/").endswith("/x")], "an injected <img src=x> was loaded"
