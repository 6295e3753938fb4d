"""Breached passwords: the Pwned Passwords range API, k-anonymous, failing open or closed.

The service is a stand-in on loopback (scripts/pwned_standin.py) that answers as
the real one does, padding included; Cognito is moto behind the fault proxy.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pwned_standin import RangeStandIn

from accounts import breach
from accounts.pwned import MalformedRange, Outcome, RangeClient, count_in_range, sha1_parts
from tests.conftest import NEW_PASSWORD
from tests.test_metrics import sample

ROOT = Path(__file__).resolve().parent.parent
BREACHED = "Correct-Horse-Battery-1"  # in the stand-in's list; fine by every other rule
BREACHED_MESSAGE = "This password has appeared in a data breach"


# --- the pure client -------------------------------------------------------------


def test_sha1_parts_known_answer() -> None:
    # SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
    assert sha1_parts("password") == ("5BAA6", "1E4C9B93F3F0682250B6CF8331B7EE68FD8")
    prefix, suffix = sha1_parts("pässwörd 名前")  # UTF-8, as the service hashes it
    assert len(prefix) == 5
    assert len(suffix) == 35


def test_count_in_range_ignores_padding_and_reads_counts() -> None:
    suffix = "1E4C9B93F3F0682250B6CF8331B7EE68FD8"
    padding = "0" * 34 + "1:0\r\n"
    assert count_in_range(f"{padding}{suffix}:10434004\r\n".encode(), suffix) == 10434004
    assert count_in_range(f"{padding}{suffix.lower()}:1,234\n".encode(), suffix) == 1234
    assert count_in_range(f"{suffix}:0\r\n{padding}".encode(), suffix) == 0  # a padding row
    assert count_in_range(padding.encode(), suffix) == 0


@pytest.mark.parametrize(
    "body",
    [b"", b"\r\n", b"<html>portal</html>", b"ABC:1\r\n", b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:x"],
)
def test_count_in_range_refuses_what_is_not_a_range(body: bytes) -> None:
    with pytest.raises(MalformedRange):
        count_in_range(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD8")


def test_client_finds_breached_passwords_sending_only_the_prefix(pwned: RangeStandIn) -> None:
    client = RangeClient(pwned.url, timeout=2)
    found = client.check(BREACHED)
    assert found.outcome is Outcome.FOUND
    assert found.count == 51_203
    assert client.check(NEW_PASSWORD).outcome is Outcome.NOT_FOUND
    assert len(pwned.requests) == 2
    for request, password in zip(pwned.requests, (BREACHED, NEW_PASSWORD), strict=True):
        prefix, suffix = sha1_parts(password)
        assert request["path"] == f"/range/{prefix}"  # 5 characters, nothing more
        assert request["headers"]["Add-Padding"] == "true"
        sent = str(request)
        assert suffix not in sent
        assert password not in sent


@pytest.mark.parametrize(
    ("mode", "delay", "reason"),
    [
        ("slow", 3.0, "timeout"),
        ("drip", 0.05, "timeout"),  # bytes keep coming, but too slowly
        ("500", 0.0, "http_500"),
        ("garbage", 0.0, "malformed"),
        ("empty", 0.0, "malformed"),
    ],
)
def test_client_reports_a_failing_service_within_its_timeout(
    pwned: RangeStandIn, mode: str, delay: float, reason: str
) -> None:
    pwned.set(mode, delay)
    client = RangeClient(pwned.url, timeout=0.5)
    started = time.monotonic()
    result = client.check(BREACHED)
    assert time.monotonic() - started < 2.0  # the timeout, and generous room on a busy machine
    assert result.outcome is Outcome.ERROR
    assert result.reason == reason


def test_client_reports_a_service_that_is_not_there(closed_port: int) -> None:
    client = RangeClient(f"http://127.0.0.1:{closed_port}/range/", timeout=0.5)
    result = client.check(BREACHED)
    assert result.outcome is Outcome.ERROR
    assert result.reason == "unreachable"


def test_a_stalled_lookup_ties_up_at_most_max_in_flight_requests(
    pwned: RangeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stalled DNS lookup outlives every socket timeout; a check given up on at its
    # deadline still holds its slot until the lookup ends.
    # The stall lasts until the test ends it, not a fixed time: on a busy machine a
    # timed stall could end before the third check, or outlast the wait for its end.
    client = RangeClient(pwned.url, timeout=0.3, max_in_flight=2)
    real_request = client._request
    stall = threading.Event()

    def stalled(prefix: str, suffix: str) -> Any:
        stall.wait(30)
        return real_request(prefix, suffix)

    monkeypatch.setattr(client, "_request", stalled)
    assert [client.check(BREACHED).reason for _ in range(3)] == ["timeout", "timeout", "busy"]
    monkeypatch.setattr(client, "_request", real_request)
    stall.set()  # the stalled lookups end; their slots are free again
    for worker in threading.enumerate():
        if worker.name == "pwned-check":
            worker.join(30)
    assert client.check(BREACHED).outcome is Outcome.FOUND


def test_after_repeated_failures_checks_are_skipped_without_asking(
    pwned: RangeStandIn, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.PWNED_PASSWORDS_URL = pwned.url
    settings.PWNED_PASSWORDS_TIMEOUT = 0.5
    pwned.set("500")
    failed_before = sample("resetsite_breach_checks_total", outcome="failed")
    outcomes = [breach.check(NEW_PASSWORD) for _ in range(breach.BREAKER_FAILURES + 3)]
    assert set(outcomes) == {Outcome.ERROR}
    assert sample("resetsite_breach_checks_total", outcome="failed") == failed_before + 8
    assert len(pwned.requests) == breach.BREAKER_FAILURES  # then nothing was sent
    reasons = [
        getattr(r, "reason", None)
        for r in caplog.records
        if r.getMessage() == "breach_check_failed"
    ]
    assert reasons == ["http_500"] * breach.BREAKER_FAILURES + ["circuit_open"] * 3


# --- the reset form ----------------------------------------------------------------


def _reset(client: Client, user: str, code: str, password: str) -> Any:
    return client.post(
        "/reset/",
        {"username": user, "code": code, "new_password1": password, "new_password2": password},
    )


def test_a_breached_password_is_refused_before_cognito(
    client: Client, site: Any, user: str, proxy: Any, pwned: RangeStandIn
) -> None:
    code = site.request_code(user)
    refused = _reset(client, user, code, BREACHED)
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    html = refused.content.decode()
    assert BREACHED_MESSAGE in html
    assert f'value="{user}"' in html  # what was typed stays, except the passwords
    assert f'value="{code}"' in html
    assert BREACHED not in html
    assert proxy.calls("ConfirmForgotPassword") == []
    assert len(pwned.requests) == 1

    done = _reset(client, user, code, NEW_PASSWORD)
    assert done.status_code == HTTPStatus.FOUND
    assert site.can_sign_in(user, NEW_PASSWORD)
    assert len(pwned.requests) == 2


def test_the_checklist_says_when_it_is_checked(client: Client, site: Any, settings: Any) -> None:
    note = "Not found in a known data breach: we check this when you send the form."
    assert note in client.get("/reset/").content.decode()
    settings.PWNED_PASSWORDS_URL = ""
    assert note not in client.get("/reset/").content.decode()


def test_the_message_is_translated(client: Client, site: Any, user: str) -> None:
    code = site.request_code(user)
    client.get("/reset/?lang=de")
    refused = _reset(client, user, code, BREACHED)
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "Datenleck" in refused.content.decode()


@pytest.mark.parametrize(
    ("mode", "delay", "reason"),
    [("slow", 3.0, "timeout"), ("500", 0.0, "http_500"), ("garbage", 0.0, "malformed")],
)
def test_a_failing_service_fails_open_with_one_warning(
    client: Client,
    site: Any,
    user: str,
    pwned: RangeStandIn,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    delay: float,
    reason: str,
) -> None:
    settings.PWNED_PASSWORDS_TIMEOUT = 0.5
    pwned.set(mode, delay)
    code = site.request_code(user)
    with caplog.at_level(logging.INFO):
        started = time.monotonic()
        done = _reset(client, user, code, BREACHED)  # not checked: it goes through
        elapsed = time.monotonic() - started
    assert done.status_code == HTTPStatus.FOUND
    assert elapsed < 3.0
    assert site.can_sign_in(user, BREACHED)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["breach_check_failed"]
    assert warnings[0].reason == reason  # type: ignore[attr-defined]
    assert warnings[0].fail_open is True  # type: ignore[attr-defined]


def test_an_unreachable_service_fails_open(
    client: Client,
    site: Any,
    user: str,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    closed_port: int,
) -> None:
    settings.PWNED_PASSWORDS_URL = f"http://127.0.0.1:{closed_port}/range/"
    code = site.request_code(user)
    with caplog.at_level(logging.WARNING):
        assert _reset(client, user, code, NEW_PASSWORD).status_code == HTTPStatus.FOUND
    assert [r.getMessage() for r in caplog.records] == ["breach_check_failed"]


def test_fail_closed_refuses_without_calling_cognito(
    client: Client, site: Any, user: str, proxy: Any, pwned: RangeStandIn, settings: Any
) -> None:
    settings.PWNED_PASSWORDS_FAIL_OPEN = False
    pwned.set("500")
    code = site.request_code(user)
    refused = _reset(client, user, code, NEW_PASSWORD)
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    html = refused.content.decode()
    assert "couldn&#x27;t check this password" in html
    assert f'value="{code}"' in html
    assert proxy.calls("ConfirmForgotPassword") == []
    pwned.set("ok")  # back again: the same form goes through
    assert _reset(client, user, code, NEW_PASSWORD).status_code == HTTPStatus.FOUND


def test_turned_off_the_service_is_never_asked(
    client: Client, site: Any, user: str, pwned: RangeStandIn, settings: Any
) -> None:
    settings.PWNED_PASSWORDS_URL = ""
    assert breach.check(BREACHED) is Outcome.SKIPPED
    code = site.request_code(user)
    assert _reset(client, user, code, BREACHED).status_code == HTTPStatus.FOUND
    assert pwned.requests == []


def test_each_outcome_is_named_for_a_counter(site: Any, pwned: RangeStandIn) -> None:
    assert breach.check(BREACHED) is Outcome.FOUND
    assert breach.check(NEW_PASSWORD) is Outcome.NOT_FOUND
    pwned.set("500")
    assert breach.check(NEW_PASSWORD) is Outcome.ERROR
    assert {o.value for o in Outcome} == {"found", "not_found", "error", "skipped"}


# --- nothing of the hash leaves in a log or a page ------------------------------------


def test_no_password_hash_or_prefix_in_logs_or_pages(
    client: Client,
    site: Any,
    user: str,
    pwned: RangeStandIn,
    settings: Any,
    captured_logs: io.StringIO,
) -> None:
    code = site.request_code(user)
    captured_logs.seek(0)
    captured_logs.truncate()
    pages = [_reset(client, user, code, BREACHED)]  # refused: found
    pwned.set("500")
    settings.PWNED_PASSWORDS_FAIL_OPEN = False
    pages.append(_reset(client, user, code, NEW_PASSWORD))  # refused: unchecked
    settings.PWNED_PASSWORDS_FAIL_OPEN = True
    pwned.set("ok")
    pages.append(_reset(client, user, code, NEW_PASSWORD))  # accepted
    assert [p.status_code for p in pages] == [400, 400, 302]

    text = captured_logs.getvalue()
    assert "breach_check_failed" in text
    assert "/range/" in text  # urllib3 logged its requests, with the prefix redacted
    for password in (BREACHED, NEW_PASSWORD):
        prefix, suffix = sha1_parts(password)
        for secret in (password, prefix, suffix, (prefix + suffix).lower()):
            assert secret not in text, secret
            for page in pages:
                assert secret not in page.content.decode()
                assert all(secret not in value for _, value in page.items())


# --- configuration -----------------------------------------------------------------


def _settings(env: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SECRET_KEY": "x" * 50,
        "COGNITO_USER_POOL_ID": "eu-west-1_abc",
        "COGNITO_CLIENT_ID": "client",
        "COGNITO_READ_POLICY": "false",
        "DJANGO_SETTINGS_MODULE": "resetsite.settings",
    }
    return subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print({expression})"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_defaults_and_switching_off() -> None:
    values = "settings.PWNED_PASSWORDS_URL, settings.PWNED_PASSWORDS_TIMEOUT, "
    values += "settings.PWNED_PASSWORDS_FAIL_OPEN"
    default = _settings({}, values)
    assert default.returncode == 0, default.stderr
    assert default.stdout.split() == ["https://api.pwnedpasswords.com/range/", "1.0", "True"]
    off = _settings({"PWNED_PASSWORDS_URL": ""}, "repr(settings.PWNED_PASSWORDS_URL)")
    assert off.stdout.strip() == "''"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PWNED_PASSWORDS_URL", "ftp://mirror.example.com/range/"),
        ("PWNED_PASSWORDS_URL", "mirror.example.com/range/"),
        ("PWNED_PASSWORDS_TIMEOUT", "0"),
    ],
)
def test_bad_values_fail_at_start(name: str, value: str) -> None:
    result = _settings({name: value}, "settings.PWNED_PASSWORDS_URL")
    assert result.returncode != 0
    assert name in result.stderr


def test_a_crash_inside_the_check_is_an_error_not_a_500(
    client: Client,
    site: Any,
    user: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(self: RangeClient, prefix: str, suffix: str) -> Any:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(RangeClient, "check_hash", broken)
    code = site.request_code(user)
    with caplog.at_level(logging.WARNING):
        assert _reset(client, user, code, NEW_PASSWORD).status_code == HTTPStatus.FOUND
    assert [r.getMessage() for r in caplog.records] == ["breach_check_failed"]
