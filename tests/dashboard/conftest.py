"""Fixtures for the dashboard's browser tests: a seeded database with observations, the API
and the dashboard as real processes, and a headless Chromium driven by selenium."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard import stack

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REFRESH_S = 4  # the Overview's self-refresh in the tests (60 s in production)
CYCLE_S = 4  # the wall screen's page cycle in the tests (30 s in production)


@dataclass(frozen=True)
class Stack:
    api_url: str
    dash_url: str
    database_url: str
    data: stack.Dataset
    alerts: stack.Alerts


@pytest.fixture(scope="module")
def dashboard_stack(server_url: Any, template_url: Any, output_dir: Path) -> Iterator[Stack]:
    """One database (cloned from the template), data, users, API and dashboard per module."""
    import uuid

    from tests.conftest import create_database, drop_database

    name = f"yunjian_dash_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name, template=template_url.database).render_as_string(hide_password=False)
    try:
        data = stack.write_dataset(url)
        alerts = stack.write_alerts(url, data)
        stack.seed_users(url)
        stack.write_quarantine(url)
        with stack.running(url, output_dir / "dashboard-logs", refresh_s=REFRESH_S, cycle_s=CYCLE_S) as (api_url, dash_url):
            yield Stack(api_url, dash_url, url, data, alerts)
    finally:
        drop_database(server_url, name)


def make_driver(width: int = 1440, height: int = 900) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="yunjian-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", f"--window-size={width},{height}", "--lang=zh-CN"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver._yunjian_profile = profile  # type: ignore[attr-defined]
    return driver


def quit_driver(driver: Any) -> None:
    profile = getattr(driver, "_yunjian_profile", None)
    driver.quit()
    if profile:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def browser() -> Iterator[object]:
    driver = make_driver()
    try:
        yield driver
    finally:
        quit_driver(driver)
