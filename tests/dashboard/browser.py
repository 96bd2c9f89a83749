"""Selenium helpers for the dashboard's browser tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.dashboard.stack import PASSWORD


def wait_css(driver: Any, css: str, timeout: float = 20.0) -> Any:
    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def wait_text(driver: Any, css: str, text: str, timeout: float = 20.0) -> None:
    WebDriverWait(driver, timeout).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def settle(driver: Any, timeout: float = 20.0) -> None:
    """Wait until Dash has no callback in flight and plotly has drawn every graph."""
    deadline = time.monotonic() + timeout
    time.sleep(0.3)
    while time.monotonic() < deadline:
        busy = driver.execute_script(
            "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length"
            " + document.querySelectorAll('.dash-graph:not(:has(.main-svg))').length")
        if not busy:
            time.sleep(0.3)
            return
        time.sleep(0.1)


def login(driver: Any, base: str, username: str = "t_duty", next_path: str = "/") -> None:
    driver.get(f"{base}/login?next={next_path}")
    wait_css(driver, "#login-user").send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 20).until(lambda d: "/login" not in d.current_url)


def console_errors(driver: Any) -> list[str]:
    """Browser console entries at SEVERE level (JavaScript errors, failed requests)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def shot(driver: Any, out: Path, name: str, full: bool = True) -> Path:
    """Save a screenshot; `full` resizes the window to the page height first."""
    path = out / f"dashboard-{name}.png"
    if full:
        w = driver.get_window_size()["width"]
        h = driver.execute_script("return Math.max(document.body.scrollHeight, 600)")
        driver.set_window_size(w, min(int(h) + 120, 4000))
        time.sleep(0.4)
    driver.save_screenshot(str(path))
    return path


def viewport(driver: Any, width: int, height: int) -> None:
    """Size the window so that the page itself (the viewport) is width x height, as on a wall
    screen in kiosk mode (the window's own frame is not part of the screen)."""
    driver.set_window_size(width, height)
    iw, ih = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(width + (width - int(iw)), height + (height - int(ih)))
