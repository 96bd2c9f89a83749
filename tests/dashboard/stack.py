"""A real stack for browser tests and the benchmark: demo observations written through the
observations write path, users, and the API and dashboard as subprocesses on free ports."""

from __future__ import annotations

import math
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from backend.config import PROJECT_ROOT
from backend.db import make_engine, make_session_factory, transaction
from backend.observations.repository import ObservationRow, ensure_series, write_observations

TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = "duty-pass-2024"
# indicator → (table, industries that report it (None: all), daily base value per enterprise)
INDICATORS = {
    "power.consumption": ("observation", None, 120_000.0),
    "coal.raw_output": ("period_observation", {"coal_mining", "coal_washing"}, 9_000.0),
    "coal.rail_in": ("period_observation", {"coking", "chlor_alkali", "carbide"}, 2_500.0),  # parks' coal
    "oil.refined_sales": ("period_observation", {"coking", "chlor_alkali", "carbide", "ferro_alloy", "other"}, 40.0),
    "gas.consumption": ("observation", {"coking", "chlor_alkali", "fine_chemicals", "carbide"}, 30_000.0),
    "rail.loading_cars": ("period_observation", {"coal_mining", "coal_washing", "coking"}, 12.0),
}
DIP_DISTRICT = "150304"  # 乌达区: its largest power user's output falls in the last 10 days


@dataclass(frozen=True)
class Dataset:
    days: int
    dip_enterprise_id: int
    dip_enterprise_name: str
    written: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HELD_REASON = "疑似单位错误，暂存待核：1e+09 kWh 超过该序列常见最大值的 200 倍 / suspected unit mix-up, held for review"


def write_quarantine(database_url: str) -> None:
    """Two rows held for review, as the ingest store keeps them: a value held as a suspected
    unit mix-up (with what a resubmission needs) and a malformed record (only dismissable)."""
    from backend.ingestion.batch import RejectedRow
    from backend.ingestion.service import quarantine

    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as s:
        uscc = s.execute(text("SELECT uscc FROM enterprise ORDER BY id LIMIT 1")).scalar_one()
        day = datetime.combine(datetime.now(TZ).date() - timedelta(days=3), datetime.min.time(), TZ)
        held = {"series_id": 1, "indicator": "coal.raw_output", "entity_kind": "enterprise", "entity_code": uscc,
                "time": day.isoformat(), "value": 1e9, "unit": "t", "record": {"meter": "M-1"}}
        quarantine(s, source="coal_production", batch_id="t", now=datetime.now(TZ),
                   rows=[RejectedRow(held, HELD_REASON),
                         RejectedRow({"qty": "N/A"}, "数值无法解析 / value is not a number: 'N/A'")])
    engine.dispose()


def seed_users(database_url: str) -> None:
    from backend.auth.rules import Role
    from backend.auth.service import ensure_user

    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as s:
        wuda = s.execute(text("SELECT id FROM district WHERE code = :c"), {"c": DIP_DISTRICT}).scalar_one()
        ensure_user(s, username="t_duty", display_name="市值班员", password=PASSWORD, role=Role.duty_officer)
        ensure_user(s, username="t_leader", display_name="市领导", password=PASSWORD, role=Role.leader)
        ensure_user(s, username="t_wuda", display_name="乌达区值班员", password=PASSWORD,
                    role=Role.duty_officer, district_id=wuda)
    engine.dispose()


def write_dataset(database_url: str, days: int = 400, seed: int = 7) -> Dataset:
    """Daily values per enterprise for the five headline indicators, `days` back to today
    (local), with weekly and yearly seasonality, a 4% annual trend and noise; in 乌达区 the
    largest power user drops by 60% over the last 10 days."""
    rnd = random.Random(seed)
    engine = make_engine(database_url)
    today = datetime.now(TZ).date()
    first = today - timedelta(days=days - 1)
    with transaction(make_session_factory(engine)) as s:
        ents = s.execute(text(
            "SELECT e.id, e.name_zh, v.industry_group, d.code FROM enterprise e "
            "JOIN enterprise_version v ON v.enterprise_id = e.id AND v.valid_to IS NULL "
            "JOIN district d ON d.id = v.district_id ORDER BY e.id")).all()
        sizes = {eid: rnd.lognormvariate(0, 0.6) for eid, *_ in ents}
        wuda = [(eid, name) for eid, name, _g, code in ents if code == DIP_DISTRICT]
        dip_id, dip_name = max(wuda, key=lambda e: sizes[e[0]])
        keys = [(ind, "enterprise", eid) for ind, (_t, groups, _b) in INDICATORS.items()
                for eid, _n, group, _c in ents if groups is None or group in groups]
        sids = ensure_series(s, keys)
        rows: dict[str, list[ObservationRow]] = {"observation": [], "period_observation": []}
        for ind, kind, eid in keys:
            table, _groups, base = INDICATORS[ind]
            scale = base * sizes[eid]
            for k in range(days):
                d = first + timedelta(days=k)
                season = 1 + 0.08 * math.sin(2 * math.pi * d.timetuple().tm_yday / 365.25)
                week = 0.93 if d.weekday() >= 5 else 1.0
                trend = 1 + 0.04 * (k - days) / 365
                v = scale * season * week * trend * rnd.gauss(1, 0.03)
                if eid == dip_id and ind == "power.consumption" and (today - d).days < 10:
                    v *= 0.4
                at = datetime(d.year, d.month, d.day, 12, tzinfo=TZ)
                rows[table].append(ObservationRow(sids[(ind, kind, eid)], at, round(max(v, 0.0), 2), "test"))
        written = 0
        for table, rs in rows.items():
            written += write_observations(s, rs, table, "Asia/Shanghai").stored  # type: ignore[arg-type]
    engine.dispose()
    return Dataset(days=days, dip_enterprise_id=dip_id, dip_enterprise_name=dip_name, written=written)


@dataclass(frozen=True)
class Alerts:
    district_alert_id: int  # 乌达区, power, orange, open
    enterprise_alert_id: int  # the dipping enterprise, power, red, open
    resolved_alert_id: int  # 海南区 enterprise, gas, blue, resolved


def write_alerts(database_url: str, data: Dataset) -> Alerts:
    """Alerts as the detector would raise them for the dip (written as rows: the dashboard
    reads them back through the alerts API)."""
    engine = make_engine(database_url)
    today = datetime.now(TZ).date()
    dip_start = datetime.combine(today - timedelta(days=9), datetime.min.time(), TZ).replace(hour=12)
    with transaction(make_session_factory(engine)) as s:
        wuda = s.execute(text("SELECT id FROM district WHERE code = :c"), {"c": DIP_DISTRICT}).scalar_one()
        hainan = s.execute(text("SELECT id FROM district WHERE code = '150303'")).scalar_one()
        ent_sid = s.execute(text("SELECT id FROM series WHERE indicator_code = 'power.consumption' AND "
                                 "entity_kind = 'enterprise' AND entity_id = :e"),
                            {"e": data.dip_enterprise_id}).scalar_one()
        days = s.execute(text(
            "SELECT r.day, sum(r.sum) FILTER (WHERE s.entity_id = :e), sum(r.sum) FROM rollup_daily r "
            "JOIN series s ON s.id = r.series_id JOIN enterprise_version v ON v.enterprise_id = s.entity_id "
            "AND v.valid_to IS NULL WHERE s.indicator_code = 'power.consumption' AND v.district_id = :d "
            "AND r.day >= :a GROUP BY r.day ORDER BY r.day"),
            {"e": data.dip_enterprise_id, "d": wuda, "a": today - timedelta(days=23)}).all()
        before = [r for r in days if r[0] < dip_start.date()][-7:]
        ent_exp = sum(r[1] for r in before) / len(before)
        dist_exp = sum(r[2] for r in before) / len(before)
        dip_day = next(r for r in days if r[0] == dip_start.date())
        gas_ent = s.execute(text(
            "SELECT s.entity_id, s.id FROM series s JOIN enterprise_version v ON v.enterprise_id = s.entity_id "
            "AND v.valid_to IS NULL WHERE s.indicator_code = 'gas.consumption' AND v.district_id = :d "
            "ORDER BY s.entity_id LIMIT 1"), {"d": hainan}).one()

        def alert(**kw: object) -> int:
            cols = ", ".join(kw)
            vals = ", ".join(f":{k}" for k in kw)
            aid = s.execute(text(f"INSERT INTO alert ({cols}) VALUES ({vals}) RETURNING id"), kw).scalar_one()
            s.execute(text("INSERT INTO alert_event (alert_id, occurred_at, kind, actor, to_state, level, text) "
                           "VALUES (:a, :t, 'opened', 'system', 'open', :l, :x)"),
                      {"a": aid, "t": kw["opened_at"], "l": kw["level"], "x": kw["explanation_zh"]})
            return int(aid)

        common = {"level_since_at": dip_start, "episode_started_at": dip_start,
                  "opened_at": dip_start + timedelta(hours=2), "last_point_at": datetime.now(TZ)}
        district_id = alert(indicator_code="power.consumption", entity_kind="district", entity_id=wuda,
                            district_id=wuda, level="orange", peak_level="orange", state="open",
                            value=dip_day[2], expected=dist_exp, lower=dist_exp * 0.92, upper=dist_exp * 1.08,
                            severity=0.7, checks=["level_shift"],
                            explanation_zh="乌达区工业用电量较预期下降，低于预期区间（水平突变）",
                            explanation_en="Wuda's industrial power use fell below the expected band (level shift)",
                            **common)
        ent_id = alert(series_id=ent_sid, indicator_code="power.consumption", entity_kind="enterprise",
                       entity_id=data.dip_enterprise_id, enterprise_id=data.dip_enterprise_id, district_id=wuda,
                       level="red", peak_level="red", state="open", value=dip_day[1], expected=ent_exp,
                       lower=ent_exp * 0.9, upper=ent_exp * 1.1, severity=0.95, checks=["level_shift"],
                       explanation_zh=f"{data.dip_enterprise_name}用电量骤降约60%，疑似停产检修",
                       explanation_en="Power use dropped by about 60%: a possible shutdown", **common)
        for day, ent_v, _d in days:
            s.execute(text("INSERT INTO alert_point (alert_id, time, value, expected, lower, upper, severity) "
                           "VALUES (:a, :t, :v, :e, :lo, :hi, 0.5)"),
                      {"a": ent_id, "t": datetime.combine(day, datetime.min.time(), TZ).replace(hour=12),
                       "v": ent_v, "e": ent_exp, "lo": ent_exp * 0.9, "hi": ent_exp * 1.1})
        old = dip_start - timedelta(days=40)
        resolved_id = alert(series_id=gas_ent[1], indicator_code="gas.consumption", entity_kind="enterprise",
                            entity_id=gas_ent[0], enterprise_id=gas_ent[0], district_id=hainan, level="blue",
                            peak_level="blue", state="resolved", level_since_at=old, episode_started_at=old,
                            opened_at=old, resolved_at=old + timedelta(days=1), countermeasures="已协调供气",
                            explanation_zh="天然气消费量略低于预期", explanation_en="Gas use slightly below expected")
    engine.dispose()
    return Alerts(district_id, ent_id, resolved_id)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up in {timeout_s} s")


@contextmanager
def running(database_url: str, log_dir: Path, refresh_s: int = 60, cycle_s: int = 30
            ) -> Iterator[tuple[str, str]]:
    """The API and the dashboard as subprocesses; yields (api_url, dashboard_url)."""
    api_port, dash_port = free_port(), free_port()
    api_url, dash_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{dash_port}"
    env = {**os.environ, "DATABASE_URL": database_url, "YUNJIAN_API_URL": api_url, "PYTHONUNBUFFERED": "1",
           "YUNJIAN_DASHBOARD_REFRESH_S": str(refresh_s), "YUNJIAN_DASHBOARD_CYCLE_S": str(cycle_s)}
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with open(log_dir / "api.log", "wb") as api_log, open(log_dir / "dashboard.log", "wb") as dash_log:
            api = subprocess.Popen([sys.executable, "-m", "backend.cli", "api", "--port", str(api_port)],
                                   cwd=PROJECT_ROOT, env=env, stdout=api_log, stderr=subprocess.STDOUT)
            procs.append(api)
            dash = subprocess.Popen([sys.executable, "-m", "backend.cli", "dashboard", "--port", str(dash_port)],
                                    cwd=PROJECT_ROOT, env=env, stdout=dash_log, stderr=subprocess.STDOUT)
            procs.append(dash)
            wait_http(api_url + "/health", api)
            wait_http(dash_url + "/healthz", dash)
            yield api_url, dash_url
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def month_start(d: date) -> date:
    return d.replace(day=1)
