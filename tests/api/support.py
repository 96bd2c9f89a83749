"""Fixtures shared by the API, auth and aggregates tests: the app in-process on the test
database, with each request's session joined to the test's rolled-back transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from backend.api.deps import get_session
from backend.config import Settings, get_settings
from backend.main import create_app

DEMO_PASSWORD = get_settings().demo_password
ADMIN = get_settings().demo_user


@pytest.fixture()
def app(shared_engine: Engine, db_session: Session) -> FastAPI:
    url = shared_engine.url.render_as_string(hide_password=False)
    application = create_app(Settings(database_url=url))

    def _session() -> Iterator[Session]:
        try:
            yield db_session
        except BaseException:
            db_session.rollback()
            raise
        db_session.commit()  # a savepoint inside the test's transaction

    application.dependency_overrides[get_session] = _session
    return application


@pytest.fixture()
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def token_for(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def auth(client: TestClient, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(client, username)}"}
