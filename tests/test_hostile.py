"""Hostile input: never a 5xx, never an invalid request to Cognito, never a leaked secret."""

from __future__ import annotations

import io
import json
import logging
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import Client

from accounts import logs
from tests.cognito_model import assert_valid_request
from tests.conftest import NEW_PASSWORD, USERNAME
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.e2e

HOSTILE_VALUES = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "x" * 129,
    "x" * 5000,
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ settings.SECRET_KEY }}",
    "名前テスト",
    "مرحبا",
    "emoji😀",
    "\u202eevil",
    "line\nbreak",
    "tab\there",
    "../../etc/passwd",
    "' OR 1=1 --",
    "%00%0d%0a",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize("field", ["username", "code", "new_password1", "new_password2"])
def test_reset_hostile_field(
    client: Client, site: Any, proxy: FaultProxy, field: str, value: str
) -> None:
    data = {
        "username": USERNAME,
        "code": "123456",
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
        field: value,
    }
    response = client.post("/reset/", data)
    assert response.status_code < 500
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert NEW_PASSWORD not in html
    for body in proxy.calls("ConfirmForgotPassword"):
        assert_valid_request("ConfirmForgotPassword", body)


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_forgot_hostile_username(client: Client, site: Any, proxy: FaultProxy, value: str) -> None:
    response = client.post("/forgot/", {"username": value})
    assert response.status_code < 500
    assert "<script>alert" not in response.content.decode()
    for body in proxy.calls("ForgotPassword"):
        assert_valid_request("ForgotPassword", body)


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_link(client: Client, site: Any, value: str) -> None:
    response = client.get("/reset/", {"username": value, "code": value})
    assert response.status_code == HTTPStatus.FOUND
    page = client.get("/reset/")
    assert page.status_code == HTTPStatus.OK
    assert "<script>alert" not in page.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": USERNAME},
        {"code": "123456"},
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        {"unexpected": "x" * 1000},
    ],
)
def test_missing_fields(client: Client, site: Any, proxy: FaultProxy, data: dict[str, str]) -> None:
    response = client.post("/reset/", data)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert proxy.calls("ConfirmForgotPassword") == []


def test_huge_body_is_refused_cleanly(client: Client, site: Any, proxy: FaultProxy) -> None:
    response = client.post("/reset/", {"username": "x" * 300_000})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert proxy.calls("ConfirmForgotPassword") == []


def test_multipart_is_refused_before_parsing(client: Client, site: Any, proxy: FaultProxy) -> None:
    # The site's forms are urlencoded; multipart would spool file parts to disk.
    multipart = Client()  # Django's test client posts multipart by default
    response = multipart.post("/reset/", {"username": USERNAME, "file": io.BytesIO(b"x" * 1000)})
    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert proxy.calls("ConfirmForgotPassword") == []


def test_duplicated_fields_and_wrong_content_type(
    client: Client, site: Any, proxy: FaultProxy
) -> None:
    dup = client.post(
        "/reset/",
        "username=a&username=b&code=1&code=2",
        content_type="application/x-www-form-urlencoded",
    )
    assert dup.status_code == HTTPStatus.BAD_REQUEST
    js = client.post("/reset/", '{"username": "a"}', content_type="application/json")
    assert js.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    for raw in (
        b"\xff\xfe\x00garbage",
        b"username=%ED%A0%80&code=%FF%FE",
        b"username=" + "名前".encode("shift_jis"),
    ):
        bad = client.post("/reset/", raw, content_type="application/x-www-form-urlencoded")
        assert bad.status_code == HTTPStatus.BAD_REQUEST  # the form again, saying what's missing
        assert "Enter a new password." in bad.content.decode()
    assert proxy.calls("ConfirmForgotPassword") == []


def test_unknown_methods_and_paths(client: Client, site: Any) -> None:
    assert client.put("/reset/").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.delete("/forgot/").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    missing = client.get("/nope/")
    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in missing.content.decode()


def test_bad_host_header_is_refused(client: Client, site: Any) -> None:
    response = client.get("/reset/", HTTP_HOST="evil.example")
    assert response.status_code == HTTPStatus.BAD_REQUEST


# --- secrets hygiene -----------------------------------------------------------


def test_no_secret_in_logs_or_pages_at_debug(
    client: Client, site: Any, user: str, proxy: FaultProxy, captured_logs: Any
) -> None:
    from accounts.secrethash import secret_hash

    code = site.request_code(user)
    # Forget what the test's own emulator client logged (moto returns the code in a header).
    captured_logs.seek(0)
    captured_logs.truncate()
    pages = [client.get("/reset/", {"username": user, "code": code})]
    pages.append(client.get("/reset/"))
    weak = "Weak-but-long-1 "
    pages.append(
        client.post(
            "/reset/",
            {"username": user, "code": code, "new_password1": weak, "new_password2": weak},
        )
    )
    pages.append(
        client.post(
            "/reset/",
            {
                "username": user,
                "code": code + "0",
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
    )
    pages.append(
        client.post(
            "/reset/",
            {
                "username": user,
                "code": code,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
    )
    pages.append(client.get("/reset/done/"))
    proxy.set("500")
    pages.append(
        client.post(
            "/reset/",
            {
                "username": user,
                "code": code,
                "new_password1": NEW_PASSWORD + "x",
                "new_password2": NEW_PASSWORD + "x",
            },
        )
    )
    pages.append(client.post("/forgot/", {"username": user}))
    # Two links refused before any view, whose request Django attaches to its record.
    link = {"username": user, "code": code}
    pages.append(client.get("/reset/", link, HTTP_HOST="scanner.invalid"))
    pages.append(client.get("/reset/?" + urlencode([*link.items(), *TOO_MANY_FIELDS])))
    assert [page.status_code for page in pages[-2:]] == [HTTPStatus.BAD_REQUEST] * 2

    text = captured_logs.getvalue()
    refused = [
        json.loads(line)
        for line in text.splitlines()
        if '"django.security.' in line.split('"logger": ', 1)[-1][:40]
    ]
    assert [r["logger"] for r in refused] == [
        "django.security.DisallowedHost",
        "django.security.TooManyFieldsSent",
    ]
    for record in refused:
        assert record["request"] == "<WSGIRequest: GET '/reset/'>"  # no query string
        assert user not in json.dumps(record)
        assert quote(user) not in json.dumps(record)
    assert "reset_attempt" in text
    assert "botocore" in text
    digits = code.rsplit(":", 1)[1]
    hashed = secret_hash(username=user, client_id=site.client_id, client_secret=site.client_secret)
    for secret in (NEW_PASSWORD, weak.strip(), digits, site.client_secret, hashed):
        assert secret not in text, secret
    for page in pages[2:]:  # the link page itself shows the code in the form, by design
        body = page.content.decode()
        for secret in (NEW_PASSWORD, weak.strip(), site.client_secret, hashed):
            assert secret not in body
    for response in pages:
        for header, value in response.items():
            assert digits not in value, header


def test_django_error_reports_hide_secrets(
    site: Any, user: str, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected crash after the call: the 500 page and the error report hide secrets."""
    import sys

    from django.core.signals import got_request_exception
    from django.views.debug import ExceptionReporter

    from accounts import flows
    from tests.conftest import FormClient

    code = site.request_code(user)
    seen: list[Any] = []

    def crash(**kwargs: Any) -> None:
        raise RuntimeError("boom")

    def remember(sender: Any, request: Any, **kwargs: Any) -> None:
        seen.append((request, sys.exc_info()))

    monkeypatch.setattr(flows, "log_attempt", crash)
    got_request_exception.connect(remember)
    try:
        browser = FormClient(raise_request_exception=False)
        response = browser.post(
            "/reset/",
            {
                "username": user,
                "code": code,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
    finally:
        got_request_exception.disconnect(remember)
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Something went wrong" in response.content.decode()
    assert seen
    request, (exc_type, exc_value, tb) = seen[0]
    for is_email in (True, False):
        reporter = ExceptionReporter(request, exc_type, exc_value, tb, is_email=is_email)
        report = reporter.get_traceback_text() + reporter.get_traceback_html()
        assert "boom" in report  # the report is real
        assert NEW_PASSWORD not in report
        assert code.rsplit(":", 1)[1] not in report
        assert site.client_secret not in report


def test_bad_host_is_one_warning_line_without_traceback(
    client: Client, site: Any, captured_logs: Any
) -> None:
    # Django configured logging from settings.LOGGING at set-up, filters included.
    response = client.get("/reset/", HTTP_HOST="scanner.invalid")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    text = captured_logs.getvalue()
    lines = [line for line in text.splitlines() if "DisallowedHost" in line]
    assert lines
    assert all('"level": "warning"' in line for line in lines)
    assert "Traceback" not in text


# More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS (32), as a scanner's link may have.
TOO_MANY_FIELDS = [(f"x{i}", "1") for i in range(40)]


def test_too_many_fields_is_one_warning_line_without_traceback(
    client: Client, site: Any, captured_logs: Any
) -> None:
    query = urlencode([("username", USERNAME), ("code", "123456"), *TOO_MANY_FIELDS])
    response = client.get(f"/reset/?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Something in the request wasn" in response.content.decode()
    records = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    (line,) = [r for r in records if r["logger"].startswith("django.security.")]
    assert line["logger"] == "django.security.TooManyFieldsSent"
    assert line["level"] == "warning"
    assert "exception" not in line
    assert line["request"] == "<WSGIRequest: GET '/reset/'>"
    assert not [r for r in records if r["level"] in ("error", "critical")]
    assert "123456" not in captured_logs.getvalue()


def test_no_object_reaches_the_log_as_its_repr(captured_logs: Any) -> None:
    """Whatever a library attaches to a record, only primitives are written."""

    class Leaky:
        def __str__(self) -> str:
            return "code=123456&username=alice"

        __repr__ = __str__

    logging.getLogger("some.library").warning(
        "event",
        extra={
            "thing": Leaky(),
            "params": {"Username": "alice", "Password": "hunter2-Secret"},
            "count": 3,
            "flag": True,
            "note": "fine",
        },
    )
    (record,) = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    assert record["thing"] == "[redacted] Leaky"
    assert record["params"] == "[redacted] dict"
    assert (record["count"], record["flag"], record["note"]) == (3, True, "fine")
    assert "alice" not in captured_logs.getvalue()
    assert "hunter2" not in captured_logs.getvalue()


def test_the_formatter_alone_writes_no_object() -> None:
    """Without the RedactFilter (another handler, say), a request still stays out."""
    from django.test import RequestFactory

    request = RequestFactory().get("/reset/", {"username": "alice", "code": "123456"})
    record = logging.LogRecord("django.security.X", logging.WARNING, "", 0, "refused", None, None)
    record.request = request
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["request"] == "<WSGIRequest: GET '/reset/'>"


# --- the same security headers on every answer ----------------------------------


PAGE_HEADERS = (
    "Content-Security-Policy",
    "Permissions-Policy",
    "Cross-Origin-Resource-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "X-Frame-Options",
    "Strict-Transport-Security",
)


def _without_nonce(csp: str) -> str:
    return re.sub(r" 'nonce-[^']*'", "", csp)


@pytest.mark.parametrize("secure", [False, True])
@pytest.mark.parametrize("answer", ["bad_host", "too_many_fields", "unsupported_media", "healthz"])
def test_refused_and_early_answers_carry_the_page_headers(
    client: Client, site: Any, answer: str, secure: bool
) -> None:
    page = client.get("/forgot/", secure=secure)
    link = [("username", USERNAME), ("code", "123456")]
    response = {
        "bad_host": lambda: client.get("/reset/", link, HTTP_HOST="evil.example", secure=secure),
        "too_many_fields": lambda: client.get(
            "/reset/?" + urlencode([*link, *TOO_MANY_FIELDS]), secure=secure
        ),
        "unsupported_media": lambda: client.post(
            "/reset/", b"{}", content_type="application/json", secure=secure
        ),
        "healthz": lambda: client.get("/healthz", secure=secure),
    }[answer]()
    assert (
        response.status_code
        == {
            "bad_host": HTTPStatus.BAD_REQUEST,
            "too_many_fields": HTTPStatus.BAD_REQUEST,
            "unsupported_media": HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "healthz": HTTPStatus.OK,
        }[answer]
    )
    for header in PAGE_HEADERS:
        if header == "Strict-Transport-Security":
            assert (header in page) is secure  # HSTS only over HTTPS, as for pages
        else:
            assert header in page, header
        expected, got = page.get(header), response.get(header)
        if header == "Content-Security-Policy":
            expected, got = _without_nonce(page[header]), _without_nonce(response[header])
        assert got == expected, header


def test_early_answers_believe_no_forged_https(client: Client, site: Any, settings: Any) -> None:
    """From a peer that is not a trusted proxy, X-Forwarded-Proto changes nothing."""
    from accounts.clientip import parse_networks

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.0/8"])
    for path in ("/healthz", "/reset/"):
        forged = client.post(
            path, b"{}", content_type="application/json", HTTP_X_FORWARDED_PROTO="https"
        )
        assert "Strict-Transport-Security" not in forged
        assert forged["X-Frame-Options"] == "DENY"
        trusted = client.post(
            path,
            b"{}",
            content_type="application/json",
            HTTP_X_FORWARDED_PROTO="https",
            REMOTE_ADDR="10.1.1.1",
        )
        assert trusted.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
        assert "Strict-Transport-Security" in trusted
