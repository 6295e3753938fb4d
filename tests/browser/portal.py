"""A company portal that frames the site with docs/embedding.md's snippet, and the
settings resetsite/settings.py computes for a given environment."""

from __future__ import annotations

import http.server
import json
import os
import re
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS_SITE = "https://reset.example.com"  # the snippet's placeholder for the site's origin
EMBEDDING_SETTINGS = (
    "FRAME_ANCESTORS",
    "MIDDLEWARE",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_NAME",
    "CSRF_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_NAME",
    "LANGUAGE_COOKIE_SAMESITE",
    "LANGUAGE_COOKIE_SECURE",
    "LANGUAGE_COOKIE_NAME",
)
# Where the portal's listener reports every message it gets, whatever its origin:
# to Playwright's exposed function, or (any engine) into window.portalMessages.
RECORDER = """<script>
  window.addEventListener("message", function (event) {
    window.portalReceived(event.origin, JSON.stringify(event.data));
  });
</script>"""
KEEPER = """<script>
  window.portalMessages = [];
  window.addEventListener("message", function (event) {
    window.portalMessages.push([event.origin, event.data]);
  });
</script>"""


def portal_snippet() -> str:
    """The copy-paste snippet of docs/embedding.md, exactly as documented."""
    found = re.search(r"```html\n(.*?)```", (ROOT / "docs/embedding.md").read_text(), re.S)
    assert found, "docs/embedding.md has no ```html snippet"
    assert DOCS_SITE in found[1]
    return found[1]


class Portal:
    """A page of a portal, on a loopback port of its own: the docs' snippet framing the site."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        portal = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(portal.body)))
                self.end_headers()
                self.wfile.write(portal.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                if not isinstance(sys.exc_info()[1], OSError):  # a refused certificate
                    super().handle_error(request, client_address)

        self.body = b""
        self.httpd = Server(("127.0.0.1", 0), Handler)
        if tls:
            self.httpd.socket = tls.wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self.scheme = "https" if tls else "http"
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def frame(self, site_origin: str, recorder: str = RECORDER) -> Portal:
        self.body = (
            '<!doctype html><html lang="en"><meta charset="utf-8"><title>Portal</title>'
            "<h1>Example portal</h1>\n"
            + portal_snippet().replace(DOCS_SITE, site_origin)
            + recorder
        ).encode()
        return self

    def origin(self, host: str = "localhost") -> str:
        return f"{self.scheme}://{host}:{self.port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def computed_settings(names: tuple[str, ...], **environment: str) -> dict[str, Any]:
    """What resetsite/settings.py computes in this environment, read from a fresh
    process (settings are computed once, at import), with the frame-ancestors list."""
    script = (
        "import json; from django.conf import settings as s; "
        f"names = {list(names)!r}; "
        "found = {n: getattr(s, n) for n in names}; "
        "found['frame-ancestors'] = s.CONTENT_SECURITY_POLICY['DIRECTIVES']['frame-ancestors']; "
        "print(json.dumps(found))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(result.stdout.splitlines()[-1]))


def embedding_settings(origins: list[str]) -> dict[str, Any]:
    return computed_settings(EMBEDDING_SETTINGS, FRAME_ANCESTORS=",".join(origins))
