"""A WSGI app with no framework at all: what gunicorn alone costs per request.

GET answers 200 "ok"; POST reads the body and answers the 302 a reset answers.
"""

from collections.abc import Callable, Iterable
from typing import Any


def application(
    environ: dict[str, Any], start_response: Callable[[str, list[tuple[str, str]]], Any]
) -> Iterable[bytes]:
    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"ok\n"]
    environ["wsgi.input"].read()
    start_response("302 Found", [("Location", "/reset/done/"), ("Content-Length", "0")])
    return [b""]
