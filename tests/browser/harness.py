"""What the browser tests and scripts/screenshots.py, scripts/audit.py share.

- Debian's Chromium and its launch arguments (never `playwright install`).
- SiteServer: the site in a thread of this process, served exactly as in production
  (WhiteNoise serves the hashed, precompressed static files). pytest-django's
  live_server wraps the site in StaticFilesHandler instead, which serves static
  files uncompressed from the finders and cannot find manifest-hashed names.
- The page states every test, audit and screenshot walks through, in any language.
"""

from __future__ import annotations

import os
import re
import ssl
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ROOT = Path(__file__).resolve().parent.parent.parent

USERNAME = "alice@example.com"
NEW_PASSWORD = "Fresh-Horse-Battery-42"
WRONG_CODE = "moto-confirmation-code:000000"


def chromium_problem() -> str | None:
    """Why Chromium can't be used here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return (
            f"Chromium is missing at {CHROMIUM}: install Debian's package "
            "(apt-get install -y chromium, see `make system-deps`). "
            "Never run `playwright install` here."
        )
    return None


def stale_static_files() -> list[str]:
    """Static sources whose collected copy differs: the manifest would serve old files."""
    from django.conf import settings

    from resetsite.storage import minified

    stale = []
    for source in sorted((ROOT / "static").rglob("*")):
        if source.is_file():
            collected = Path(settings.STATIC_ROOT) / source.relative_to(ROOT / "static")
            expected = minified(source.name, source.read_bytes())
            if not collected.is_file() or collected.read_bytes() != expected:
                stale.append(str(source.relative_to(ROOT)))
    return stale


class SiteServer:
    """The Django site on a free loopback port, in a daemon thread of this process.

    With ``tls`` it serves HTTPS (the tests' throwaway certificate) and tells Django
    the request is secure, as a TLS-terminating proxy would."""

    def __init__(self, host: str = "localhost", tls: ssl.SSLContext | None = None) -> None:
        from django.core.handlers.wsgi import WSGIHandler
        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

        class Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def get_environ(self) -> dict[str, Any]:
                environ = super().get_environ()
                if tls:
                    environ["HTTPS"] = "on"
                return environ

        class Server(ThreadedWSGIServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                # A browser that hangs up, or refuses the certificate at first.
                if not isinstance(sys.exc_info()[1], OSError):
                    super().handle_error(request, client_address)

        self.httpd = Server((host, 0), Quiet, allow_reuse_address=False)
        self.httpd.set_app(WSGIHandler())
        if tls:  # the handshake happens in the request's thread, not the accepting one
            self.httpd.socket = tls.wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> SiteServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


# --- page states ---------------------------------------------------------------


@dataclass
class Reset:
    """Drives the reset pages the way a person does: through the emailed link."""

    page: Page
    base: str

    def open_link(self, username: str, code: str) -> None:
        query = urllib.parse.urlencode({"username": username, "code": code})
        self.page.goto(f"{self.base}/reset/?{query}")
        expect(self.page).to_have_url(f"{self.base}/reset/")

    def fill_passwords(self, password: str = NEW_PASSWORD, again: str | None = None) -> None:
        self.page.fill("#id_new_password1", password)
        self.page.fill("#id_new_password2", password if again is None else again)

    def submit(self) -> None:
        self.page.locator("#reset-form [type=submit]").click()  # in any language


STATES = (
    "fresh",
    "typing",
    "errors",
    "code-expired",
    "rate-limited",
    "service-down",
    "done",
    "forgot",
    "forgot-sent",
)


def reach(state: str, reset: Reset, pool: Any, proxy: Any) -> None:
    """Bring the page to ``state``: ``pool`` is the emulator's (with USERNAME in it),
    ``proxy`` the fault proxy the site talks to Cognito through."""
    page = reset.page
    proxy.set("pass")
    if state in ("forgot", "forgot-sent"):
        page.goto(f"{reset.base}/forgot/")
        if state == "forgot-sent":
            page.fill("#id_username", USERNAME)
            page.locator("main form [type=submit]").click()
            expect(page).to_have_url(f"{reset.base}/forgot/sent/")
        return
    if state == "errors":
        # Refused by our own checks: a missing code and a common password.
        reset.open_link(USERNAME, "")
        page.fill("#id_code", "")  # the session may hold a code from an earlier link
        reset.fill_passwords("Password1!", "Password1!")
        reset.submit()
        expect(page.locator("#error-summary li")).to_have_count(2)
        return
    if state == "code-expired":
        reset.open_link(USERNAME, WRONG_CODE)
        reset.fill_passwords()
        reset.submit()
        expect(page.locator("#new-code")).to_be_visible()
        return
    reset.open_link(USERNAME, pool.request_code(USERNAME))
    if state == "fresh":
        return
    if state == "typing":
        page.fill("#id_new_password1", "Fresh-horse")
        page.locator("#id_new_password1 + .toggle").click()
        page.fill("#id_new_password2", "Fresh-horse")
        expect(page.locator("#match-hint")).to_have_class(re.compile(r"\bok\b"))
        return
    proxy.set(
        {
            "rate-limited": "error:LimitExceededException",
            "service-down": "unknown_error",
            "done": "pass",
        }[state]
    )
    reset.fill_passwords()
    reset.submit()
    if state == "done":
        expect(page).to_have_url(f"{reset.base}/reset/done/")
    else:
        expect(page.locator("#error-summary")).to_be_visible()
    proxy.set("pass")


# --- a site of its own, for the scripts ---------------------------------------------


@contextmanager
def standalone_site(sign_in_url: str = "/") -> Iterator[tuple[str, Any, Any]]:
    """The site, moto and the fault proxy in this process, for scripts outside pytest.

    Yields (base URL, pool with USERNAME in it, fault proxy). Call it before anything
    imports Django settings: it points the test settings at the emulator.
    """
    import logging
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from emulator import create_pool
    from moto.server import ThreadedMotoServer

    from tests.faultproxy import FaultProxy

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    proxy = FaultProxy(f"http://127.0.0.1:{moto.get_host_and_port()[1]}").start()
    try:
        pool = create_pool(proxy.upstream)
        pool.create_user(USERNAME, "Old-Password-1")
        os.environ.update(
            {
                **pool.env(),
                "COGNITO_ENDPOINT_URL": proxy.url,
                "SIGN_IN_URL": sign_in_url,
                "LOG_LEVEL": "WARNING",
                "DJANGO_SETTINGS_MODULE": "tests.settings",
            }
        )
        import django
        from django.core.management import call_command

        django.setup()
        call_command("collectstatic", interactive=False, verbosity=0)
        server = SiteServer().start()
        try:
            yield server.url, pool, proxy
        finally:
            server.stop()
    finally:
        proxy.stop()
        moto.stop()


def fresh_limits() -> None:
    """Forget our own rate-limit counters: a script walks the states many times."""
    from django.core.cache import cache

    cache.clear()
