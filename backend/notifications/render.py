"""E-mail text: subject, plain text and HTML for alert, escalation, resolved and digest
messages, in Chinese (default) or English. Pure: a context dict in, strings out.

The context is the snapshot taken when the notification was written (see
`service.alert_context`), so a retried message says what was true when it was decided.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.alerts.escalation import POSITION_ZH
from backend.alerts.levels import LEVEL_HEX, LEVEL_ZH, Level
from backend.alerts.lifecycle import STATE_ZH, State
from backend.detection.detectors import CHECK_NAMES_EN, CHECK_NAMES_ZH, stamp
from backend.detection.rules import fmt

CHART_CID = "episode-chart"
POSITION_EN = {"duty_officer": "duty officer", "section_chief": "section chief", "bureau_leader": "bureau leader",
               "city_leader": "city government leader"}
STATE_EN = {s: s.value.replace("_", " ") for s in State}
KIND_ZH = {"alert": "预警", "escalation": "预警升级", "resolved": "预警办结"}
KIND_EN = {"alert": "alert", "escalation": "escalation", "resolved": "alert resolved"}


def _t(iso: str | None, tz: ZoneInfo) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _period(iso: str | None, tz: ZoneInfo, frequency: str | None, en: bool) -> str:
    """A data time as its period reads: 2026年10月 (Oct 2026) for a monthly figure, the day for a
    daily one, the minute otherwise (a monthly figure is stamped 00:00 on the 1st)."""
    if not iso:
        return "—"
    t = datetime.fromisoformat(iso).astimezone(tz)
    if frequency == "month":
        return stamp(t, monthly=True, en=en)
    if frequency == "day":
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%d %H:%M")


def _num(v: Any) -> str:
    return "—" if v is None else fmt(float(v))


def _place(c: dict[str, Any], en: bool) -> list[tuple[str, str]]:
    suffix = "_en" if en else "_zh"
    rows = []
    for key, zh, eng in (("district", "区", "District"), ("park", "园区", "Park"), ("enterprise", "企业", "Enterprise")):
        name = c.get(key + suffix)
        if name:
            rows.append((eng if en else zh, name))
    return rows


def _level(c: dict[str, Any]) -> Level:
    return Level.parse(c["level"])


def _missing_only(c: dict[str, Any]) -> bool:
    """The alert is about a report that did not arrive (no value to compare)."""
    return list(c.get("checks") or []) == ["missing"]


def _side(c: dict[str, Any]) -> int:
    """-1 below the expected band, +1 above it, 0 inside or unknown."""
    v, lo, hi = c.get("value"), c.get("lower"), c.get("upper")
    if v is None:
        return 0
    if lo is not None and float(v) < float(lo):
        return -1
    if hi is not None and float(v) > float(hi):
        return 1
    return 0


def _what_zh(c: dict[str, Any]) -> str:
    if _missing_only(c):
        return "未按时报送"
    return {-1: "异常偏低", 1: "异常偏高"}.get(_side(c), "异常")


def _what_en(c: dict[str, Any]) -> str:
    if _missing_only(c):
        return " not reported"
    return {-1: " below expected", 1: " above expected"}.get(_side(c), "")


def _deviation(c: dict[str, Any], en: bool) -> str | None:
    """How far the latest value is from the expected one, in per cent (None when not meaningful).

    A rate in per cent (a growth rate, 累计同比) differs in percentage points: a growth of
    -13.5 % against 5.6 % expected is 19.1 points below, not "-342 %"."""
    v, e = c.get("value"), c.get("expected")
    if v is None or e is None:
        return None
    if (c.get("unit_en") or c.get("unit_zh")) == "%":
        diff = float(v) - float(e)
        return f"{diff:+.1f} percentage points" if en else f"{diff:+.1f} 个百分点"
    if float(e) == 0:
        return None
    return f"{(float(v) - float(e)) / abs(float(e)) * 100:+.1f}%"


def subject(c: dict[str, Any], language: str) -> str:
    lvl = _level(c)
    en = language == "en"
    where = " · ".join(v for _, v in _place(c, en)) or ("Wuhai" if en else "乌海市")
    what = c.get("indicator_en" if en else "indicator_zh", "")
    kind = c.get("kind", "alert")
    if en:
        head = {"alert": f"[{lvl.name.upper()} alert]", "escalation": f"[Escalated · {lvl.name.upper()}]",
                "resolved": "[Resolved]"}[kind]
        return f"{head} {where}: {what}{_what_en(c)} (#{c['alert_id']})"
    head = {"alert": f"【{LEVEL_ZH[lvl]}预警】", "escalation": f"【预警升级·{LEVEL_ZH[lvl]}】", "resolved": "【预警办结】"}[kind]
    return f"{head}{where} {what}{_what_zh(c)}（#{c['alert_id']}）"


def _facts(c: dict[str, Any], language: str, tz: ZoneInfo) -> list[tuple[str, str]]:
    en = language == "en"
    lvl = _level(c)
    state = State(c["state"])
    checks = c.get("checks") or []
    names = CHECK_NAMES_EN if en else CHECK_NAMES_ZH
    fired = (", " if en else "、").join(names.get(x, x) for x in checks) or "—"
    unit = c.get("unit_en" if en else "unit_zh", "")
    rows: list[tuple[str, str]] = [
        ("Level" if en else "预警级别", lvl.name.upper() if en else LEVEL_ZH[lvl]),
        ("Status" if en else "处置状态", STATE_EN[state] if en else STATE_ZH[state]),
        *_place(c, en),
        ("Indicator" if en else "指标", c.get("indicator_en" if en else "indicator_zh", "")),
    ]
    if c.get("value") is not None:
        when = _period(c["last_point_at"], tz, c.get("frequency"), en) if c.get("last_point_at") else ""
        at = (f" ({when})" if en else f"（{when}）") if when else ""
        rows.append(("Latest value" if en else "最新值", f"{_num(c.get('value'))} {unit}".strip() + at))
    if c.get("expected") is not None:
        lo_hi = f"{_num(c.get('lower'))} – {_num(c.get('upper'))}"
        band = ((f" ({lo_hi})" if en else f"（{lo_hi}）")
                if c.get("lower") is not None and c.get("upper") is not None else "")
        rows.append(("Expected (band)" if en else "预期值（区间）", f"{_num(c.get('expected'))} {unit}".strip() + band))
    deviation = _deviation(c, en)
    if deviation:
        rows.append(("Off expected by" if en else "偏离预期", deviation))
    if _missing_only(c) and c.get("last_point_at"):
        rows.append(("Last report" if en else "最近一次报送", _t(c["last_point_at"], tz)))
    rows += [
        ("What fired" if en else "触发检查", fired),
        ("Since" if en else "异常开始", _period(c.get("episode_started_at"), tz, c.get("frequency"), en)),
        ("Raised" if en else "预警时间", _t(c.get("opened_at"), tz)),
        ("Handle by" if en else "办结时限", _t(c.get("due_at"), tz)),
    ]
    if c.get("members"):
        label = "Enterprises" if en else "涉及企业"
        rows.append((label, ("; " if en else "；").join(
            f"{m['name_en' if en else 'name_zh']} ({m['level'] if en else LEVEL_ZH[Level.parse(m['level'])]})"
            for m in c["members"])))
    if c.get("kind") == "escalation":
        targets = c.get("targets") or []
        rows.append(("Escalated to" if en else "升级至", (", " if en else "、").join(
            (POSITION_EN if en else POSITION_ZH).get(t, t) for t in targets)))
        if c.get("reason"):
            rows.append(("Why" if en else "升级原因", c["reason"]))
        if c.get("actor_zh"):
            rows.append(("Escalated by" if en else "升级人", c["actor_en" if en else "actor_zh"]))
    if c.get("kind") == "resolved":
        if c.get("countermeasures"):
            rows.append(("Countermeasures" if en else "对策建议", c["countermeasures"]))
        if c.get("close_reason"):
            rows.append(("Closed as false alarm" if en else "误报说明", c["close_reason"]))
        rows.append(("Closed at" if en else "办结时间", _t(c.get("resolved_at"), tz)))
        if c.get("actor_zh"):
            rows.append(("Closed by" if en else "办结人", c["actor_en" if en else "actor_zh"]))
    return rows


def _intro(c: dict[str, Any], language: str) -> str:
    en = language == "en"
    kind = c.get("kind", "alert")
    if kind == "resolved":
        return "This alert has been closed." if en else "该预警已办结。"
    if kind == "escalation":
        return ("This alert has been escalated to you and needs your attention." if en
                else "该预警已升级至您，请关注并督办。")
    return "A warning needs your attention." if en else "监测发现以下异常，请及时处置。"


def render_alert(c: dict[str, Any], language: str, tz: ZoneInfo, has_chart: bool, stopped: bool = False
                 ) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of an alert, escalation or resolved message."""
    en = language == "en"
    subj = subject(c, language)
    facts = _facts(c, language, tz)
    explanation = c.get("explanation_en" if en else "explanation_zh") or ""
    link = c.get("link", "")
    other = c.get("explanation_zh" if en else "explanation_en") or ""
    lines = [_intro(c, language), ""]
    sep = ": " if en else "："
    lines += [f"{k}{sep}{v}" for k, v in facts]
    lines += ["", ("Explanation: " if en else "说明：") + explanation, "",
              ("Open in Yunjian: " if en else "在运监系统中查看：") + link]
    if other:
        lines += ["", ("中文说明：" if en else "English: ") + other]
    text = "\n".join(lines) + "\n"
    colour = LEVEL_HEX[_level(c)] if c.get("kind") != "resolved" else "#2e7d32"
    rows = "".join(
        f'<tr><th style="text-align:left;padding:4px 12px 4px 0;color:#555;font-weight:normal;white-space:nowrap;'
        f'vertical-align:top">{html.escape(k)}</th><td style="padding:4px 0">{html.escape(v)}</td></tr>'
        for k, v in facts)
    chart = ""
    if has_chart:
        if stopped:
            caption = ("Black: the last reports; coloured area: no report since; dotted line: the episode's start "
                       "(when the next report was due)." if en else
                       "黑线：最近的报送值；彩色区域：此后未报送；点线：异常开始（下一次应报送的时间）。")
        else:
            caption = ("Black: actual; dashed blue: expected; shaded blue: expected band; coloured area: the episode."
                       if en else "黑线：实际值；蓝色虚线：预期值；浅蓝色带：预期区间；彩色区域：异常时段。")
        chart = (f'<p style="margin:16px 0 4px"><img src="cid:{CHART_CID}" alt="chart" width="720" '
                 f'style="max-width:100%;border:1px solid #eee"></p>'
                 f'<p style="margin:0;color:#777;font-size:12px">{html.escape(caption)}</p>')
    button = "Open the alert in Yunjian" if en else "在运监系统中查看并处置"
    other_html = (f'<p style="color:#777;font-size:12px;margin-top:16px">{"中文" if en else "English"}: '
                  f'{html.escape(other)}</p>') if other else ""
    page = f"""<!DOCTYPE html>
<html lang="{'en' if en else 'zh-CN'}"><head><meta charset="utf-8"><title>{html.escape(subj)}</title></head>
<body style="margin:0;padding:0;background:#f5f5f5;font-family:'PingFang SC','Microsoft YaHei',Arial,sans-serif;color:#222">
<div style="max-width:760px;margin:0 auto;background:#fff">
<div style="background:{colour};color:#fff;padding:14px 20px;font-size:18px;font-weight:bold">{html.escape(subj)}</div>
<div style="padding:16px 20px">
<p style="margin:0 0 12px">{html.escape(_intro(c, language))}</p>
<table style="border-collapse:collapse;font-size:14px">{rows}</table>
<p style="margin:14px 0 0;font-size:14px"><b>{'Explanation:' if en else '说明：'}</b> {html.escape(explanation)}</p>
{chart}
<p style="margin:20px 0"><a href="{html.escape(link)}" style="background:{colour};color:#fff;padding:10px 18px;
text-decoration:none;border-radius:4px;display:inline-block">{button}</a></p>
<p style="font-size:12px;color:#777">{html.escape(link)}</p>
{other_html}
<p style="font-size:12px;color:#999;border-top:1px solid #eee;padding-top:8px">{'Yunjian — Wuhai industrial-economy operation monitoring and dispatch' if en else '乌海市工业经济运行监测调度系统（运监）'}</p>
</div></div></body></html>
"""
    return subj, text, page


DIGEST_MAX_ITEMS = 30  # items listed one by one in a digest; the rest are counted, with a link


def _digest_item_text(it: dict[str, Any], en: bool, tz: ZoneInfo) -> tuple[str, str, str, str]:
    """(level, place and title, what fired, state) of one digest item."""
    lvl = Level.parse(it["level"])
    place = it.get("district_en" if en else "district_zh")
    title = it["title_en" if en else "title_zh"]
    fired = (", " if en else "、").join((CHECK_NAMES_EN if en else CHECK_NAMES_ZH).get(x, x)
                                       for x in it.get("checks") or [])
    return (lvl.name.upper() if en else LEVEL_ZH[lvl], f"{place} · {title}" if place else title, fired,
            STATE_EN[State(it["state"])] if en else STATE_ZH[State(it["state"])])


def render_digest(c: dict[str, Any], language: str, tz: ZoneInfo) -> tuple[str, str, str]:
    """The leaders' daily digest: open alerts by district × colour × handling status, overdue first.

    The table counts every open alert; the list shows the first ``DIGEST_MAX_ITEMS`` (overdue
    and most severe first) and says how many more there are, with a link to the alert list.
    """
    en = language == "en"
    day = c["date"]
    subj = f"[Yunjian] Daily alert digest {day}" if en else f"【运监】每日预警汇总 {day}"
    levels = [lvl for lvl in sorted(Level, reverse=True)]
    states = [State.open, State.acknowledged, State.escalated]
    districts: list[str] = c["districts"]
    counts: dict[str, int] = c["counts"]  # "district|level|state" -> n
    sep = ": " if en else "："
    list_link = c.get("list_link", "")

    def n(d: str, lvl: Level, s: State) -> int:
        return int(counts.get(f"{d}|{lvl.name}|{s.value}", 0))

    def total(lvl: Level, s: State) -> int:
        return sum(n(d, lvl, s) for d in districts)

    head_level = [(lvl.name.upper() if en else LEVEL_ZH[lvl]) for lvl in levels]
    head_state = [(STATE_EN[s] if en else STATE_ZH[s]) for s in states]
    all_items: list[dict[str, Any]] = c["items"]
    shown, hidden = all_items[:DIGEST_MAX_ITEMS], len(all_items) - min(len(all_items), DIGEST_MAX_ITEMS)
    summary = (f"Open alerts on {day}: {c['total']}, of which overdue: {c['overdue']}." if en
               else f"截至 {day}，未办结预警 {c['total']} 条，其中超时 {c['overdue']} 条。")
    lines = [summary, ""]
    for d in districts:
        parts = []
        for lvl, hl in zip(levels, head_level, strict=True):
            found = [f"{hs} {n(d, lvl, s)}" for s, hs in zip(states, head_state, strict=True) if n(d, lvl, s)]
            if found:
                parts.append(hl + sep + ", ".join(found))
        lines.append(d + sep + ("; " if en else "；").join(parts) if parts else d + sep + ("none" if en else "无"))
    lines.append("")
    lines.append("Items (overdue first):" if en else "明细（超时优先）：")
    if not shown:
        lines.append("- none: no alert is open." if en else "- 无：当前没有未办结的预警。")
    for it in shown:
        flag = ("OVERDUE " if en else "【超时】") if it["overdue"] else ""
        lvl_s, what, fired, state_s = _digest_item_text(it, en, tz)
        fired_s = (f" ({fired})" if en else f"（{fired}）") if fired else ""
        lines.append(f"- {flag}#{it['id']} {lvl_s} {what}{fired_s} · {state_s} · "
                     f"{'due' if en else '时限'} {_t(it.get('due_at'), tz)} · {it['link']}")
    more = ""
    if hidden:
        more = (f"{hidden} more not listed: see them all in Yunjian" if en
                else f"另有 {hidden} 条未列出，请在运监系统中查看全部")
        lines.append(more + (sep + list_link if list_link else ("." if en else "。")))
    elif list_link:
        lines.append(("All alerts in Yunjian" if en else "在运监系统中查看全部预警") + sep + list_link)
    text = "\n".join(lines) + "\n"
    th = 'style="border:1px solid #ddd;padding:4px 8px;background:#fafafa;font-weight:normal"'
    td = 'style="border:1px solid #ddd;padding:4px 8px;text-align:center"'
    header = "".join(f'<th colspan="{len(states)}" style="border:1px solid #ddd;padding:4px 8px;'
                     f'color:#fff;background:{LEVEL_HEX[lvl]}">{html.escape(h)}</th>'
                     for lvl, h in zip(levels, head_level, strict=True))
    sub = "".join(f"<th {th}>{html.escape(h)}</th>" for _ in levels for h in head_state)
    body_rows = ""
    for d in districts:
        cells = "".join(f"<td {td}>{n(d, lvl, s) or ''}</td>" for lvl in levels for s in states)
        body_rows += f"<tr><th {th}>{html.escape(d)}</th>{cells}</tr>"
    if len(districts) > 1:
        cells = "".join(f"<td {td}><b>{total(lvl, s) or ''}</b></td>" for lvl in levels for s in states)
        body_rows += f"<tr><th {th}><b>{'Total' if en else '合计'}</b></th>{cells}</tr>"
    items = ""
    for it in shown:
        lvl = Level.parse(it["level"])
        flag = (f'<b style="color:#d0021b">{"OVERDUE" if en else "超时"}</b> ') if it["overdue"] else ""
        lvl_s, what, fired, state_s = _digest_item_text(it, en, tz)
        fired_s = (f" ({fired})" if en else f"（{fired}）") if fired else ""
        items += (f'<li style="margin:4px 0">{flag}<span style="color:{LEVEL_HEX[lvl]};font-weight:bold">'
                  f'{html.escape(lvl_s)}</span> '
                  f'<a href="{html.escape(it["link"])}">#{it["id"]} {html.escape(what)}</a>{html.escape(fired_s)}'
                  f' · {html.escape(state_s)} · {"due" if en else "时限"} {_t(it.get("due_at"), tz)}</li>')
    if not shown:
        items = f'<li style="margin:4px 0">{"None: no alert is open." if en else "无：当前没有未办结的预警。"}</li>'
    footer = ""
    if list_link:
        label = more or ("All alerts in Yunjian" if en else "在运监系统中查看全部预警")
        footer = f'<p><a href="{html.escape(list_link)}">{html.escape(label)}</a></p>'
    elif more:
        footer = f"<p>{html.escape(more)}</p>"
    page = f"""<!DOCTYPE html>
<html lang="{'en' if en else 'zh-CN'}"><head><meta charset="utf-8"><title>{html.escape(subj)}</title></head>
<body style="font-family:'PingFang SC','Microsoft YaHei',Arial,sans-serif;color:#222">
<h2 style="margin:0 0 8px">{html.escape(subj)}</h2>
<p>{html.escape(summary)}</p>
<table style="border-collapse:collapse;font-size:13px"><tr><th {th} rowspan="2">{'District' if en else '区'}</th>{header}</tr>
<tr>{sub}</tr>{body_rows}</table>
<h3>{'Items (overdue first)' if en else '明细（超时优先）'}</h3><ul style="padding-left:18px">{items}</ul>
{footer}
<p style="font-size:12px;color:#999;border-top:1px solid #eee;padding-top:8px">{'Yunjian — Wuhai industrial-economy operation monitoring and dispatch' if en else '乌海市工业经济运行监测调度系统（运监）'}</p>
</body></html>
"""
    return subj, text, page
