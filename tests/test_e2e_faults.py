"""End to end when Cognito misbehaves: the site (Django test client) → fault proxy → moto.

Faults are injected at the proxy (tests/faultproxy.py): errors, throttling, slowness,
hangs, resets and malformed answers, for both forms.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client

from tests.conftest import NEW_PASSWORD, OLD_PASSWORD
from tests.faultproxy import FaultProxy
from tests.test_e2e import submit

pytestmark = pytest.mark.e2e


# --- Cognito misbehaving ------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "text"),
    [
        ("500", HTTPStatus.SERVICE_UNAVAILABLE, "can&#x27;t tell whether your password changed"),
        ("throttle", HTTPStatus.SERVICE_UNAVAILABLE, "A lot of people are resetting"),
        ("unknown_error", HTTPStatus.SERVICE_UNAVAILABLE, "isn&#x27;t answering"),
        ("malformed_error", HTTPStatus.SERVICE_UNAVAILABLE, "answering"),
        ("reset", HTTPStatus.SERVICE_UNAVAILABLE, "can&#x27;t tell whether"),
        ("hang", HTTPStatus.SERVICE_UNAVAILABLE, "can&#x27;t tell whether"),
        ("malformed", HTTPStatus.SERVICE_UNAVAILABLE, "can&#x27;t tell whether"),
    ],
)
def test_cognito_faults_give_a_friendly_page(
    client: Client, site: Any, user: str, proxy: FaultProxy, mode: str, status: int, text: str
) -> None:
    code = site.request_code(user)
    proxy.set(mode)
    started = time.monotonic()
    response = submit(client, code=code)
    elapsed = time.monotonic() - started
    html = response.content.decode()
    assert response.status_code == status
    assert text in html
    assert 'role="alert"' in html
    assert f'value="{code}"' in html
    assert f'value="{user}"' in html
    assert NEW_PASSWORD not in html
    assert elapsed < 15
    if mode == "throttle":  # busy for everyone: a few seconds
        assert 0 < int(response["Retry-After"]) <= 6
    calls = len(proxy.calls("ConfirmForgotPassword"))
    if mode == "throttle":
        assert calls == 2  # refused before it ran: retried once
    else:
        # Never retried: a second attempt could turn success into "wrong code".
        assert calls == 1


def test_slow_cognito_within_the_timeout_succeeds(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    code = site.request_code(user)
    proxy.set("slow", delay=0.5)
    response = submit(client, code=code)
    assert response.status_code == HTTPStatus.FOUND
    assert site.can_sign_in(user, NEW_PASSWORD)


def test_slow_cognito_past_the_timeout_is_an_unknown_outcome(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    code = site.request_code(user)
    client.get("/reset/")  # read the policy while Cognito is quick
    proxy.set("slow", delay=1.5)  # the tests' read timeout is 1 s
    response = submit(client, code=code)
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "can&#x27;t tell whether" in response.content.decode()
    assert len(proxy.calls("ConfirmForgotPassword")) == 1


def test_unreachable_cognito(
    client: Client, site: Any, user: str, settings: Any, closed_port: int
) -> None:
    code = site.request_code(user)
    settings.COGNITO_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
    started = time.monotonic()
    response = submit(client, code=code)
    assert time.monotonic() - started < 15
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "Try again in a minute" in response.content.decode()
    assert site.can_sign_in(user, OLD_PASSWORD)


def test_hang_with_default_timeouts_answers_within_15_seconds(
    client: Client, site: Any, user: str, proxy: FaultProxy, settings: Any
) -> None:
    settings.COGNITO_READ_TIMEOUT = 5.0
    settings.COGNITO_CONNECT_TIMEOUT = 2.0
    code = site.request_code(user)
    proxy.set("hang")
    started = time.monotonic()
    response = submit(client, code=code)
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert time.monotonic() - started < 15


@pytest.mark.parametrize(
    ("mode", "status"),
    [
        ("500", HTTPStatus.SERVICE_UNAVAILABLE),
        ("throttle", HTTPStatus.SERVICE_UNAVAILABLE),
        ("hang", HTTPStatus.SERVICE_UNAVAILABLE),
        ("reset", HTTPStatus.SERVICE_UNAVAILABLE),
        ("malformed", HTTPStatus.SERVICE_UNAVAILABLE),
        ("malformed_error", HTTPStatus.SERVICE_UNAVAILABLE),
        ("unknown_error", HTTPStatus.SERVICE_UNAVAILABLE),
        ("error:CodeDeliveryFailureException", HTTPStatus.SERVICE_UNAVAILABLE),
        ("slow", HTTPStatus.FOUND),
    ],
)
def test_forgot_under_every_fault(
    client: Client, site: Any, proxy: FaultProxy, mode: str, status: int
) -> None:
    client.get("/forgot/")
    proxy.set(mode, delay=0.3)
    started = time.monotonic()
    response = client.post("/forgot/", {"username": "someone@example.com"})
    assert time.monotonic() - started < 15
    assert response.status_code == status
    if status != HTTPStatus.FOUND:
        html = response.content.decode()
        assert 'role="alert"' in html
        assert 'value="someone@example.com"' in html  # nothing typed is lost
    expected_calls = 2 if mode == "throttle" else 1  # only the refused call is retried
    assert len(proxy.calls("ForgotPassword")) == expected_calls


def test_forgot_when_cognito_throttles(client: Client, site: Any, proxy: FaultProxy) -> None:
    proxy.set("throttle")
    response = client.post("/forgot/", {"username": "someone"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert 0 < int(response["Retry-After"]) <= 6
    html = response.content.decode()
    assert "so we haven&#x27;t sent yours yet" in html
    assert "then press “Send code” again" in html
    assert 'value="someone"' in html


def test_forgot_when_cognito_is_down(client: Client, site: Any, proxy: FaultProxy) -> None:
    proxy.set("500")
    response = client.post("/forgot/", {"username": "someone"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "Try again in a minute" in response.content.decode()


@pytest.mark.parametrize(
    ("error", "status", "field", "text"),
    [
        ("CodeMismatchException", 400, "code", "wrong or has expired"),
        ("UserNotFoundException", 400, "code", "wrong or has expired"),
        ("InvalidPasswordException", 400, "new_password1", "meet the requirements"),
        ("PasswordHistoryPolicyViolationException", 400, "new_password1", "used this password"),
        ("InvalidParameterException", 400, None, "these details"),
        ("UserLambdaValidationException", 400, None, "rules refused"),
        ("TooManyFailedAttemptsException", 429, None, "Too many attempts"),
        ("LimitExceededException", 429, None, "Too many attempts"),
        ("ForbiddenException", 403, None, "blocked"),
        ("InternalErrorException", 503, None, "can&#x27;t tell whether"),
        ("OperationNotEnabledException", 503, None, "Try again in a minute"),
    ],
)
def test_cognito_errors_reach_the_right_field(
    client: Client,
    site: Any,
    proxy: FaultProxy,
    error: str,
    status: int,
    field: str | None,
    text: str,
) -> None:
    proxy.set(f"error:{error}")
    response = submit(client, code="123456")
    html = response.content.decode()
    assert response.status_code == status
    assert text in html
    if field:
        assert f'id="id_{field}_error"' in html
    else:
        assert 'class="error"' not in html  # a form-level message, in the summary only
    assert 'role="alert"' in html


def test_healthz_does_not_call_cognito(client: Client, site: Any, proxy: FaultProxy) -> None:
    proxy.set("hang")
    started = time.monotonic()
    response = client.get("/healthz")
    assert response.status_code == HTTPStatus.OK
    assert time.monotonic() - started < 1
    assert proxy.requests == []
    assert response["Cache-Control"] == "no-store"
    # Probes address the pod by IP: /healthz answers whatever the Host header says.
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == HTTPStatus.OK
    assert client.head("/healthz").status_code == HTTPStatus.OK
