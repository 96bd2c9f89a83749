"""Number, growth and time formats; the URL state; controls → URL; pure page helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dashboard import format as fmt
from dashboard import i18n
from dashboard.alerting import event_label, fact_rows, silence_body, state_text
from dashboard.app import controls_href
from dashboard.client import Alert, AlertDetail, AlertEvent
from dashboard.permissions import allowed_actions
from dashboard.state import ViewState, safe_next
from dashboard.theme import worst_level


@pytest.mark.parametrize(("value", "lang", "expected"), [
    (123_456_789.0, "zh", "1.23亿"), (45_678.0, "zh", "4.57万"), (17_680_000.0, "zh", "1,768万"),
    (9_999.0, "zh", "9,999"), (12.345, "zh", "12.35"), (0.0, "zh", "0"), (-45_678.0, "zh", "-4.57万"),
    (123_456_789.0, "en", "123.5M"), (2_500.0, "en", "2.50k"), (None, "zh", "—"), (float("nan"), "en", "—"),
])
def test_numbers_use_wan_and_yi_in_chinese_and_k_m_in_english(value: float | None, lang: str, expected: str) -> None:
    assert fmt.number(value, lang) == expected


def test_a_unit_follows_the_scaled_number() -> None:
    assert fmt.number(51_800_000.0, "zh", "千瓦时") == "5,180万千瓦时"
    assert fmt.number(518_000_000.0, "zh", "千瓦时") == "5.18亿千瓦时"
    assert fmt.number(19_020_000.0, "en", "kWh") == "19.02M kWh" and fmt.number(703.0, "en", "rail cars") == "703 rail cars"


@pytest.mark.parametrize(("pct", "expected"), [(3.24, "+3.2%"), (-0.45, "-0.5%"), (0.04, "0.0%"), (-0.04, "0.0%"),
                                               (None, "—"), (120.0, "+120.0%")])
def test_growth_is_signed_with_one_decimal(pct: float | None, expected: str) -> None:
    assert fmt.growth(pct) == expected


def test_growth_colour_follows_the_indicators_good_direction() -> None:
    assert fmt.growth_class(2.0, "up") == "good"
    assert fmt.growth_class(2.0, "down") == "bad"
    assert fmt.growth_class(-2.0, "down") == "good"
    assert fmt.growth_class(0.01, "up") == "flat"


def test_times_are_shown_in_shanghai_time() -> None:
    assert fmt.local_time(datetime(2025, 1, 31, 16, 30, tzinfo=UTC)) == "2025-02-01 00:30"
    with pytest.raises(ValueError):
        fmt.local_time(datetime(2025, 1, 31, 16, 30))


def test_durations_read_naturally() -> None:
    assert fmt.duration(45, "zh") == "45秒"
    assert fmt.duration(600, "en") == "10 min"
    assert fmt.duration(7200, "zh") == "2小时"
    assert fmt.duration(1.5 * 86400, "en") == "1.5 d"


def test_view_state_round_trips_through_the_query_string_keeping_only_non_defaults() -> None:
    s = ViewState(lang="en", range="custom", start="2025-01-01", end="2025-03-31", gran="week", district="150304",
                  compare="150302,150304")
    q = s.to_query()
    assert q.startswith("?") and "gran=week" in q and "screen" not in q
    assert ViewState.from_search(q) == s
    assert ViewState().to_query() == ""


def test_view_state_falls_back_on_invalid_values() -> None:
    s = ViewState.from_query({"lang": "fr", "range": "5y", "gran": "minute", "unknown": "x"})
    assert (s.lang, s.range, s.gran) == ("zh", "90d", "day")
    bad_custom = ViewState.from_query({"range": "custom", "start": "2025-05-01", "end": "2025-01-01"})
    assert bad_custom.range == "90d"


def test_relative_and_absolute_ranges() -> None:
    today = date(2025, 3, 10)
    assert ViewState(range="7d").span(today) == (date(2025, 3, 4), today)
    assert ViewState(range="ytd").span(today) == (date(2025, 1, 1), today)
    assert ViewState(range="custom", start="2024-12-01", end="2024-12-31").span(today) == \
        (date(2024, 12, 1), date(2024, 12, 31))


def test_controls_write_their_values_into_the_url_and_keep_the_rest() -> None:
    href = controls_href("/districts", "?lang=en&screen=big", rng="30d", start=None, end=None, gran="month",
                         district="150304", park=None, industry="coking", indicator=None, compare=None)
    assert href is not None
    s = ViewState.from_search(href.split("?", 1)[1])
    assert (s.lang, s.screen, s.range, s.gran, s.district, s.industry) == ("en", "big", "30d", "month", "150304",
                                                                         "coking")
    unchanged = controls_href("/", "?range=30d", rng="30d", start=None, end=None, gran="day", district="", park="",
                              industry="", indicator="", compare=[])
    assert unchanged is None


def test_picking_dates_switches_to_an_absolute_range() -> None:
    from dashboard import ids

    href = controls_href("/", "", rng="90d", start="2025-01-01T00:00:00", end="2025-02-01", gran="day", district="",
                         park="", industry="", indicator="", compare=[], triggered=ids.CTRL_START_END)
    assert href == "/?range=custom&start=2025-01-01&end=2025-02-01"


def test_login_only_redirects_within_the_dashboard() -> None:
    assert safe_next("/districts?lang=en") == "/districts?lang=en"
    assert safe_next("https://evil.example/") == "/"
    assert safe_next("//evil.example/") == "/"


def test_alert_actions_follow_the_permissions_the_api_reports_and_the_state() -> None:
    handler = ["alert.read", "alert.acknowledge", "alert.escalate", "alert.resolve", "alert.close", "alert.assign",
               "alert.comment"]
    assert allowed_actions(handler, "open") == {"acknowledge", "escalate", "resolve", "close", "assign", "comment"}
    assert allowed_actions(handler, "acknowledged") == {"escalate", "resolve", "close", "assign", "comment"}
    assert allowed_actions(handler, "resolved") == {"comment"}
    assert allowed_actions(handler, "false_alarm") == {"comment"}
    assert allowed_actions(["alert.read", "alert.comment", "alert.manage_rules"], "open") == {"comment"}
    assert allowed_actions(["read"], "open") == frozenset()
    # Permission names of another kind never unlock an action.
    assert allowed_actions(["handle_alerts", "acknowledge"], "open") == frozenset()


def test_an_alert_is_named_as_the_api_names_it_in_the_readers_language() -> None:
    from datetime import UTC, datetime

    from dashboard.alerting import entity_name
    from dashboard.client import Alert

    a = Alert(id=1, level="red", state="open", indicator_code="power.consumption", entity_kind="enterprise",
              entity_id=7, entity_name_zh="乌海市某焦化有限公司", entity_name_en=None, opened_at=datetime.now(UTC))
    assert entity_name(a, "zh") == "乌海市某焦化有限公司" and entity_name(a, "en") == "乌海市某焦化有限公司"
    d = a.model_copy(update={"entity_kind": "district", "entity_name_zh": "乌达区", "entity_name_en": "Wuda District"})
    assert entity_name(d, "en") == "Wuda District" and entity_name(d, "zh") == "乌达区"
    assert entity_name(a.model_copy(update={"entity_name_zh": None}), "zh") == "#7"


def test_worst_level_orders_red_orange_yellow_blue() -> None:
    assert worst_level(["blue", "orange", "yellow"]) == "orange"
    assert worst_level([]) == "none"


def test_every_interface_text_has_chinese_and_english() -> None:
    for key, (zh, en) in i18n.TEXT.items():
        assert zh and en, key
    assert i18n.t("nav.alerts") == "预警处置" and i18n.t("nav.alerts", "en") == "Alert desk"


def test_paginate_clamps_the_page_and_slices_the_list() -> None:
    from dashboard.state import paginate

    assert paginate(120, "1", 50) == paginate(120, 1, 50)
    sl = paginate(120, "3", 50)
    assert (sl.page, sl.pages, sl.start, sl.stop) == (3, 3, 100, 120)
    assert paginate(120, "9", 50).page == 3 and paginate(120, "x", 50).page == 1 and paginate(120, "-2", 50).page == 1
    empty = paginate(0, "1", 50)
    assert (empty.page, empty.pages, empty.start, empty.stop) == (1, 1, 0, 0)


def test_the_reporting_list_puts_missing_then_late_first_and_filters_by_status() -> None:
    from datetime import UTC, datetime

    from dashboard.client import Completeness, CompletenessRow
    from dashboard.completeness import ordered

    rows = [CompletenessRow(enterprise_id=i, name_zh=n, status=s)
            for i, (n, s) in enumerate([("甲", "reported"), ("乙", "missing"), ("丙", "late"), ("丁", "missing")])]
    c = Completeness(period="2026-10", due_at=datetime(2026, 11, 10, tzinfo=UTC), enterprises=rows)
    assert [e.status for e in ordered(c)] == ["missing", "missing", "late", "reported"]
    assert {e.name_zh for e in ordered(c, "missing")} == {"乙", "丁"}
    assert ordered(c, "pending") == []


def test_the_alert_timeline_speaks_the_readers_language_and_says_whom_the_system_notified() -> None:
    at = datetime(2026, 11, 28, tzinfo=UTC)
    notified = AlertEvent(at=at, kind="notified", actor="system",
                          detail={"targets": ["duty_officer", "section_chief"]})
    assert event_label(notified, "zh") == "已通知：值班员、科长"
    assert event_label(notified, "en") == "Notified: Duty officer, Section chief"
    assert event_label(AlertEvent(at=at, kind="acknowledged", to_state="acknowledged"), "zh") == "已确认"
    assert event_label(AlertEvent(at=at, kind="signal_ended"), "zh") == "数据恢复"
    assert event_label(AlertEvent(at=at, kind="something_new"), "zh") == "something_new"  # shown plainly, not a key


def test_a_silent_meters_alert_shows_its_last_report_instead_of_empty_value_rows() -> None:
    at = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    base = {"id": 2, "level": "orange", "state": "open", "indicator_code": "power.generation",
            "entity_kind": "enterprise", "entity_id": 1, "opened_at": at, "episode_started_at": at}
    silent = AlertDetail.model_validate({**base, "report_gap": {"since": at, "until": at}})
    text = " ".join(f"{k} {v}" for k, v in fact_rows(silent, "zh", "千瓦时"))
    assert "最近一次报送" in text and "2026-11-26 09:00" in text and "数值" not in text and "预期区间" not in text
    scored = AlertDetail.model_validate({**base, "value": 5.0, "lower": 8.0, "upper": 12.0, "expected": 10.0})
    text = " ".join(f"{k} {v}" for k, v in fact_rows(scored, "zh", "千瓦时"))
    assert "数值" in text and "预期区间" in text and "最近一次报送" not in text


def test_a_silence_from_an_alert_matches_its_indicator_entity_and_district_for_the_chosen_hours() -> None:
    at = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    a = Alert.model_validate({"id": 7, "level": "red", "state": "open", "indicator_code": "power.consumption",
                              "entity_kind": "enterprise", "entity_id": 41, "district_id": 3, "opened_at": at,
                              "episode_started_at": at})
    body = silence_body(a, "maintenance", 24, "计划检修", at)
    assert body == {"kind": "maintenance", "starts_at": "2026-11-28T10:00:00+00:00",
                    "ends_at": "2026-11-29T10:00:00+00:00", "reason": "计划检修", "indicator_code": "power.consumption",
                    "entity_kind": "enterprise", "entity_id": 41, "district_id": 3, "alert_id": 7}
    with pytest.raises(ValueError):
        silence_body(a, "mute", 2, "x", at)


def test_a_silenced_alert_says_so_on_its_page_and_in_the_list() -> None:
    at = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    base = {"id": 9, "level": "red", "state": "open", "indicator_code": "power.consumption",
            "entity_kind": "enterprise", "entity_id": 1, "opened_at": at, "episode_started_at": at}
    silenced = AlertDetail.model_validate({**base, "silenced_until": at})
    assert ("静默中（不发邮件）至", "2026-11-28 10:00") in fact_rows(silenced, "zh", "")
    assert state_text(silenced, "zh") == "待处置 · 静默中" and state_text(silenced, "en") == "Open · silenced"
    assert state_text(Alert.model_validate(base), "zh") == "待处置"


def test_closing_as_a_false_alarm_and_assigning_send_what_the_api_expects() -> None:
    from dashboard.alerting import action_body

    assert action_body("close", "表计故障，数据已更正", "") == {"reason": "表计故障，数据已更正"}
    assert action_body("assign", "", "市工信局运行科") == {"department": "市工信局运行科"}
    assert action_body("escalate", "停产", "bureau_leader") == {"targets": ["bureau_leader"], "reason": "停产"}
