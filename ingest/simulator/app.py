"""`yunjian simulate`: the upstream systems as one small HTTP service (Starlette + uvicorn).

Each upstream lives under its own path prefix with its own credential style and payload shape
(see `ingest.simulator.feeds`). Faults can be switched on at run time:

    POST /admin/faults {"error_5xx": 3, "rate_limit": 1, "retry_after_s": 1, "latency_s": 5,
                        "latency_requests": 2, "truncate": 1, "malformed": 1, "duplicate": 1}

Each number is "the next N data requests" (latency_s applies to the next `latency_requests`).
`GET /admin/faults` shows what is pending and what has been injected; `DELETE` clears
everything (pending faults and counters).
A single request can also ask for a fault with `?fault=5xx|429|slow|truncate|malformed|duplicate`.
`GET /admin/labels?start=...&end=...` returns the incident ground truth for a window.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.simulator import feeds
from ingest.simulator.generator import World, epoch_s

MAX_PAGE_SIZE = 10000
MAX_SPAN_S = 7 * 86400


@dataclass
class Faults:
    error_5xx: int = 0
    error_status: int = 503
    rate_limit: int = 0
    retry_after_s: int = 1
    latency_s: float = 0.0
    latency_requests: int = 0
    truncate: int = 0
    malformed: int = 0
    duplicate: int = 0
    injected: dict[str, int] = field(default_factory=dict)
    requests: int = 0

    def take(self, name: str) -> bool:
        """Consume one pending fault `name` if any."""
        n = getattr(self, name)
        if n > 0:
            setattr(self, name, n - 1)
            return True
        return False

    def count(self, name: str, n: int = 1) -> None:
        self.injected[name] = self.injected.get(name, 0) + n


class FaultMiddleware:
    """Latency, 5xx bursts, 429 with Retry-After and truncated bodies, for data paths only."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/admin", "/health")):
            await self.app(scope, receive, send)
            return
        f = self.faults
        f.requests += 1
        query = scope.get("query_string", b"").decode()
        asked = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("fault", "")
        if f.latency_requests > 0 or asked == "slow":
            if asked != "slow":
                f.latency_requests -= 1
            f.count("latency")
            await asyncio.sleep(f.latency_s or 5.0)
        if f.take("error_5xx") or asked == "5xx":
            f.count("error_5xx")
            await JSONResponse({"code": 500, "msg": "upstream busy"}, status_code=f.error_status)(scope, receive, send)
            return
        if f.take("rate_limit") or asked == "429":
            f.count("rate_limit")
            await Response("rate limited", status_code=429,
                           headers={"Retry-After": str(f.retry_after_s)})(scope, receive, send)
            return
        if f.take("truncate") or asked == "truncate":
            f.count("truncate")
            await self._truncated(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the real headers (with the full Content-Length) and half the body, then stop:
        what a dropped connection looks like to the client."""
        start: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        await send(start)
        await send({"type": "http.response.body", "body": bytes(body[: max(1, len(body) // 2)]), "more_body": False})


def _bearer(request: Request, token: str) -> bool:
    return request.headers.get("authorization", "") == f"Bearer {token}"


def _basic(request: Request, token: str) -> bool:
    expected = "Basic " + base64.b64encode(f"yunjian:{token}".encode()).decode()
    return request.headers.get("authorization", "") == expected


def _app_key(request: Request, token: str) -> bool:
    """The dispatch system's application credentials: an app id and its token, as two headers."""
    return request.headers.get("x-app-id") == "yunjian" and request.headers.get("x-app-token") == token


def create_app(world: World, token: str, clock: Callable[[], float] = time.time) -> Starlette:
    faults = Faults()

    def now() -> int:
        return int(clock())

    def wants(request: Request, name: str) -> bool:
        if request.query_params.get("fault") == name or faults.take(name):
            faults.count(name)
            return True
        return False

    def unauthorised() -> JSONResponse:
        return JSONResponse({"code": 401, "msg": "invalid credentials"}, status_code=401)

    def bad_request(msg: str) -> JSONResponse:
        return JSONResponse({"code": 400, "msg": msg}, status_code=400)

    def window(request: Request, a: str, b: str, fmt: str) -> tuple[int, int]:
        start = feeds.parse_local(request.query_params[a], fmt)
        end = feeds.parse_local(request.query_params[b], fmt)
        if not 0 < end - start <= MAX_SPAN_S:
            raise ValueError("window must be positive and at most 7 days")
        return start, end

    def with_row_faults(request: Request, rows: list[Any], bad_rows: Callable[[Any], list[Any]]) -> list[Any]:
        """The rows as served under the request's faults: each row twice for `duplicate`,
        and `bad_rows(first row)` appended for `malformed` (counted)."""
        if wants(request, "duplicate"):
            rows = [r for r in rows for _ in (0, 1)]
        if rows and wants(request, "malformed"):
            bad = bad_rows(rows[0])
            rows = rows + bad
            faults.count("malformed_rows", len(bad))
        return rows

    snapshots: OrderedDict[tuple[object, ...], list[dict[str, Any]]] = OrderedDict()

    async def snapshot(fn: Callable[..., list[dict[str, Any]]], start: int, end: int) -> list[dict[str, Any]]:
        """The records of one query, kept for a minute so that its pages are consistent and
        cheap (as a real paged API keeps a cursor)."""
        key = (fn.__name__, start, end, now() // 60)
        if key not in snapshots:
            snapshots[key] = await asyncio.to_thread(fn, world, start, end, now())
            while len(snapshots) > 16:
                snapshots.popitem(last=False)
        return snapshots[key]

    def paged(request: Request, records: list[dict[str, Any]], bad: list[dict[str, Any]]) -> JSONResponse:
        p, size = int(request.query_params.get("page", "1")), int(request.query_params.get("page_size", "1000"))
        body = feeds.page(records, p, min(size, MAX_PAGE_SIZE))
        body["data"]["records"] = chunk = list(body["data"]["records"])  # never touch the snapshot
        # faults affect the page being served, so they reach whoever asked for it
        if chunk and wants(request, "duplicate"):
            body["data"]["records"] = chunk = [r for r in chunk for _ in (0, 1)]
        if chunk and wants(request, "malformed"):
            chunk.extend(bad)
            faults.count("malformed_rows", len(bad))
        return JSONResponse(body)

    async def metering(request: Request) -> Response:
        if not _bearer(request, token):
            return unauthorised()
        try:
            start, end = window(request, "start", "end", "%Y-%m-%d %H:%M:%S")
        except (KeyError, ValueError) as exc:
            return bad_request(str(exc))
        records = await snapshot(feeds.metering_records, start, end)
        r0 = records[0] if records else {}
        bad = [{**r0, "pap_e": "N/A"}, {**r0, "pap_e": -12.5}, {**r0, "data_time": "2026-13-45 25:00:00"},
               {**r0, "credit_code": "911503990000000000"}, {k: v for k, v in r0.items() if k != "pap_e"}]
        return paged(request, records, bad)

    async def area_load(request: Request) -> Response:
        if not _bearer(request, token):
            return unauthorised()
        try:
            start, end = window(request, "start", "end", "%Y-%m-%d %H:%M:%S")
        except (KeyError, ValueError) as exc:
            return bad_request(str(exc))
        records = await snapshot(feeds.area_load_records, start, end)
        r0 = records[0] if records else {}
        return paged(request, records, [{**r0, "p_mw": "--"}, {**r0, "ts": "yesterday"}])

    async def coal(request: Request) -> Response:
        if request.headers.get("x-api-key") != token:
            return unauthorised()
        try:
            d = date.fromisoformat(request.query_params["date"])
        except (KeyError, ValueError):
            return bad_request("date=YYYY-MM-DD required")
        body = feeds.coal_report(world, d, now())
        body["items"] = with_row_faults(request, body["items"], lambda r0: [
            {**r0, "value": "abc"}, {**r0, "unit": "斤"}, {**r0, "enterpriseCode": "911503990000000000"},
            {**r0, "indicator": "精煤销量"}])
        return JSONResponse(body)

    async def rail(request: Request) -> Response:
        if not _basic(request, token):
            return Response("401 Unauthorized", status_code=401, headers={"WWW-Authenticate": "Basic"})
        try:
            first = date.fromisoformat(request.query_params["from"])
            last = date.fromisoformat(request.query_params["to"])
        except (KeyError, ValueError):
            return bad_request("from=YYYY-MM-DD&to=YYYY-MM-DD required")
        if not 0 <= (last - first).days <= 31:
            return bad_request("at most 31 days")
        rows = with_row_faults(request, feeds.rail_rows(world, first, last, now()), lambda r0: [
            r0[:4], [*r0[:3], "三百", *r0[4:]], [r0[0], "未知站", "150399", *r0[3:-1], ""], ["2026/02/30", *r0[1:]]])
        return Response(feeds.rail_csv(rows), media_type="text/csv; charset=gbk",
                        headers={"Content-Disposition": "attachment; filename=loadings.csv"})

    async def gas(request: Request) -> Response:
        if request.query_params.get("access_token") != token:
            return JSONResponse({"status": "DENIED", "message": "bad token"}, status_code=401)
        try:
            start, end = window(request, "begin", "end", "%Y%m%d%H")
        except (KeyError, ValueError) as exc:
            return bad_request(str(exc))
        rows = with_row_faults(  # `end` is an inclusive hour
            request, feeds.gas_rows(world, start, end + 3600, now()),
            lambda r0: [[r0[0], r0[1], "2026113299", *r0[3:]], ["XX", "未知园区", *r0[2:]], [*r0[:3], "-0.5", *r0[4:]]])
        return JSONResponse(feeds.gas_body(rows))

    async def oil(request: Request) -> Response:
        if not _bearer(request, token):
            return unauthorised()
        try:
            d = date.fromisoformat(request.query_params["date"])
        except (KeyError, ValueError):
            return bad_request("date=YYYY-MM-DD required")
        recs = with_row_faults(request, feeds.oil_records(world, d, now()), lambda r0: [
            {**r0, "diesel_t": "null", "total_t": None}, {**r0, "region_code": "150399"}])
        return JSONResponse({"data": recs, "total": len(recs)})

    async def road(request: Request) -> Response:
        if not _bearer(request, token):
            return unauthorised()
        try:
            first = date.fromisoformat(request.query_params["start_date"])
            last = date.fromisoformat(request.query_params["end_date"])
        except (KeyError, ValueError):
            return bad_request("start_date and end_date required")
        if not 0 <= (last - first).days <= 31:
            return bad_request("at most 31 days")
        recs = with_row_faults(request, feeds.road_records(world, first, last, now()), lambda r0: [
            {**r0, "hyl_wt": ""}, {**r0, "rq": "2026-11-26"}])
        return JSONResponse({"errcode": 0, "result": recs})

    def dispatch_day(request: Request) -> date | JSONResponse:
        if not _app_key(request, token):
            return JSONResponse({"retCode": "4010", "retMsg": "应用鉴权失败"}, status_code=401)
        try:
            return date.fromisoformat(request.query_params["date"])
        except (KeyError, ValueError):
            return JSONResponse({"retCode": "4000", "retMsg": "date=YYYY-MM-DD required"}, status_code=400)

    async def dispatch_generation(request: Request) -> Response:
        d = dispatch_day(request)
        if isinstance(d, JSONResponse):
            return d
        recs = with_row_faults(request, feeds.dispatch_generation(world, d, now()), lambda r0: [
            {**r0, "points": {"01": "N/A"}}, {**r0, "points": {"25": 1.0}},
            {**r0, "creditCode": "911503990000000000", "points": {"01": 1.0}},
            {k: v for k, v in r0.items() if k != "points"}])
        return JSONResponse(feeds.dispatch_body("date", d, recs, unit="万千瓦时"))

    async def dispatch_coal(request: Request) -> Response:
        d = dispatch_day(request)
        if isinstance(d, JSONResponse):
            return d
        recs = with_row_faults(request, feeds.dispatch_coal_stock(world, d, now()), lambda r0: [
            {**r0, feeds.STOCK_FIELD: "--"}, {**r0, feeds.STOCK_FIELD: "-1.2000"},
            {**r0, "creditCode": "911503990000000000"},
            {k: v for k, v in r0.items() if k != feeds.STOCK_FIELD}])
        return JSONResponse(feeds.dispatch_body("reportDate", d, recs))

    async def labels(request: Request) -> Response:
        try:
            start = epoch_s(datetime.fromisoformat(request.query_params["start"]))
            end = epoch_s(datetime.fromisoformat(request.query_params["end"]))
        except (KeyError, ValueError) as exc:
            return bad_request(f"start and end (ISO 8601 with offset) required: {exc}")
        return JSONResponse([i.label() for i in world.incidents(start, end)])

    async def faults_view(request: Request) -> Response:
        if request.method == "POST":
            for k, v in json.loads(await request.body() or b"{}").items():
                if k in ("injected", "requests") or not hasattr(faults, k):
                    return bad_request(f"unknown fault {k!r}")
                setattr(faults, k, type(getattr(faults, k))(v))
        elif request.method == "DELETE":
            for k, v in asdict(Faults()).items():
                setattr(faults, k, v)
        return JSONResponse(asdict(faults))

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "seed": world.seed, "enterprises": world.enterprises,
                             "series": len(world.series), "now": feeds.local_str(now())})

    app = Starlette(routes=[
        Route("/health", health),
        Route("/metering/api/v2/interval-data", metering),
        Route("/metering/api/v2/area-load", area_load),
        Route("/coal/api/daily-output", coal),
        Route("/rail/loadings.csv", rail),
        Route("/gas/openapi/hourly", gas),
        Route("/oil/api/v1/sales", oil),
        Route("/road/api/freight", road),
        Route("/dispatch/api/v1/plant-generation", dispatch_generation),
        Route("/dispatch/api/v1/plant-coal", dispatch_coal),
        Route("/admin/labels", labels),
        Route("/admin/faults", faults_view, methods=["GET", "POST", "DELETE"]),
    ])
    app.state.faults = faults
    app.state.world = world
    app.add_middleware(FaultMiddleware, faults=faults)
    return app


def write_labels(world: World, path: str, start: datetime, end: datetime) -> int:
    """Write the incident ground truth for [start, end) as JSON; returns the count."""
    items = [i.label() for i in world.incidents(epoch_s(start), epoch_s(end))]
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"seed": world.seed, "enterprises": world.enterprises, "start": start.isoformat(),
                   "end": end.isoformat(), "incidents": items}, fh, ensure_ascii=False, indent=1)
    return len(items)


def label_window(now: datetime, history_days: int) -> tuple[datetime, datetime]:
    return now - timedelta(days=history_days), now + timedelta(days=7)
