"""Real-browser tests: Playwright driving Debian's Chromium against the site.

One browser for the session, a new context (cookies, JS switch, viewport) per test.
The site runs in a thread of this process, so the root conftest's `settings`
overrides (the `site` fixture) apply to it directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Reset,
    SiteServer,
    chromium_problem,
    stale_static_files,
)

# Playwright's sync API runs an event loop in the test thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SIGN_IN_URL = "https://signin.example.com/"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    problem = chromium_problem()
    if problem:
        pytest.fail(problem, pytrace=False)  # CI installs it: missing is a failure, not a skip
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_site() -> Iterator[SiteServer]:
    stale = stale_static_files()
    if stale:
        pytest.fail(
            "Collected static files are out of date: "
            + ", ".join(stale)
            + ". Run: DJANGO_SETTINGS_MODULE=tests.settings "
            ".venv/bin/python manage.py collectstatic --noinput --clear -v0",
            pytrace=False,
        )
    server = SiteServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(live_site: SiteServer) -> str:
    # Replaces pytest-base-url's fixture; pytest-playwright gives it to every context.
    return live_site.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "locale": "en-GB"}


@pytest.fixture
def reset_site(site: Any, user: str, settings: Any, live_site: SiteServer) -> Any:
    """The site against a fresh pool with alice in it, through the fault proxy."""
    settings.SIGN_IN_URL = SIGN_IN_URL
    return site


@pytest.fixture
def reset(page: Page, live_site: SiteServer, reset_site: Any) -> Reset:
    return Reset(page, live_site.url)


@pytest.fixture
def csp_errors(page: Page) -> list[str]:
    """Console messages about anything the Content-Security-Policy refused."""
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return errors
