"""The dashboard's only way to data: a typed client of the Yunjian REST API (`/api/v1`).

One `httpx.Client` (connection pool) is built per dashboard process in `create_app`; an
`ApiClient` wraps it with one user's token (from the login) for one request. Every response
is parsed into the pydantic models below, so a change in the API's contract fails here,
loudly, instead of deep in a figure.

Errors: `ApiError` carries the HTTP status and the problem+json `detail`. `EndpointMissing`
(a subclass) is raised when the API answers 404 for a *route* it does not have (FastAPI's
plain "Not Found"), so pages can say "not yet available" instead of "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter

API_PREFIX = "/api/v1"
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, detail: str, path: str, retry_after_s: int | None = None) -> None:
        super().__init__(f"{status} on {path}: {detail}")
        self.status = status
        self.detail = detail
        self.path = path
        self.retry_after_s = retry_after_s  # from a 429's Retry-After


class EndpointMissing(ApiError):
    """The API has no such route (yet)."""


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore", from_attributes=True)


# --- auth ---------------------------------------------------------------------------------
class User(_M):
    id: int
    username: str
    display_name: str
    role: str
    district_id: int | None = None
    enterprise_id: int | None = None


class Login(_M):
    token: str
    expires_at: datetime
    user: User


class Me(_M):
    user: User
    permissions: list[str] = Field(default_factory=list)


# --- registry and catalogue ---------------------------------------------------------------
class District(_M):
    id: int
    code: str
    name_zh: str
    name_en: str
    kind: str = "district"


class Park(_M):
    id: int
    code: str
    name_zh: str
    name_en: str
    district_id: int


class Industry(_M):
    code: str
    name_zh: str
    name_en: str


class Indicator(_M):
    code: str
    name_zh: str
    name_en: str
    family: str
    unit_code: str
    frequency: str
    is_leading: bool = False
    good_direction: str = "up"
    sort_order: int = 0


class Unit(_M):
    code: str
    name_zh: str
    name_en: str
    factor: float = 1.0


class Enterprise(_M):
    id: int
    uscc: str
    name_zh: str
    name_en: str | None = None
    district_id: int
    district_code: str
    park_id: int | None = None
    park_code: str | None = None
    industry_group: str
    above_scale: bool
    key_enterprise: bool


class Page(_M, Generic[T]):
    items: list[T]
    total: int
    limit: int = 0
    offset: int = 0


# --- aggregates ------------------------------------------------------------------------------
class IndicatorRef(_M):
    code: str
    name_zh: str
    name_en: str
    unit: str


class Point(_M):
    """One bucket of a series: its value and the comparisons the API computes for it."""

    period: str = Field(description="The bucket's label: 2025-03, 2025-03-01, 2025-W09 ...")
    start: date | datetime
    value: float | None = None
    yoy_pct: float | None = None  # 同比
    pop_pct: float | None = None  # 环比
    ytd: float | None = None  # 累计
    ytd_yoy_pct: float | None = None
    share_pct: float | None = None
    contribution_pp: float | None = None  # contribution to the parent's 同比, percentage points
    last_year_value: float | None = None
    partial: bool = False  # a bucket not complete yet: compared 同期, data through `through`
    through: date | None = None


class Group(_M):
    key: str
    kind: str
    name_zh: str | None = None
    name_en: str | None = None
    points: list[Point]


class SeriesOut(_M):
    indicator: IndicatorRef
    bucket: str
    start: date
    end: date
    groups: list[Group]
    parent: Group | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def points(self) -> list[Point]:
        """The points of the single (ungrouped) series."""
        return self.groups[0].points if self.groups else []


class TopRow(_M):
    rank: int
    enterprise_id: int
    name_zh: str
    name_en: str | None = None
    value: float | None = None
    last_year_value: float | None = None
    change: float | None = None
    change_pct: float | None = None


class TopOut(_M):
    indicator: IndicatorRef
    items: list[TopRow]
    notes: list[str] = Field(default_factory=list)  # e.g. last year's base not covered: no ranking


class LeadingPoint(_M):
    month: date
    composite: float | None = None
    diffusion: float | None = None
    n_indicators: int = 0


class Evaluation(_M):
    grade: str  # good | fair | weak | no_data
    grade_zh: str
    composite_change_3m_pct: float | None = None
    diffusion: float | None = None


class PlaceIndex(_M):
    place: str  # district code or "city"
    name_zh: str
    evaluation: Evaluation
    points: list[LeadingPoint]


class LeadingIndex(_M):
    method: str = ""
    places: list[PlaceIndex]


class EvaluationRow(_M):
    rank: int | None = None
    place: str
    name_zh: str
    composite: float | None = None
    diffusion: float | None = None
    composite_change_3m_pct: float | None = None
    grade: str
    grade_zh: str


# --- alerts --------------------------------------------------------------------------------
class AlertEvent(_M):
    at: datetime
    kind: str  # opened, level_changed, acknowledged, escalated, resolved, closed, comment ...
    actor: str | None = None
    actor_name: str | None = None  # display name; None for the system
    from_state: str | None = None
    to_state: str | None = None
    level: str | None = None
    text: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class AlertPoint(_M):
    time: datetime
    value: float
    expected: float | None = None
    lower: float | None = None
    upper: float | None = None


class Alert(_M):
    id: int
    level: str  # red | orange | yellow | blue
    state: str  # open | acknowledged | escalated | resolved | false_alarm
    indicator_code: str
    entity_kind: str  # city | district | park | enterprise
    entity_id: int
    entity_name_zh: str | None = None  # 乌海市, the district, park or enterprise
    entity_name_en: str | None = None
    district_name_zh: str | None = None
    district_name_en: str | None = None
    park_name_zh: str | None = None
    park_name_en: str | None = None
    enterprise_name_zh: str | None = None
    enterprise_name_en: str | None = None
    district_id: int | None = None
    park_id: int | None = None
    enterprise_id: int | None = None
    is_group: bool = False
    parent_id: int | None = None
    opened_at: datetime
    updated_at: datetime | None = None
    episode_started_at: datetime | None = None
    last_point_at: datetime | None = None
    value: float | None = None
    expected: float | None = None
    lower: float | None = None
    upper: float | None = None
    severity: float | None = None
    checks: list[str] = Field(default_factory=list)
    explanation_zh: str | None = None
    explanation_en: str | None = None
    department: str | None = None
    countermeasures: str | None = None
    due_at: datetime | None = None
    overdue: bool = False
    silenced_until: datetime | None = None  # a silence covers it now: no mail until then


class ReportGap(_M):
    since: datetime
    until: datetime


class Silence(_M):
    id: int
    kind: str  # silence (no mail) | maintenance (no alerts)
    starts_at: datetime
    ends_at: datetime
    reason: str
    indicator_code: str | None = None
    entity_kind: str | None = None
    entity_id: int | None = None
    district_id: int | None = None
    entity_name_zh: str | None = None
    entity_name_en: str | None = None


class AlertDetail(Alert):
    timeline: list[AlertEvent] = Field(default_factory=list,
                                       validation_alias=AliasChoices("timeline", "events"))
    points: list[AlertPoint] = Field(default_factory=list)
    report_gap: ReportGap | None = None  # a missing-report alert: the silence its chart shades


# --- reporting and ingest ------------------------------------------------------------------
class CompletenessRow(_M):
    enterprise_id: int
    uscc: str = ""
    name_zh: str
    status: str  # reported | late | missing | pending
    status_zh: str = ""
    completed_at: datetime | None = None
    missing: list[str] = Field(default_factory=list)  # indicators still missing


class Completeness(_M):
    period: str
    due_at: datetime
    due: int = 0
    reported: int = 0
    late: int = 0
    missing: int = 0
    pending: int = 0
    enterprises: list[CompletenessRow]


class QuarantineRow(_M):
    id: int
    source_name: str
    reason: str
    raw_text: str
    raw_json: Any = None
    last_seen_at: datetime
    seen_count: int = 1
    status: str = "open"


class SourceStatus(_M):
    name: str
    family: str
    title_zh: str
    title_en: str
    state: str  # ok | late | failing | never
    interval_s: int | None = None
    expected_lag_s: int | None = None
    lag_s: float | None = None
    latest_data_at: datetime | None = None
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    rows_stored: int = 0
    rows_rejected: int = 0


def _iso(d: date | datetime | None) -> str | None:
    return d.isoformat() if d is not None else None


class ApiClient:
    """One user's view of the API (their token, hence their role and district scope)."""

    def __init__(self, http: httpx.Client, token: str | None = None) -> None:
        self.http = http
        self.token = token

    # --- plumbing --------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _request(self, method: str, path: str, params: dict[str, Any] | None = None,
                 json: Any = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        url = API_PREFIX + path
        try:
            resp = self.http.request(method, url, params=clean, json=json, headers=self._headers())
        except httpx.HTTPError as exc:
            raise ApiError(0, f"the API cannot be reached: {exc}", path) from exc
        if resp.status_code >= 400:
            detail = resp.text
            try:
                body = resp.json()
                detail = str(body.get("detail", detail))
            except ValueError:
                pass
            missing = resp.status_code in (404, 405) and detail in ("Not Found", "Method Not Allowed")
            wait = resp.headers.get("Retry-After", "")
            raise (EndpointMissing if missing else ApiError)(resp.status_code, detail, path,
                                                             int(wait) if wait.isdigit() else None)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    def _get(self, path: str, model: Any, **params: Any) -> Any:
        return TypeAdapter(model).validate_python(self._request("GET", path, params))

    # --- auth ------------------------------------------------------------------------------
    def login(self, username: str, password: str) -> Login:
        return Login.model_validate(self._request("POST", "/auth/login",
                                                  json={"username": username, "password": password}))

    def logout(self) -> None:
        self._request("POST", "/auth/logout")

    def me(self) -> Me:
        return Me.model_validate(self._request("GET", "/auth/me"))

    # --- registry, catalogue ---------------------------------------------------------------
    def districts(self) -> list[District]:
        return self._get("/districts", list[District])

    def parks(self) -> list[Park]:
        return self._get("/parks", list[Park])

    def industries(self) -> list[Industry]:
        return self._get("/industries", list[Industry])

    def indicators(self, family: str | None = None) -> list[Indicator]:
        return self._get("/indicators", list[Indicator], family=family)

    def units(self) -> list[Unit]:
        return self._get("/units", list[Unit])

    def enterprises(self, *, district: str | None = None, park: str | None = None, industry: str | None = None,
                    q: str | None = None, limit: int = 100, offset: int = 0) -> Page[Enterprise]:
        return self._get("/enterprises", Page[Enterprise], district=district, park=park,
                         industry=industry, q=q, limit=limit, offset=offset)

    def enterprise(self, enterprise_id: int) -> Enterprise:
        return self._get(f"/enterprises/{enterprise_id}", Enterprise)

    # --- aggregates ------------------------------------------------------------------------
    def series(self, indicator: str, *, bucket: str, start: date, end: date,
               district: str | list[str] | None = None, park: str | list[str] | None = None, industry: str | None = None, enterprise: int | None = None,
               group_by: str | None = None, figures: str | None = None) -> SeriesOut:
        """`GET /series`: one indicator for one selection (the city when no filter), bucketed,
        with 同比/环比/累计; with `group_by` (district, park, industry, enterprise) one group per
        child, each point carrying its share of the parent and its contribution (percentage
        points) to the parent's 同比. `figures` limits what is computed (faster)."""
        return self._get("/series", SeriesOut, indicator=indicator, bucket=bucket,
                         start=_iso(start), end=_iso(end), district=district, park=park, industry=industry,
                         enterprise=enterprise, group_by=group_by, figures=figures)

    def top(self, indicator: str, *, start: date, end: date, by: str = "change", n: int = 10,
            district: str | None = None, park: str | None = None, industry: str | None = None,
            ascending: bool = False) -> TopOut:
        """`GET /series/top`: the top-n enterprises by value or by change against last year."""
        return self._get("/series/top", TopOut, indicator=indicator, start=_iso(start),
                         end=_iso(end), by=by, n=n, district=district, park=park, industry=industry,
                         order="asc" if ascending else "desc")

    def leading_index(self, *, district: str | None = None, start: date, end: date) -> LeadingIndex:
        """`GET /leading-index`: the composite and diffusion indices month by month."""
        return self._get("/leading-index", LeadingIndex, district=district,
                         start=_iso(start), end=_iso(end))

    def evaluation(self, month: date | None = None) -> list[EvaluationRow]:
        """`GET /leading-index/evaluation`: 调度评价, every district ranked."""
        return self._get("/leading-index/evaluation", list[EvaluationRow],
                         month=_iso(month))

    # --- alerts ----------------------------------------------------------------------------
    def alerts(self, *, state: str | list[str] | None = None, level: str | list[str] | None = None,
               district: str | None = None, park: str | None = None, enterprise: int | list[int] | None = None,
               indicator: str | None = None, opened_from: datetime | None = None, top_level: bool = False,
               sort: str | None = None, limit: int = 200, offset: int = 0) -> Page[Alert]:
        """`GET /alerts`: newest first (or by `sort`), with the names of their entity, district,
        park and enterprise; a district officer gets its own district only (an enterprise
        outside it is a 404)."""
        return self._get("/alerts", Page[Alert], state=state, level=level, district=district, park=park,
                         enterprise=enterprise, indicator=indicator, opened_from=_iso(opened_from),
                         top_level="true" if top_level else None, sort=sort, limit=limit, offset=offset)

    def alert(self, alert_id: int) -> AlertDetail:
        """`GET /alerts/{id}`: the alert with its timeline and chart points."""
        return self._get(f"/alerts/{alert_id}", AlertDetail)

    ACTION_PATHS = {"acknowledge": "acknowledge", "escalate": "escalate", "resolve": "resolve",
                    "comment": "comments", "close": "close", "assign": "assign"}

    def alert_action(self, alert_id: int, action: str, body: dict[str, Any]) -> AlertDetail:
        """`POST /alerts/{id}/{acknowledge|escalate|resolve|comments|close|assign}` (role-checked by
        the API), then the alert as it is now, with its timeline."""
        if action not in self.ACTION_PATHS:
            raise ValueError(f"unknown alert action {action!r}")
        self._request("POST", f"/alerts/{alert_id}/{self.ACTION_PATHS[action]}", json=body)
        return self.alert(alert_id)

    def silences(self, include_past: bool = False) -> list[Silence]:
        """`GET /alerts/silences`: current and future silences and maintenance windows."""
        return self._get("/alerts/silences", list[Silence], include_past="true" if include_past else None)

    def create_silence(self, body: dict[str, Any]) -> Silence:
        """`POST /alerts/silences` (admins, leaders and duty officers; a district officer only
        within its district: the API checks)."""
        return Silence.model_validate(self._request("POST", "/alerts/silences", json=body))

    def cancel_silence(self, silence_id: int) -> Silence:
        """`DELETE /alerts/silences/{id}`: end it now (it stays on record as cancelled)."""
        return Silence.model_validate(self._request("DELETE", f"/alerts/silences/{silence_id}"))

    # --- reporting, ingest -----------------------------------------------------------------
    def completeness(self, month: date) -> Completeness:
        """`GET /reporting/completeness`: 应报/已报/迟报/未报 per above-scale enterprise for a month
        (a district officer gets its own district)."""
        return self._get("/reporting/completeness", Completeness,
                         period=month.strftime("%Y-%m"))

    def sources(self) -> list[SourceStatus]:
        """`GET /ingest/sources`: each upstream source's freshness and last outcome."""
        return self._get("/ingest/sources", list[SourceStatus])

    def quarantine_action(self, row_id: int, action: str, body: dict[str, Any]) -> None:
        """`POST /ingest/quarantine/{id}/resubmit` (action `accept`: store it as it stands) or
        `.../review` (action `dismiss`); duty officers and admins (the API checks)."""
        path = {"accept": "resubmit", "dismiss": "review"}.get(action)
        if path is None:
            raise ValueError(f"unknown quarantine action {action!r}")
        self._request("POST", f"/ingest/quarantine/{row_id}/{path}", json=body)

    def quarantine(self, *, status: str = "open", limit: int = 20) -> Page[QuarantineRow]:
        """`GET /ingest/quarantine`: rejected and held input rows, most recently seen first."""
        return self._get("/ingest/quarantine", Page[QuarantineRow], status=status, limit=limit)


def gather(calls: dict[str, Callable[[], Any]], workers: int = 8) -> dict[str, Any]:
    """Run independent API calls concurrently; each result is the value or the exception it
    raised (so one missing endpoint does not blank a whole page)."""
    out: dict[str, Any] = {}
    if not calls:
        return out
    with ThreadPoolExecutor(max_workers=min(workers, len(calls))) as pool:
        futures = {k: pool.submit(fn) for k, fn in calls.items()}
        for k, fut in futures.items():
            try:
                out[k] = fut.result()
            except Exception as exc:  # handed to the page, which shows it in place
                out[k] = exc
    return out


def make_http(base_url: str, timeout_s: float = 10.0) -> httpx.Client:
    return httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s,
                        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))
