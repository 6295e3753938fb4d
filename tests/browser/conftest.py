"""Real-browser tests: Playwright driving Debian's Chromium against the site.

One browser for the session, a new context (cookies, JS switch, viewport) per test.
The site runs in a thread of this process, so the root conftest's `settings`
overrides (the `site` fixture) apply to it directly.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from playwright.sync_api import Browser, Page, Playwright

from tests.browser.engines import (
    ENGINES,
    PlaywrightTab,
    Tab,
    WebKitTab,
    Xvfb,
    engine_problem,
    launch_firefox,
)
from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Reset,
    SiteServer,
    chromium_problem,
    stale_static_files,
)
from tests.browser.portal import computed_settings

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


# --- the three engines, over TLS with production cookies -----------------------------

SECURE_COOKIE_SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_NAME",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_NAME",
    "LANGUAGE_COOKIE_SECURE",
    "LANGUAGE_COOKIE_NAME",
)


@pytest.fixture(scope="session")
def certificate() -> trustme.LeafCert:
    """A throwaway certificate for localhost and 127.0.0.1, from a throwaway CA."""
    return trustme.CA().issue_cert("localhost", "127.0.0.1")


@pytest.fixture(scope="session")
def tls(certificate: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    return context


@pytest.fixture(scope="session")
def secure_site(live_site: SiteServer, tls: ssl.SSLContext) -> Iterator[SiteServer]:
    """The site over HTTPS (after live_site: the static files are checked there)."""
    server = SiteServer(tls=tls).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def secure_cookie_settings() -> dict[str, Any]:
    """The cookie settings of a production deployment, as resetsite/settings.py makes them."""
    found = computed_settings(SECURE_COOKIE_SETTINGS, DJANGO_SECURE_COOKIES="true")
    assert found["SESSION_COOKIE_NAME"] == "__Host-session"
    return found


@pytest.fixture
def production_cookies(settings: Any, secure_cookie_settings: dict[str, Any]) -> None:
    for name in SECURE_COOKIE_SETTINGS:
        setattr(settings, name, secure_cookie_settings[name])


@pytest.fixture(scope="session")
def firefox(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    browser = launch_firefox(playwright, tmp_path_factory.mktemp("firefox"))
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def xvfb() -> Iterator[Xvfb]:
    screen = Xvfb()
    yield screen
    screen.stop()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    problem = engine_problem(request.param)
    if problem:
        pytest.fail(problem, pytrace=False)  # CI installs every engine: missing fails
    return str(request.param)


@pytest.fixture
def tab(engine: str, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A window of the engine with fresh cookies. Each engine starts at its first use."""
    opened: Tab
    if engine == "webkit":
        opened = WebKitTab(request.getfixturevalue("xvfb").display)
    else:
        fixture = "browser" if engine == "chromium" else "firefox"
        opened = PlaywrightTab(engine, request.getfixturevalue(fixture))
    yield opened
    opened.close()


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
