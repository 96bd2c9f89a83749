"""The `/api/v1` router: every domain's router assembled in one place."""

from __future__ import annotations

from fastapi import APIRouter

API_PREFIX = "/api/v1"


def build_api_router() -> APIRouter:
    from backend.aggregates.router import router as aggregates_router
    from backend.auth.router import router as auth_router
    from backend.catalogue.router import router as catalogue_router
    from backend.leading_index.router import router as leading_index_router
    from backend.registry.router import router as registry_router
    from backend.targets.router import router as targets_router

    api = APIRouter(prefix=API_PREFIX)
    for r in (auth_router, registry_router, catalogue_router, aggregates_router, targets_router,
              leading_index_router):
        api.include_router(r)
    return api
