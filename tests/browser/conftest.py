"""Browser fixtures: a real `atlas serve`, two host sites on other origins, and Debian's Chromium via Selenium.

The index is built from a copy of the fixture corpus plus one hostile record (markup in title, summary,
description and a source), so every browser test also runs against text that must never become HTML.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from indexer.build import build_index
from indexer.corpus import load_corpus
from indexer.embedding import Embedder
from tests.serving import free_port, running_server

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WAIT = 30  # seconds; the upper bound of every wait in these tests

HOSTILE_TITLE = "Sicherheitsprobe <script>alert(1)</script>"
HOSTILE_SUMMARY = 'Gezeitenpegel im Hafenbecken <img src=x onerror="window.__xss=1"> werden gemessen.'
HOSTILE_CHALLENGE = "Unsere Hafenmole braucht eine Warnung vor Sturmflut und Gezeitenhochwasser."
HOSTILE_RECORD = f"""---
id: sicherheitsprobe-markup
title: "{HOSTILE_TITLE}"
summary: '{HOSTILE_SUMMARY}'
space_types: [gewerbegebiet]
themes: [sicherheit]
challenges:
  - "{HOSTILE_CHALLENGE}"
  - "Die Hafenbetriebe erfahren zu spät von steigenden Pegeln <b>im Hafen</b>."
  - "Wir wollen Pegeldaten der Mole für alle Betriebe sichtbar machen."
effects:
  intended:
    - "Frühere Warnung der Betriebe <svg onload=alert(2)>"
  unintended:
    - "Fehlalarme bei Sensorausfall"
indicators:
  - "Vorwarnzeit in Minuten"
  - "Zahl der Fehlalarme je Jahr"
municipality: "Probestadt <i>am Meer</i>"
state: Bremen
location:
  - {{place: "Probe <b>Mole</b>", lat: 53.07582, lon: 8.80717}}
program: mpsc_2021
status: idee
sources:
  - 'https://example.org/?q="><img/src=x/onerror=alert(3)>'
updated: 2026-11-27
---

Ein erfundener Eintrag für die Browsertests. <script>window.__xss = 4</script> Er enthält Markup in jedem
Textfeld <img src=x onerror="window.__xss=5">, das die Seite als Text zeigen muss und nie als HTML einfügen darf.
"""


@dataclass
class Service:
    url: str
    feedback_db: Path
    index_dir: Path
    allowed_origin: str  # a host site listed in ATLAS_EMBED_ORIGINS
    other_origin: str  # a host site that is not


@pytest.fixture(scope="session")
def browser_ready() -> None:
    """Chromium, chromedriver and axe-core must be there; only outside CI may their absence skip the tests."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"browser tests need Debian's chromium and chromium-driver ({', '.join(missing)} missing; `make test` installs them)")
    if missing:
        pytest.fail(f"CI must run the browser tests, but {', '.join(missing)} is missing (apt-get install chromium chromium-driver)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --prefix tests/browser` (part of `make test`)")


@pytest.fixture(scope="session")
def browser_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """The fixture corpus plus the hostile record, indexed once."""
    corpus = tmp_path_factory.mktemp("browser-corpus")
    shutil.copytree(FIXTURES / "corpus", corpus, dirs_exist_ok=True)
    (corpus / "solutions" / "sicherheitsprobe-markup.md").write_text(HOSTILE_RECORD, encoding="utf-8")
    loaded = load_corpus(corpus)
    assert not loaded.errors, [str(p) for p in loaded.errors]
    index_dir = tmp_path_factory.mktemp("browser-index")
    build_index(loaded, index_dir, embedder)
    return index_dir


@pytest.fixture(scope="session")
def service(browser_ready: None, browser_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`atlas serve` in its own process; one host site may embed it, the other may not."""
    port, allowed_port, other_port = free_port(), free_port(), free_port()
    allowed, other = f"http://127.0.0.1:{allowed_port}", f"http://127.0.0.1:{other_port}"
    feedback_db = tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"
    env = {"ATLAS_INDEX_DIR": str(browser_index), "ATLAS_FEEDBACK_DB": str(feedback_db), "ATLAS_EMBED_ORIGINS": allowed}
    with running_server(env, port) as url, HostSite(allowed_port, url), HostSite(other_port, url):
        yield Service(url, feedback_db, browser_index, allowed, other)


def host_page(service_url: str, inline: bool) -> str:
    """A municipality's page that embeds the widget with the one documented snippet."""
    if inline:
        snippet = f'<div id="atlas-chat"></div>\n<script src="{service_url}/widget.js" data-target="#atlas-chat" defer></script>'
    else:
        snippet = f'<script src="{service_url}/widget.js" data-position="bottom-right" data-accent="#6b2d5c" defer></script>'
    return f"""<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Beispielstadt – Stadtentwicklung</title></head>
<body><header><p><a href="#inhalt">Beispielstadt</a></p></header>
<main id="inhalt"><h1>Stadtentwicklung in Beispielstadt</h1>
<p>Auf dieser Seite hilft Ihnen der Atlas-Lotse, passende Smart-City-Lösungen zu finden.</p>
{snippet}
</main></body></html>"""


class HostSite:
    """Serves the host pages (/ with the launcher, /inline with the inline chat) from its own origin."""

    def __init__(self, port: int, service_url: str) -> None:
        pages = {"/": host_page(service_url, inline=False), "/inline": host_page(service_url, inline=True)}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "nicht gefunden").encode("utf-8"))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HostSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session", autouse=True)
def fresh_artifacts() -> None:
    """Screenshots and axe results of this run only (test-artifacts/ is git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe-results.jsonl").unlink(missing_ok=True)


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    path = tmp_path / "downloads"
    path.mkdir()
    return path


@pytest.fixture
def driver(browser_ready: None, tmp_path: Path, downloads: Path) -> Iterator[Any]:
    """A fresh headless Chromium per test: own profile, downloads into a temp folder, performance log on."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service as DriverService

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    browser = webdriver.Chrome(service=DriverService(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(WAIT)
    browser.set_script_timeout(WAIT)
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    try:
        yield browser
    finally:
        browser.quit()


# ---- helpers the tests share -------------------------------------------------------------------------------


def wait_for(driver: Any, condition: Callable[[Any], Any], message: str, timeout: float = WAIT) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition, message)


def answers(driver: Any) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#messages > li.msg-assistant")


def ask(driver: Any, text: str) -> Any:
    """Type a question, send it with Ctrl+Enter (as a keyboard user would) and return the complete answer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    before = len(answers(driver))
    box = driver.find_element(By.ID, "message")
    box.click()
    box.send_keys(text)
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait_for(driver, lambda d: len(answers(d)) > before, f"no answer to {text!r}")
    return answers(driver)[-1]


def active_element(driver: Any) -> Any:
    return driver.execute_script("return document.activeElement")


def run_axe(driver: Any) -> dict[str, Any]:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) in the current document; frames are checked on their own."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, iframes: false, resultTypes: ["violations"]})
          .then(r => done({
            violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map(n => n.target.join(" ") + " – " + n.failureSummary)})),
            rules: r.violations.length + r.passes.length + r.incomplete.length + r.inapplicable.length,
            applicable: r.violations.length + r.passes.length + r.incomplete.length,
            incomplete: r.incomplete.map(v => v.id), version: axe.version}))
          .catch(e => done({error: String(e)}));
        """,
        WCAG_TAGS,
    )
    assert "error" not in result, result
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / "axe-results.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps({"url": driver.execute_script("return location.href"), **result}, ensure_ascii=False) + "\n")
    return result


def performance_requests(driver: Any) -> list[str]:
    """Every URL the browser requested since the last call (from Chrome's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def record_fetches(driver: Any) -> None:
    """Wrap window.fetch so a test can read what the page sent and got back (kept in window.__fetches)."""
    driver.execute_script(
        """
        window.__fetches = [];
        const original = window.fetch;
        window.fetch = function (url, init) {
          const entry = {url: String(url), body: init && init.body ? JSON.parse(init.body) : null};
          window.__fetches.push(entry);
          return original.apply(this, arguments).then(r => { r.clone().json().then(j => { entry.response = j; }, () => {}); return r; });
        };
        """
    )


def screenshot(driver: Any, name: str, max_height: int = 2400, top: float = 0) -> Path:
    """A PNG of the page from ``top`` (CSS pixels from the document's top), beyond the window if needed."""
    import base64

    ARTIFACTS.mkdir(exist_ok=True)
    width, height = driver.execute_script("return [document.documentElement.clientWidth, document.documentElement.scrollHeight]")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": top, "width": width, "height": min(height - top, max_height), "scale": 1},
    })
    path = ARTIFACTS / name
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def tab_to(driver: Any, predicate: str, limit: int = 80) -> Any:
    """Press Tab until document.activeElement satisfies a JS predicate (on `e`); fail after `limit` presses."""
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        if driver.execute_script(f"const e = document.activeElement; return !!(e && ({predicate}))"):
            return active_element(driver)
        driver.switch_to.active_element.send_keys(Keys.TAB)
    raise AssertionError(f"Tab never reached an element with {predicate}")
