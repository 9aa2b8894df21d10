"""Playwright in Debian's Chromium. `playwright install` cannot download browsers on hospital or CI networks.

`make test` (scripts/ensure-chromium) finds /usr/bin/chromium or installs it; without one these tests are skipped
with a plain message, except under CI (CI=true), where a missing browser fails the run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    path = chromium_path()
    if path is None:
        message = "No Chromium found (looked for $CHROMIUM_PATH and /usr/bin/chromium): apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the browser tests cannot run. {message}")
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture
def screenshot(page: Any) -> Any:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


PASSWORD = "Correct-Horse-Battery-42"
"""The shared cast's password (tests/conftest.py)."""


@pytest.fixture
def sign_in(live_server: Any) -> Any:
    """``sign_in(page, username)``: the login screen, filled and submitted; waits until the user is in."""

    def go(page: Any, username: str) -> None:
        from django.urls import reverse

        page.goto(live_server.url + reverse("login"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("navigation", name="Main navigation").wait_for()

    return go


@pytest.fixture
def sign_out() -> Any:
    """``sign_out(page)``: through the user menu, as a person would."""

    def go(page: Any) -> None:
        nav = page.get_by_role("navigation", name="Main navigation")
        nav.locator("[data-bs-toggle=dropdown]").click()
        nav.get_by_role("button", name="Sign out").click()
        page.get_by_role("navigation", name="Main navigation").wait_for(state="detached")

    return go
