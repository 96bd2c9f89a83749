"""The FastAPI application factory. Nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from backend.aggregates.cache import AnswerCache
from backend.alerts.router import router as alerts_router
from backend.api import problems
from backend.api.router import API_PREFIX, build_api_router
from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory
from backend.health import service as health_service
from backend.health.router import router as health_router
from backend.ingestion.router import router as ingestion_router
from backend.migrate import head_revisions
from backend.reporting.router import router as reporting_router

log = logging.getLogger("yunjian.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.effective_database_url()
        engine = make_engine(url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        app.state.answer_cache = AnswerCache(settings.answer_cache_mb * 2**20)
        app.state.migration_heads = head_revisions(url)
        try:
            with app.state.session_factory() as session:
                from backend.health.repository import timescaledb_facts

                if timescaledb_facts(session)[0] is None:
                    log.warning(health_service.NO_TIMESCALEDB_WARNING)
        except Exception as exc:  # the API still starts; /health reports the database as down
            log.warning("database not reachable at start: %s", exc)
        yield
        engine.dispose()

    app = FastAPI(
        title="Yunjian 运监 API",
        version="0.1.0",
        description="Industrial-economy operation monitoring and dispatch for Wuhai (乌海市工业经济运行监测调度).",
        lifespan=lifespan,
    )
    problems.install(app)
    app.include_router(health_router)
    app.include_router(build_api_router())
    app.include_router(alerts_router, prefix=API_PREFIX)
    app.include_router(reporting_router, prefix=API_PREFIX)
    app.include_router(ingestion_router, prefix=API_PREFIX)  # source status for the reporting page
    problems.document_problems(app)
    return app
