"""The map, the solution page and the compact answer in a real browser (issue 14): keyboard walk-throughs, filters,
axe-core, screenshots, and the same inside the widget."""

from __future__ import annotations

from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import (
    HOSTILE_TITLE,
    Service,
    ask,
    performance_requests,
    run_axe,
    screenshot,
    tab_to,
    wait_for,
)
from tests.browser.test_page import QUESTION, cards, open_details


def markers(driver: Any) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "svg.map a.marker[data-id]")


def test_map_marker_leads_to_the_solution_with_the_keyboard(driver: Any, service: Service) -> None:
    performance_requests(driver)
    driver.get(service.url + "/karte")
    listed = [li.get_attribute("data-id") for li in driver.find_elements(By.CSS_SELECTOR, ".map-list li[data-id]")]
    marked = {m.get_attribute("data-id") for m in markers(driver)}
    assert len(listed) == 11 and marked <= set(listed) and len(marked) >= 0.9 * len(listed), (marked, listed)
    titles = driver.execute_script("return [...document.querySelectorAll('svg.map a.marker title')].map(t => t.textContent)")
    assert any(HOSTILE_TITLE in t and "Probe <b>Mole</b>" in t for t in titles)  # markup in a record stays text
    assert driver.find_elements(By.CSS_SELECTOR, "svg.map b, svg.map script") == []
    assert len(driver.find_elements(By.CSS_SELECTOR, "svg.map .map-laender path")) == 16
    result = run_axe(driver)
    assert result["violations"] == [], result["violations"]
    screenshot(driver, "karte.png")

    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    marker = tab_to(driver, "e.matches('a.marker')", limit=40)  # past the skip link and the filter form
    wanted = marker.get_attribute("data-id")
    # its name (from its <title>) says what, where, status and space type
    title = driver.execute_script("return arguments[0].querySelector('title').textContent", marker)
    assert marker.accessible_name == title and " – " in title
    marker.send_keys(Keys.ENTER)
    wait_for(driver, lambda d: d.current_url.endswith(f"/loesung/{wanted}"), "Enter on a marker did not open the solution")
    record = httpx.get(f"{service.url}/api/solutions/{wanted}", timeout=10).json()
    assert driver.find_element(By.TAG_NAME, "h1").text == record["title"]
    locator = driver.find_element(By.CSS_SELECTOR, ".locator svg[role=img]")
    assert record["location"][0]["place"] in locator.get_attribute("aria-label")
    assert driver.find_elements(By.CSS_SELECTOR, f".locator [data-id='{wanted}']")
    result = run_axe(driver)
    assert result["violations"] == [], result["violations"]
    screenshot(driver, "loesung.png")
    foreign = [u for u in performance_requests(driver) if not u.startswith((service.url + "/", "data:"))]
    assert foreign == [], "the map and the solution page load nothing from elsewhere"


def test_map_filters_narrow_markers_and_list(driver: Any, service: Service) -> None:
    driver.get(service.url + "/karte")
    everything = len(markers(driver))
    Select(driver.find_element(By.ID, "f-space_type")).select_by_value("gewerbegebiet")
    driver.find_element(By.CSS_SELECTOR, ".map-filters button[type=submit]").click()
    wait_for(driver, lambda d: "space_type=gewerbegebiet" in d.current_url, "the filter form did not submit")
    found = markers(driver)
    assert 0 < len(found) < everything
    assert all("marker-gewerbegebiet" in m.get_attribute("class") for m in found)  # the filtered type's triangle
    listed = [li.get_attribute("data-id") for li in driver.find_elements(By.CSS_SELECTOR, ".map-list li[data-id]")]
    for rid in listed:
        assert "gewerbegebiet" in httpx.get(f"{service.url}/api/solutions/{rid}", timeout=10).json()["space_types"]
    assert Select(driver.find_element(By.ID, "f-space_type")).first_selected_option.get_attribute("value") == "gewerbegebiet"
    screenshot(driver, "karte-filter.png")
    driver.get(service.url + "/karte?state=Niedersachsen&size_class=grossstadt")
    states = [li.text for li in driver.find_elements(By.CSS_SELECTOR, ".map-list li[data-id]")]
    assert states and all("(Niedersachsen)" in s and "Großstadt" in s for s in states)
    result = run_axe(driver)
    assert result["violations"] == [], result["violations"]


def test_compact_answer_fits_five_on_a_laptop_screen_and_expands(driver: Any, service: Service) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    driver.get(service.url + "/")
    answer = ask(driver, QUESTION)
    found = cards(answer)
    assert len(found) == 5
    # what a planner sees on an 800 px laptop screen: from the first result down
    screenshot(driver, "antwort-kompakt.png", max_height=800, top=driver.execute_script(
        "return arguments[0].getBoundingClientRect().top + window.scrollY - 8", found[0]))
    top, bottom = found[0].rect["y"], found[-1].rect["y"] + found[-1].rect["height"]
    print(f"five compact results: {bottom - top:.0f} px at 1280 x 800")
    assert bottom - top <= 700, f"five results take {bottom - top:.0f} px of an 800 px screen"
    for card in found:
        assert card.find_element(By.CSS_SELECTOR, ".card-why").text.startswith("Passt zu:")
        assert not card.find_element(By.CSS_SELECTOR, ".card-full").is_displayed()
    full = open_details(driver, found[0])
    assert found[0].find_element(By.CSS_SELECTOR, ".card-summary").is_displayed()
    image = wait_for(driver, lambda d: full.find_elements(By.CSS_SELECTOR, "img.card-locator"), "no locator map")[0]
    wait_for(driver, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image),
             "the locator map did not load")
    assert image.get_attribute("alt").startswith("Lage auf der Deutschlandkarte: ")
    result = run_axe(driver)
    assert result["violations"] == [], result["violations"]
    screenshot(driver, "antwort-details.png")

    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": False})
    driver.get(service.url + "/")
    small = cards(ask(driver, QUESTION))
    wide = driver.execute_script("return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right "
                                 "> window.innerWidth + 1).map(e => e.tagName + '.' + e.className).slice(0, 8)")
    assert driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0, wide
    keep = small[0].find_element(By.CSS_SELECTOR, ".card-keep")
    assert keep.is_displayed() and keep.rect["x"] + keep.rect["width"] <= 320
    screenshot(driver, "antwort-320.png", max_height=1400, top=driver.execute_script(
        "return arguments[0].getBoundingClientRect().top + window.scrollY - 8", small[0]))


def test_the_same_inside_the_widget(driver: Any, service: Service) -> None:
    driver.get(service.allowed_origin + "/inline")
    frame = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#atlas-chat iframe"), "no inline chat")[0]
    driver.switch_to.frame(frame)
    wait_for(driver, lambda d: d.find_elements(By.ID, "message"), "inline chat did not render")
    found = cards(ask(driver, QUESTION))
    assert found and found[0].find_element(By.CSS_SELECTOR, ".card-why").text.startswith("Passt zu:")
    full = open_details(driver, found[0])
    image = wait_for(driver, lambda d: full.find_elements(By.CSS_SELECTOR, "img.card-locator"), "no locator map in the widget")[0]
    wait_for(driver, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image),
             "the locator map did not load in the widget")
    for card in found[:2]:
        card.find_element(By.CSS_SELECTOR, ".card-keep").click()
    driver.find_element(By.CSS_SELECTOR, "#fold-merkliste summary").click()
    compare = driver.find_element(By.ID, "merkliste-compare")
    wait_for(driver, lambda d: compare.is_displayed(), "no compare link in the widget's Merkliste")
    assert compare.get_attribute("target") == "_blank"
    compare_url = compare.get_attribute("href")
    driver.find_element(By.CSS_SELECTOR, "#fold-facets summary").click()
    map_link = driver.find_element(By.ID, "map-link")
    assert map_link.get_attribute("target") == "_blank" and map_link.get_attribute("pathname") == "/karte"
    map_url = map_link.get_attribute("href")
    result = run_axe(driver)
    assert result["violations"] == [], result["violations"]
    driver.switch_to.default_content()
    screenshot(driver, "widget-antwort.png")
    # what the widget's links open (in a new window): the comparison with its downloads, and the map
    driver.get(compare_url)
    assert len(driver.find_elements(By.CSS_SELECTOR, "table.compare thead th")) == 2
    for extension in ("md", "csv"):
        link = driver.find_element(By.CSS_SELECTOR, f"a[href^='/vergleich.{extension}']")
        assert httpx.get(link.get_attribute("href"), timeout=10).status_code == 200
    driver.get(map_url)
    assert markers(driver)
