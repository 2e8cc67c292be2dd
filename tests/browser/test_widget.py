"""The widget on host pages of other origins: keyboard flow, axe, theming, framing and CORS refusal."""

from __future__ import annotations

from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import (
    Service,
    active_element,
    ask,
    performance_requests,
    run_axe,
    screenshot,
    tab_to,
    wait_for,
)


def frame_loaded(driver: Any) -> Any:
    return wait_for(driver, lambda d: d.execute_script(
        "const f = document.querySelector('iframe'); return f && f.dataset.testLoaded === '1' ? f : null"), "iframe did not load")


def watch_frame_load(driver: Any) -> None:
    # The load event also fires for a frame the browser refused to show, so the refusal test can wait for it.
    driver.execute_script("""
        new MutationObserver(() => {
          const f = document.querySelector('iframe');
          if (f && !f.dataset.testWatched) { f.dataset.testWatched = '1'; f.addEventListener('load', () => { f.dataset.testLoaded = '1'; }); }
        }).observe(document.body, {childList: true, subtree: true});
    """)


def test_widget_keyboard_flow_axe_and_screenshot(driver: Any, service: Service) -> None:
    performance_requests(driver)
    driver.get(service.allowed_origin + "/")
    watch_frame_load(driver)
    launcher = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "button.atlas-lotse-launcher"), "no launcher")[0]
    assert launcher.text == "Atlas-Lotse fragen" and launcher.get_attribute("aria-expanded") == "false"
    assert driver.find_elements(By.TAG_NAME, "iframe") == [], "the chat is loaded only when opened"
    # data-accent="#6b2d5c" on the script tag themes the launcher
    assert launcher.value_of_css_property("background-color") == "rgba(107, 45, 92, 1)"

    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    tab_to(driver, "e.classList.contains('atlas-lotse-launcher')")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    panel = driver.find_element(By.CSS_SELECTOR, ".atlas-lotse-panel")
    # waits rather than asserts at once: on a loaded machine the key event may be handled a moment later
    wait_for(driver, lambda d: panel.is_displayed() and launcher.get_attribute("aria-expanded") == "true", "the panel did not open")
    assert "automatischer Assistent" in panel.text
    frame = frame_loaded(driver)
    assert frame.get_attribute("title") == "Atlas-Lotse – Chat mit dem automatischen Assistenten"
    assert frame.get_attribute("src").startswith(service.url + "/embed")

    driver.switch_to.frame(frame)
    wait_for(driver, lambda d: d.execute_script("return document.activeElement && document.activeElement.id") == "message",
             "opening the widget does not put focus into the question field")
    assert "automatischen Assistenten" in driver.find_element(By.ID, "ai-notice").text
    # the host's colour reaches the chat inside the frame as well
    assert driver.find_element(By.ID, "send").value_of_css_property("background-color") == "rgba(107, 45, 92, 1)"
    answer = ask(driver, "Paketdienste blockieren mit Lieferwagen unsere Innenstadt.")
    assert answer.find_elements(By.CSS_SELECTOR, ".card"), "no result cards in the widget"
    assert active_element(driver).get_attribute("id") == "message"
    driver.switch_to.default_content()
    path = screenshot(driver, "widget-host.png")  # host page with the open widget showing the answer
    assert path.stat().st_size > 10_000
    driver.switch_to.frame(frame)
    summary = tab_to(driver, "e.tagName === 'SUMMARY' && e.closest('.card')")
    summary.send_keys(Keys.ENTER)
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".card-details[open] .card-sources li"), "details did not open")
    frame_axe = run_axe(driver)
    assert frame_axe["violations"] == [], frame_axe["violations"]

    driver.switch_to.default_content()
    host_axe = run_axe(driver)
    assert host_axe["violations"] == [], host_axe["violations"]

    driver.switch_to.frame(frame)
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    driver.switch_to.default_content()
    wait_for(driver, lambda d: not panel.is_displayed(), "Escape inside the chat does not close the widget")
    assert "atlas-lotse-launcher" in active_element(driver).get_attribute("class"), "focus returns to the launcher"
    assert launcher.get_attribute("aria-expanded") == "false"

    launcher.send_keys(Keys.ENTER)  # reopen, then close with the close button
    wait_for(driver, lambda d: panel.is_displayed(), "the launcher does not reopen the widget")
    driver.find_element(By.CSS_SELECTOR, ".atlas-lotse-close").click()
    assert not panel.is_displayed() and "atlas-lotse-launcher" in active_element(driver).get_attribute("class")

    foreign = [u for u in performance_requests(driver)
               if not u.startswith((service.url + "/", service.allowed_origin + "/", "blob:", "data:"))]
    assert foreign == [], "the widget loads nothing from third parties"


def test_widget_inline_mode(driver: Any, service: Service) -> None:
    driver.get(service.allowed_origin + "/inline")
    frame = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#atlas-chat iframe"), "no inline chat")[0]
    assert frame.get_attribute("title") and driver.find_elements(By.CSS_SELECTOR, ".atlas-lotse-launcher") == []
    driver.switch_to.frame(frame)
    wait_for(driver, lambda d: d.find_elements(By.ID, "message"), "inline chat did not render")
    assert ask(driver, "Leerstand in der Innenstadt").find_elements(By.CSS_SELECTOR, ".card")


def test_other_origins_may_not_frame_the_chat_or_call_the_api(driver: Any, service: Service) -> None:
    csp = httpx.get(service.url + "/embed", timeout=10).headers["content-security-policy"]
    ancestors = next(d for d in csp.split(";") if d.strip().startswith("frame-ancestors")).split()[1:]
    assert ancestors == ["'self'", service.allowed_origin]

    driver.get(service.other_origin + "/")
    watch_frame_load(driver)
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "button.atlas-lotse-launcher"), "no launcher")[0].click()
    frame = frame_loaded(driver)
    driver.switch_to.frame(frame)
    assert driver.find_elements(By.ID, "message") == [], "a host that is not allowed must not show the chat"
    driver.switch_to.default_content()
    refusals = [e["message"] for e in driver.get_log("browser") if "frame-ancestors" in e["message"]]
    assert refusals, "Chromium did not report the frame-ancestors refusal"

    fetch = """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0] + '/api/health').then(r => r.json()).then(j => done('ok ' + j.status), e => done('refused ' + e));
    """
    assert driver.execute_async_script(fetch, service.url).startswith("refused")
    driver.get(service.allowed_origin + "/")
    assert driver.execute_async_script(fetch, service.url) == "ok ok"
    preflight = httpx.options(service.url + "/api/chat", timeout=10, headers={
        "Origin": service.other_origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    page = httpx.get(service.url + "/", headers={"Origin": service.allowed_origin}, timeout=10)
    assert "access-control-allow-origin" not in page.headers, "pages never carry CORS headers"
