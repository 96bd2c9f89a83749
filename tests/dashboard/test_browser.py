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
from sqlalchemy import create_engine, text

from tests.dashboard.browser import console_errors, login, settle, shot, viewport, wait_css, wait_text
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
    sparks = browser.find_elements(By.CSS_SELECTOR, "img.spark")
    assert len(sparks) == 5 and all(browser.execute_script("return arguments[0].naturalWidth", s) > 0 for s in sparks)
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
        viewport(driver, 1920, 1080)
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


def open_district_alert(stack: Any, browser: Any) -> int:
    """Log in as the duty officer on the district alert's page, drawn; returns its id."""
    aid = int(stack.alerts.district_alert_id)
    login(browser, stack.dash_url, next_path=f"/alerts/{aid}")
    wait_css(browser, ".timeline")
    settle(browser)
    return aid


def test_a_duty_officer_acknowledges_an_alert_and_sees_its_timeline_grow(dashboard_stack: Any, browser: Any,
                                                                          output_dir: Path) -> None:
    open_district_alert(dashboard_stack, browser)
    before = len(browser.find_elements(By.CSS_SELECTOR, ".timeline li"))
    ack = browser.find_element(By.CSS_SELECTOR, "button.btn.primary")
    assert ack.is_enabled()
    ack.click()
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".timeline li")) > before)
    assert "已确认" in browser.find_element(By.CSS_SELECTOR, ".timeline").text
    assert "市值班员 (t_duty)" in browser.find_element(By.CSS_SELECTOR, ".timeline").text  # who, by name
    assert not browser.find_element(By.CSS_SELECTOR, "button.btn.primary").is_enabled()
    shot(browser, output_dir, "alert-acknowledged-zh")
    assert console_errors(browser) == []


def test_a_duty_officer_silences_an_alerts_indicator_from_its_page(dashboard_stack: Any, browser: Any,
                                                                    output_dir: Path) -> None:
    """The 静默 button needs a reason, then creates a silence of this indicator on this entity
    (within its district) through the API, for the chosen hours."""
    aid = open_district_alert(dashboard_stack, browser)
    button = browser.find_element(By.CSS_SELECTOR, ".silence button.btn")
    assert button.is_enabled() and button.text == "静默"
    button.click()
    wait_text(browser, ".silence .action-message", "请在上方说明静默原因")
    browser.find_element(By.CSS_SELECTOR, ".actions textarea").send_keys("已电话核实：企业计划检修")
    button.click()
    wait_text(browser, ".silence .action-message", "已静默至")
    shot(browser, output_dir, "alert-silenced-zh", full=False)
    # The alert desk lists it, named, and cancels it.
    browser.get(f"{dashboard_stack.dash_url}/alerts")
    wait_css(browser, ".silences")
    settle(browser)
    listed = browser.find_element(By.CSS_SELECTOR, ".silences").text
    assert "静默（不发邮件）" in listed and "已电话核实：企业计划检修" in listed and "乌达区" in listed
    shot(browser, output_dir, "alerts-silences-zh")
    browser.find_element(By.CSS_SELECTOR, ".silences button.btn").click()
    wait_text(browser, ".silences", "已取消")
    engine = create_engine(dashboard_stack.database_url)
    with engine.connect() as c:
        row = c.execute(text(
            "SELECT s.kind, s.reason, s.indicator_code, s.entity_kind, s.entity_id, s.district_id, "
            "round(extract(epoch FROM s.ends_at - s.starts_at) / 3600) AS hours, "
            "a.indicator_code, a.entity_kind, a.entity_id, a.district_id, s.cancelled_at IS NOT NULL "
            "FROM alert_silence s, alert a WHERE a.id = :a ORDER BY s.id DESC LIMIT 1"), {"a": aid}).one()
        noted = c.execute(text("SELECT text FROM alert_event WHERE alert_id = :a AND kind = 'silenced'"),
                          {"a": aid}).scalars().all()
        c.execute(text("DELETE FROM alert_silence"))  # leave the shared stack as it was
        c.commit()
    engine.dispose()
    assert row[:2] == ("silence", "已电话核实：企业计划检修") and row[6] == 8
    assert row[2:6] == row[7:11] and row[11], "cancelled from the alert desk"
    assert len(noted) == 1 and noted[0].endswith("：已电话核实：企业计划检修")  # on the alert's timeline
    assert console_errors(browser) == []


def test_a_duty_officer_assigns_an_alert_to_a_department(dashboard_stack: Any, browser: Any,
                                                          output_dir: Path) -> None:
    aid = open_district_alert(dashboard_stack, browser)
    before = len(browser.find_elements(By.CSS_SELECTOR, ".timeline li"))
    assign = browser.find_element(By.XPATH, "//button[text()='指派']")
    close = browser.find_element(By.XPATH, "//button[text()='误报关闭（填写原因）']")
    assert assign.is_enabled() and close.is_enabled()
    assign.click()  # no department yet: a hint, nothing sent
    wait_text(browser, ".actions .action-message", "承办部门")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".timeline li")) == before
    browser.find_element(By.XPATH, "//input[starts-with(@placeholder, '承办部门')]").send_keys("市工信局运行科")
    assign.click()
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".timeline li")) > before)
    assert "已指派" in browser.find_element(By.CSS_SELECTOR, ".timeline").text
    assert "市工信局运行科" in browser.find_element(By.CSS_SELECTOR, ".timeline").text
    engine = create_engine(dashboard_stack.database_url)
    with engine.connect() as c:
        assert c.execute(text("SELECT department FROM alert WHERE id = :a"), {"a": aid}).scalar() == "市工信局运行科"
    engine.dispose()
    shot(browser, output_dir, "alert-assigned-zh", full=False)
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


def test_the_reporting_list_pages_and_filters_by_status_in_the_url(dashboard_stack: Any, browser: Any,
                                                                   output_dir: Path) -> None:
    login(browser, dashboard_stack.dash_url, next_path="/reporting")
    wait_css(browser, ".pager")
    settle(browser)
    held = browser.find_element(By.CSS_SELECTOR, ".panel.quarantine").text
    assert "隔离区" in held and "疑似单位错误，暂存待核" in held and "suspected" not in held and "M-1" in held
    assert "coal.raw_output · 9115" in held and "1e+09 t" in held
    rows = browser.find_elements(By.CSS_SELECTOR, ".panel.quarantine tbody tr")
    assert len(rows) == 2
    held_row = next(r for r in rows if "M-1" in r.text)
    bad_row = next(r for r in rows if "N/A" in r.text)
    assert len(bad_row.find_elements(By.TAG_NAME, "button")) == 1  # a malformed record can only be dismissed
    held_row.find_element(By.CSS_SELECTOR, "button.btn.primary").click()  # checked: store it as it stands
    WebDriverWait(browser, 20).until(lambda d: "已按原值入库" in held_row.text)
    bad_row.find_element(By.TAG_NAME, "button").click()
    WebDriverWait(browser, 20).until(lambda d: "已忽略" in bad_row.text)
    engine = create_engine(dashboard_stack.database_url)
    with engine.connect() as c:
        assert sorted(c.execute(text("SELECT status FROM ingest_quarantine")).scalars()) == ["dismissed", "resolved"]
        assert c.execute(text("SELECT count(*) FROM period_observation WHERE value = 1e9")).scalar() == 1
    engine.dispose()
    chips = browser.find_elements(By.CSS_SELECTOR, ".status-chip")
    assert [c.text.split()[0] for c in chips] == ["全部", "未报", "迟报", "待报", "已报"]
    total = int(chips[0].text.split()[1])
    assert total > 50, "the test registry should need two pages"
    rows = browser.find_elements(By.CSS_SELECTOR, ".completeness .grid tbody tr")
    assert len(rows) == 50
    assert browser.find_element(By.CSS_SELECTOR, ".pager-page").text == f"第 1 / {-(-total // 50)} 页"
    first_page = {r.find_element(By.TAG_NAME, "a").text for r in rows}
    browser.find_element(By.XPATH, "//a[contains(@class,'pager-link') and text()='下一页']").click()
    WebDriverWait(browser, 20).until(lambda d: "pg=2" in d.current_url)
    wait_text(browser, ".pager-page", "第 2 /")
    settle(browser)
    shot(browser, output_dir, "reporting-page2-zh")
    assert "pg=2" in browser.current_url  # the page stays in the URL once rendered
    second = browser.find_elements(By.CSS_SELECTOR, ".completeness .grid tbody tr")
    second_page = {r.find_element(By.TAG_NAME, "a").text for r in second}
    assert 0 < len(second) <= 50 and not first_page & second_page, (len(first_page), len(second_page),
                                                                     browser.current_url)
    # A status chip filters the list and starts again at page 1.
    chip = browser.find_elements(By.CSS_SELECTOR, ".status-chip")[1]
    missing = int(chip.text.split()[1])
    chip.click()
    WebDriverWait(browser, 20).until(lambda d: "rstatus=missing" in d.current_url and "pg=2" not in d.current_url)
    wait_text(browser, ".pager-shown", f"共 {missing} 家")
    settle(browser)
    statuses = {r.find_elements(By.TAG_NAME, "td")[1].text
                for r in browser.find_elements(By.CSS_SELECTOR, ".completeness .grid tbody tr")}
    assert statuses <= {"未报"}
    # The source panel is served by the API (no "not yet available" note).
    assert "暂未提供" not in browser.find_element(By.CSS_SELECTOR, ".content").text
    assert console_errors(browser) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_reads_on_the_wall_screen_in_both_languages(dashboard_stack: Any, output_dir: Path,
                                                               lang: str) -> None:
    """大屏 at 1920x1080: every page dark, without chrome or chart toolbars, no console errors;
    screenshots test-output/dashboard-wall-<page>-<lang>.png."""
    base = dashboard_stack.dash_url
    pages = {"overview": "/", "district": "/districts", "park": "/parks", "alerts": "/alerts",
             "reporting": "/reporting", "alert": f"/alerts/{dashboard_stack.alerts.enterprise_alert_id}",
             "enterprise": f"/enterprise/{dashboard_stack.data.dip_enterprise_id}"}
    driver = make_driver(1920, 1080)
    try:
        viewport(driver, 1920, 1080)
        login(driver, base)
        for name, path in pages.items():
            # The wall cycles pages every CYCLE_S seconds: shoot before it moves on (retry if it did).
            for _attempt in range(3):
                driver.get(f"{base}{path}?screen=big" + ("&lang=en" if lang == "en" else ""))
                wait_css(driver, ".page.big")
                settle(driver)
                shot(driver, output_dir, f"wall-{name}-{lang}", full=False)
                if driver.current_url.split("?")[0] == base + path:
                    break
            assert not driver.find_elements(By.CSS_SELECTOR, ".topbar"), name
            assert not [m for m in driver.find_elements(By.CSS_SELECTOR, ".modebar-container") if m.is_displayed()]
            title = driver.find_element(By.CSS_SELECTOR, ".big-title").text
            assert ("Yunjian" in title) == (lang == "en"), (name, title)
            assert console_errors(driver) == [], (name, lang)
    finally:
        quit_driver(driver)
