"""The dashboard as a duty officer uses it: headless Chromium, the real API and database.

Screenshots of every page land in test-output/ (dashboard-*.png)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.dashboard.browser import console_errors, login, settle, shot, wait_css, wait_text
from tests.dashboard.conftest import CYCLE_S, REFRESH_S, make_driver, quit_driver

pytestmark = pytest.mark.browser


def traces(browser: Any, graph: Any) -> list[tuple[str, list[Any]]]:
    """(name, x values) of each trace plotly drew in a dcc.Graph."""
    return [(n, x) for n, x in browser.execute_script(
        "return arguments[0].querySelector('.js-plotly-plot').data.map(t => [t.name || '', t.x || []])", graph)]


def test_overview_renders_city_figures_with_data_and_no_console_errors(dashboard_stack: Any, browser: Any,
                                                                        output_dir: Path) -> None:
    login(browser, dashboard_stack.dash_url)
    wait_css(browser, ".kpis .kpi")
    settle(browser)
    kpis = browser.find_elements(By.CSS_SELECTOR, ".kpi")
    assert [k.find_element(By.CSS_SELECTOR, ".kpi-family").text for k in kpis] == ["煤", "电", "油", "气", "运"]
    values = [k.find_element(By.CSS_SELECTOR, ".kpi-value").text for k in kpis]
    assert all(v and v != "—" for v in values), values
    assert any("万" in v or "亿" in v for v in values)
    growth = browser.find_elements(By.CSS_SELECTOR, ".kpi .growth")
    assert all(g.text.endswith("%") for g in growth) and len(growth) == 20
    assert len(browser.find_elements(By.CSS_SELECTOR, ".spark .main-svg")) >= 5
    assert len(browser.find_elements(By.CSS_SELECTOR, ".board .tile")) == 4
    shot(browser, output_dir, "overview-zh")
    assert console_errors(browser) == []


def test_overview_refreshes_itself_without_losing_the_selection(dashboard_stack: Any, browser: Any) -> None:
    login(browser, dashboard_stack.dash_url, next_path="/%3Fdistrict%3D150304")
    wait_css(browser, "#overview-updated")
    first = browser.find_element(By.ID, "overview-updated").text
    WebDriverWait(browser, REFRESH_S * 4).until(
        lambda d: d.find_element(By.ID, "overview-updated").text != first)
    assert "district=150304" in browser.current_url
    assert "乌达区" in browser.find_element(By.CSS_SELECTOR, ".title-row h2").text
    assert "乌达区" in browser.find_element(By.ID, "ctrl-district").text
    assert console_errors(browser) == []


def test_a_click_on_a_district_chart_drills_down_to_the_enterprise_that_explains_the_fall(
        dashboard_stack: Any, browser: Any, output_dir: Path) -> None:
    login(browser, dashboard_stack.dash_url, next_path="/districts%3Fdistrict%3D150304")
    wait_css(browser, ".trends .dash-graph")
    settle(browser)
    shot(browser, output_dir, "district-wuda-flags-zh")
    browser.set_window_size(1440, 900)
    power = [g for g in browser.find_elements(By.CSS_SELECTOR, ".trends .dash-graph")
             if "power.consumption" in (g.get_attribute("id") or "")][0]
    # the flags on the chart are exactly the district's alert: one orange marker on its start day
    flags = traces(browser, power)
    assert [(n, len(x)) for n, x in flags if n in ("红色", "橙色", "黄色", "蓝色")] == [("橙色", 1)]
    others = [g for g in browser.find_elements(By.CSS_SELECTOR, ".trends .dash-graph") if g != power]
    assert all(len(traces(browser, g)) == 1 for g in others)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", power)
    time.sleep(0.3)
    points = power.find_elements(By.CSS_SELECTOR, ".scatterlayer .trace:first-child .points path")
    ActionChains(browser).move_to_element(points[-4]).pause(0.3).click().perform()  # inside the dip
    WebDriverWait(browser, 20).until(lambda d: "/drilldown" in d.current_url)
    wait_css(browser, ".grid tbody tr")
    settle(browser)
    shot(browser, output_dir, "drilldown-zh")
    first_row = browser.find_element(By.CSS_SELECTOR, ".grid tbody tr")
    assert dashboard_stack.data.dip_enterprise_name in first_row.text
    assert "-" in first_row.find_elements(By.TAG_NAME, "td")[4].text  # negative contribution
    first_row.find_element(By.TAG_NAME, "a").click()
    WebDriverWait(browser, 20).until(lambda d: f"/enterprise/{dashboard_stack.data.dip_enterprise_id}" in d.current_url)
    wait_text(browser, ".title-row h2", dashboard_stack.data.dip_enterprise_name)
    settle(browser)
    assert browser.find_elements(By.CSS_SELECTOR, ".trends .main-svg")
    ent_power = [g for g in browser.find_elements(By.CSS_SELECTOR, ".trends .dash-graph")
                 if "工业用电量" in g.text][0]
    assert ("红色", 1) in [(n, len(x)) for n, x in traces(browser, ent_power)]
    shot(browser, output_dir, "enterprise-zh")
    assert console_errors(browser) == []


def test_every_page_renders_in_chinese_and_english_without_console_errors(dashboard_stack: Any, browser: Any,
                                                                           output_dir: Path) -> None:
    base = dashboard_stack.dash_url
    login(browser, base)
    pages = {"overview": "/", "district": "/districts", "park": "/parks", "alerts": "/alerts",
             "reporting": "/reporting", "alert": f"/alerts/{dashboard_stack.alerts.enterprise_alert_id}",
             "enterprise": f"/enterprise/{dashboard_stack.data.dip_enterprise_id}"}
    for lang in ("zh", "en"):
        for name, path in pages.items():
            browser.set_window_size(1440, 900)
            sep = "&" if "?" in path else "?"
            browser.get(base + path + (f"{sep}lang=en" if lang == "en" else ""))
            wait_css(browser, ".page .content")
            settle(browser)
            nav = browser.find_element(By.CSS_SELECTOR, ".nav").text
            assert ("Overview" in nav) == (lang == "en"), (name, lang)
            assert browser.find_elements(By.CSS_SELECTOR, ".content h2"), (name, lang)
            if name not in ("overview", "district", "enterprise") or lang == "zh":
                shot(browser, output_dir, f"{name}-{lang}")
            assert console_errors(browser) == [], (name, lang)


def test_the_wall_screen_is_dark_without_chrome_and_cycles_through_pages(dashboard_stack: Any,
                                                                        output_dir: Path) -> None:
    driver = make_driver(1920, 1080)
    try:
        login(driver, dashboard_stack.dash_url, next_path="/%3Fscreen%3Dbig")
        wait_css(driver, ".page.big .kpis")
        settle(driver)
        assert not driver.find_elements(By.CSS_SELECTOR, ".topbar")
        bg = driver.execute_script("return getComputedStyle(document.querySelector('.page.big')).backgroundColor")
        assert bg == "rgb(6, 18, 28)"
        shot(driver, output_dir, "bigscreen-overview", full=False)
        WebDriverWait(driver, CYCLE_S * 5).until(lambda d: d.current_url.split("?")[0].endswith("/districts"))
        assert "screen=big" in driver.current_url
        wait_css(driver, ".page.big .trends .main-svg")
        settle(driver)
        shot(driver, output_dir, "bigscreen-districts", full=False)
        assert console_errors(driver) == []
    finally:
        quit_driver(driver)


def test_a_duty_officer_acknowledges_an_alert_and_sees_its_timeline_grow(dashboard_stack: Any, browser: Any,
                                                                          output_dir: Path) -> None:
    aid = dashboard_stack.alerts.district_alert_id
    login(browser, dashboard_stack.dash_url, next_path=f"/alerts/{aid}")
    wait_css(browser, ".timeline")
    settle(browser)
    before = len(browser.find_elements(By.CSS_SELECTOR, ".timeline li"))
    ack = browser.find_element(By.CSS_SELECTOR, "button.btn.primary")
    assert ack.is_enabled()
    ack.click()
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".timeline li")) > before)
    assert "已确认" in browser.find_element(By.CSS_SELECTOR, ".timeline").text
    assert not browser.find_element(By.CSS_SELECTOR, "button.btn.primary").is_enabled()
    shot(browser, output_dir, "alert-acknowledged-zh")
    assert console_errors(browser) == []


def test_a_district_officer_sees_their_own_district(dashboard_stack: Any, browser: Any, output_dir: Path) -> None:
    login(browser, dashboard_stack.dash_url, username="t_wuda")
    wait_css(browser, ".kpis .kpi")
    settle(browser)
    assert "乌达区" in browser.find_element(By.CSS_SELECTOR, ".title-row h2").text
    values = [k.text for k in browser.find_elements(By.CSS_SELECTOR, ".kpi .kpi-value")]
    assert all(v and v != "—" for v in values), values
    browser.get(dashboard_stack.dash_url + "/districts?district=150302")  # asks for another district
    wait_css(browser, ".trends .dash-graph")
    settle(browser)
    assert "乌达区" in browser.find_element(By.CSS_SELECTOR, ".title-row h2").text
    assert "海勃湾区" not in browser.find_element(By.CSS_SELECTOR, ".content").text
    shot(browser, output_dir, "district-officer-zh")
    assert console_errors(browser) == []
