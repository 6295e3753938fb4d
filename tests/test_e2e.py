"""End to end over HTTP: the site (Django test client) → fault proxy → moto server.

moto checks neither SecretHash nor the password policy, so the requests the site
sent are captured at the proxy and checked here.
"""

from __future__ import annotations

import html
import logging
import re
import time
import urllib.parse
from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client

from accounts.clientip import parse_networks
from accounts.secrethash import secret_hash
from tests.cognito_model import assert_valid_request
from tests.conftest import NEW_PASSWORD, OLD_PASSWORD, USERNAME, FormClient
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.e2e


def open_link(client: Client, username: str, code: str) -> Any:
    query = urllib.parse.urlencode({"username": username, "code": code})
    return client.get(f"/reset/?{query}")


def submit(client: Client, **fields: str) -> Any:
    data = {
        "username": USERNAME,
        "code": "",
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
        **fields,
    }
    return client.post("/reset/", data)


def test_full_reset_through_emailed_link(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    code = site.request_code(user)

    response = open_link(client, user, code)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/reset/"  # the code left the URL at once

    form = client.get("/reset/")
    html = form.content.decode()
    assert form.status_code == HTTPStatus.OK
    assert f'value="{code}"' in html  # prefilled, editable
    assert 'value="alice@example.com"' in html
    # The code is on no URL of the page (href, src, action), so Referer can't leak it.
    for url in re.findall(r'(?:href|src|action)="([^"]*)"', html):
        assert code not in urllib.parse.unquote(url)
    assert form["Cache-Control"].count("no-store") == 1
    assert form["Referrer-Policy"] == "same-origin"

    done = submit(client, code=code)
    assert done.status_code == HTTPStatus.FOUND
    assert done["Location"] == "/reset/done/"
    page = client.get("/reset/done/")
    assert page.status_code == HTTPStatus.OK
    assert "Sign in" in page.content.decode() or "changed" in page.content.decode()

    assert site.can_sign_in(user, NEW_PASSWORD)
    assert not site.can_sign_in(user, OLD_PASSWORD)

    (sent,) = proxy.calls("ConfirmForgotPassword")
    assert sent["ClientId"] == site.client_id
    assert sent["Username"] == user
    assert sent["ConfirmationCode"] == code
    assert sent["SecretHash"] == secret_hash(
        username=user, client_id=site.client_id, client_secret=site.client_secret
    )
    assert sent["UserContextData"] == {"IpAddress": "127.0.0.1"}
    assert "AWS4-HMAC-SHA256" not in str(proxy.requests[-1]["headers"])  # unsigned

    # The stored code is cleared after success.
    assert 'value="' + code not in client.get("/reset/").content.decode()


def test_pasted_code_with_spaces_and_newlines_works(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    code = site.request_code(user)
    prefix, digits = code.rsplit(":", 1)
    pasted = f"  {prefix}:{digits[:3]} {digits[3:]}\n"
    response = submit(client, code=pasted)
    assert response.status_code == HTTPStatus.FOUND
    assert proxy.calls("ConfirmForgotPassword")[0]["ConfirmationCode"] == code
    assert site.can_sign_in(user, NEW_PASSWORD)


def test_client_ip_through_trusted_proxy(
    client: Client, site: Any, user: str, proxy: FaultProxy, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = parse_networks(["127.0.0.0/8"])
    code = site.request_code(user)
    response = client.post(
        "/reset/",
        {
            "username": user,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        HTTP_X_FORWARDED_FOR="198.51.100.23, 127.0.0.2",
    )
    assert response.status_code == HTTPStatus.FOUND
    assert proxy.calls("ConfirmForgotPassword")[0]["UserContextData"]["IpAddress"] == (
        "198.51.100.23"
    )


def test_forged_forwarded_for_changes_nothing_without_trusted_proxies(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    code = site.request_code(user)
    client.post(
        "/reset/",
        {
            "username": user,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        HTTP_X_FORWARDED_FOR="198.51.100.23",
    )
    assert proxy.calls("ConfirmForgotPassword")[0]["UserContextData"]["IpAddress"] == "127.0.0.1"


def _assert_code_error(response: Any) -> None:
    html = response.content.decode()
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert 'role="alert"' in html
    assert "wrong or has expired" in html
    assert 'aria-invalid="true"' in html
    assert 'id="id_code_error"' in html
    assert 'href="/forgot/"' in html
    assert NEW_PASSWORD not in html  # passwords are never echoed


def test_wrong_code(client: Client, site: Any, user: str) -> None:
    site.request_code(user)
    response = submit(client, code="moto-confirmation-code:000000")
    _assert_code_error(response)
    html = response.content.decode()
    assert 'value="moto-confirmation-code:000000"' in html  # kept for correction
    assert 'value="alice@example.com"' in html
    assert site.can_sign_in(user, OLD_PASSWORD)
    assert not site.can_sign_in(user, NEW_PASSWORD)


def test_reused_code(client: Client, site: Any, user: str) -> None:
    code = site.request_code(user)
    assert submit(client, code=code).status_code == HTTPStatus.FOUND
    # From another session (this one knows the reset is done, and says so instead).
    again = submit(
        FormClient(), code=code, new_password1="Another-Pass-77", new_password2="Another-Pass-77"
    )
    _assert_code_error(again)
    assert site.can_sign_in(user, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Short-1a", "At least 10 characters"),  # the pool's own minimum (DescribeUserPool)
        ("alllowercase-1", "An uppercase letter"),
        ("Password1!", "too common"),
        ("Alice@example1", "too similar to your username"),
        (" Leading-space-Pass1", "can&#x27;t start or end with a space"),
        ("Trailing-space-Pass1 ", "can&#x27;t start or end with a space"),
        ("Tab\tinside-Pass1", "no tabs, line breaks or other kinds of space"),
        ("No\u00a0break-Pass1", "no tabs, line breaks or other kinds of space"),
        ("A1-" + "x" * 260, "at most 256"),
    ],
)
def test_weak_password_never_reaches_cognito(
    client: Client, site: Any, user: str, proxy: FaultProxy, password: str, message: str
) -> None:
    code = site.request_code(user)
    response = submit(client, code=code, new_password1=password, new_password2=password)
    html = response.content.decode()
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in html
    assert 'id="id_new_password1_error"' in html
    assert password not in html
    assert proxy.calls("ConfirmForgotPassword") == []
    assert site.can_sign_in(user, OLD_PASSWORD)


PASSPHRASE = "Tiny Green Frog Jumps 42"


def test_passphrase_with_spaces_resets_and_signs_in(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    """Cognito allows inner spaces and counts them as symbols: the pool requires a
    symbol, and this passphrase has no other."""
    code = site.request_code(user)
    open_link(client, user, code)
    done = submit(client, code=code, new_password1=PASSPHRASE, new_password2=PASSPHRASE)
    assert done.status_code == HTTPStatus.FOUND
    assert done["Location"] == "/reset/done/"
    (sent,) = proxy.calls("ConfirmForgotPassword")
    assert sent["Password"] == PASSPHRASE  # exactly as typed, nothing trimmed or changed
    assert_valid_request("ConfirmForgotPassword", sent)  # the service's own pattern
    assert site.can_sign_in(user, PASSPHRASE)
    assert not site.can_sign_in(user, OLD_PASSWORD)
    assert not site.can_sign_in(user, PASSPHRASE.replace(" ", ""))


def test_space_at_either_end_is_refused_not_trimmed(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    code = site.request_code(user)
    for password in (f" {PASSPHRASE}", f"{PASSPHRASE} ", f"  {PASSPHRASE}  "):
        response = submit(client, code=code, new_password1=password, new_password2=password)
        html = response.content.decode()
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "Your password can&#x27;t start or end with a space." in html
        assert 'id="id_new_password1_error"' in html
        assert PASSPHRASE not in html
        assert f'value="{code}"' in html  # what was typed, but the passwords, is kept
    assert proxy.calls("ConfirmForgotPassword") == []
    assert site.can_sign_in(user, OLD_PASSWORD)


def test_mismatched_passwords(client: Client, site: Any, user: str, proxy: FaultProxy) -> None:
    code = site.request_code(user)
    response = submit(client, code=code, new_password2=NEW_PASSWORD + "x")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "don&#x27;t match" in response.content.decode()
    assert proxy.calls("ConfirmForgotPassword") == []
    assert site.can_sign_in(user, OLD_PASSWORD)


def _normalise(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'name="username" value="[^"]*"', "", html)


def test_unknown_user_looks_exactly_like_a_wrong_code(client: Client, site: Any, user: str) -> None:
    site.request_code(user)
    wrong_code = submit(client, code="moto-confirmation-code:000000")
    unknown = submit(client, username="nobody@example.com", code="moto-confirmation-code:000000")
    assert unknown.status_code == wrong_code.status_code == HTTPStatus.BAD_REQUEST
    assert _normalise(unknown.content.decode()) == _normalise(wrong_code.content.decode())


def test_forgot_page_reveals_nothing(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    known = client.post("/forgot/", {"username": user})
    unknown = client.post("/forgot/", {"username": "nobody@example.com"})
    assert known.status_code == unknown.status_code == HTTPStatus.FOUND
    assert known["Location"] == unknown["Location"] == "/forgot/sent/"
    sent = client.get("/forgot/sent/").content.decode()
    assert "If an account exists" in sent
    assert 'href="/reset/"' in sent
    # The way on to /reset/ has the username prefilled.
    assert 'value="nobody@example.com"' in client.get("/reset/").content.decode()
    calls = proxy.calls("ForgotPassword")
    assert [c["Username"] for c in calls] == [user, "nobody@example.com"]
    assert calls[0]["SecretHash"] == secret_hash(
        username=user, client_id=site.client_id, client_secret=site.client_secret
    )


def attempts(caplog: pytest.LogCaptureFixture, action: str = "forgot") -> list[Any]:
    return [
        r
        for r in caplog.records
        if r.name == "accounts.attempts" and getattr(r, "action", None) == action
    ]


INVITED = "invited@example.com"


def test_invited_user_gets_the_same_answer_and_the_sent_page_helps(
    client: Client, site: Any, user: str, proxy: FaultProxy, settings: Any, caplog: Any
) -> None:
    """An invited user (FORCE_CHANGE_PASSWORD) can't reset: Cognito raises
    NotAuthorizedException and sends nothing. moto sends a code anyway, so the proxy
    answers as Cognito does. The answer stays neutral; the log says what happened."""
    settings.SUPPORT_URL = "https://help.example.com/reset"
    settings.SIGN_IN_URL = "https://app.example.com/sign-in"
    site.client().admin_create_user(
        UserPoolId=site.user_pool_id,
        Username=INVITED,
        TemporaryPassword="Temporary-Pass-1",
        UserAttributes=[
            {"Name": "email", "Value": INVITED},
            {"Name": "email_verified", "Value": "true"},
        ],
        MessageAction="SUPPRESS",
    )
    proxy.model_invited_users(site.user_pool_id)
    pages = []
    with caplog.at_level(logging.INFO):
        for username in (INVITED, user, "nobody@example.com"):
            answer = client.post("/forgot/", {"username": username})
            assert answer.status_code == HTTPStatus.FOUND
            assert answer["Location"] == "/forgot/sent/"
            pages.append(client.get("/forgot/sent/").content.decode())
    assert pages[0] == pages[1] == pages[2]  # nothing tells the three apart
    sent = pages[0]
    assert "If an account exists" in sent
    assert "Invited, and never set a password?" in sent
    assert "temporary password from your invitation email" in sent
    assert 'href="https://help.example.com/reset"' in sent
    assert 'href="https://app.example.com/sign-in" data-sign-in' in sent

    invited, known, unknown = attempts(caplog)
    assert (invited.outcome, invited.error_code) == ("not_resettable", "NotAuthorizedException")
    # PreventUserExistenceErrors=ENABLED: Cognito answers success for an unknown user.
    assert (known.outcome, known.error_code) == ("sent", None)
    assert (unknown.outcome, unknown.error_code) == ("sent", None)
    assert {r.levelno for r in (invited, known, unknown)} == {logging.INFO}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "cognito_misconfiguration" not in caplog.text
    assert [c["Username"] for c in proxy.calls("ForgotPassword")] == [
        INVITED,
        user,
        "nobody@example.com",
    ]


def test_sent_page_without_support_or_sign_in_settings(client: Client, site: Any) -> None:
    sent = client.get("/forgot/sent/").content.decode()
    assert "Invited, and never set a password?" in sent
    assert "ask whoever invited you" in sent
    assert "data-sign-in" not in sent
    assert 'class="support"' not in sent


@pytest.mark.parametrize(
    ("mode", "outcome", "misconfigured"),
    [
        # PreventUserExistenceErrors=LEGACY: Cognito says the user does not exist.
        ("error:UserNotFoundException", "unknown_user", False),
        # No verified email or phone number on the account.
        ("error:InvalidParameterException", "not_resettable", False),
        # NotAuthorizedException for another reason (e.g. a wrong SecretHash): ours to fix.
        ("error:NotAuthorizedException", "not_sent", True),
    ],
)
def test_every_neutral_forgot_outcome_is_logged_as_what_it_was(
    client: Client,
    site: Any,
    proxy: FaultProxy,
    caplog: Any,
    mode: str,
    outcome: str,
    misconfigured: bool,
) -> None:
    proxy.set(mode)
    with caplog.at_level(logging.INFO):
        answer = client.post("/forgot/", {"username": "someone@example.com"})
    assert answer.status_code == HTTPStatus.FOUND
    assert answer["Location"] == "/forgot/sent/"
    (attempt,) = attempts(caplog)
    assert attempt.outcome == outcome
    assert attempt.error_code == mode.split(":", 1)[1]
    assert attempt.levelno == logging.INFO
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == (["cognito_misconfiguration"] if misconfigured else [])


def test_expired_code_route_to_new_code(client: Client, site: Any, user: str) -> None:
    open_link(client, user, "moto-confirmation-code:000000")
    failed = submit(client, code="moto-confirmation-code:000000")
    assert 'href="/forgot/"' in failed.content.decode()
    page = client.get("/forgot/").content.decode()
    assert f'value="{user}"' in page  # prefilled
    assert client.post("/forgot/", {"username": user}).status_code == HTTPStatus.FOUND


def test_csrf_missing_is_refused_without_calling_cognito(
    site: Any, user: str, proxy: FaultProxy
) -> None:
    strict = FormClient(enforce_csrf_checks=True)
    code = site.request_code(user)
    response = strict.post(
        "/reset/",
        {
            "username": user,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "Your page expired" in response.content.decode()
    assert proxy.calls("ConfirmForgotPassword") == []
    assert site.can_sign_in(user, OLD_PASSWORD)


def test_csrf_token_round_trip_with_enforced_checks(site: Any, user: str) -> None:
    strict = FormClient(enforce_csrf_checks=True)
    code = site.request_code(user)
    html = strict.get("/reset/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token
    response = strict.post(
        "/reset/",
        {
            "csrfmiddlewaretoken": token[1],
            "username": user,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    assert site.can_sign_in(user, NEW_PASSWORD)


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


def test_unreachable_cognito(client: Client, site: Any, user: str, settings: Any) -> None:
    code = site.request_code(user)
    from emulator import free_port

    settings.COGNITO_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
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


def test_done_page_needs_a_finished_reset(client: Client, site: Any) -> None:
    response = client.get("/reset/done/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/reset/"


def test_after_success_the_form_says_the_password_was_changed(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    """Back, or a resubmit, after success: "changed", with the way to sign in, never
    an empty form or "Enter the code from your email". A new link starts over."""
    code = site.request_code(user)
    open_link(client, user, code)
    assert submit(client, code=code)["Location"] == "/reset/done/"
    page = client.get("/reset/")
    assert page.status_code == HTTPStatus.OK
    assert b"Your password has been changed" in page.content
    assert b'id="reset-form"' not in page.content
    again = client.post("/reset/", {"username": user, "code": "", "new_password1": "x"})
    assert again.status_code == HTTPStatus.FOUND
    assert again["Location"] == "/reset/done/"
    assert len(proxy.calls("ConfirmForgotPassword")) == 1
    open_link(client, user, "123456")
    assert b'id="reset-form"' in client.get("/reset/").content


def test_the_demo_sign_in_page_exists_only_in_the_demo(
    client: Client, site: Any, user: str, settings: Any, caplog: Any
) -> None:
    assert settings.DEMO_SIGN_IN_CHECK is False  # the default
    assert client.get("/demo/sign-in/").status_code == HTTPStatus.NOT_FOUND
    tried = {"username": user, "password": OLD_PASSWORD}
    assert client.post("/demo/sign-in/", tried).status_code == HTTPStatus.NOT_FOUND
    assert b"/demo/" not in client.get("/reset/").content

    settings.DEMO_SIGN_IN_CHECK = True  # what scripts/demo.py sets
    assert client.get("/demo/sign-in/").status_code == HTTPStatus.OK
    works = client.post("/demo/sign-in/", tried).content.decode()
    assert "These work" in works
    refused = client.post("/demo/sign-in/", {**tried, "password": "Not-It-1"}).content.decode()
    assert "These don't work" in refused
    missing = client.post("/demo/sign-in/", {"username": user, "password": ""})
    assert missing.status_code == HTTPStatus.BAD_REQUEST
    assert OLD_PASSWORD not in works + refused + caplog.text


# --- an email-as-username pool, with the link from the CustomMessage trigger -------------


def test_email_as_username_pool_through_the_emailed_link(
    client: Client, settings: Any, moto_url: str, proxy: FaultProxy, monkeypatch: Any
) -> None:
    """The pool's usernames are UUIDs (the sub); the trigger links the email address,
    the site resets with it (SecretHash over exactly that value), and the user signs
    in with it. The link also carries the user's language."""
    from emulator import create_pool

    from contrib.cognito_custom_message.handler import handler
    from tests.conftest import use_pool

    pool = use_pool(
        settings,
        create_pool(moto_url, name="email-usernames", username_attributes=["email"]),
        proxy,
    )
    email = "carol@example.com"
    idp = pool.client()
    idp.admin_create_user(
        UserPoolId=pool.user_pool_id,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "locale", "Value": "de-DE"},
        ],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=pool.user_pool_id, Username=email, Password=OLD_PASSWORD, Permanent=True
    )
    stored = idp.admin_get_user(UserPoolId=pool.user_pool_id, Username=email)
    attributes = {a["Name"]: a["Value"] for a in stored["UserAttributes"]}
    internal = stored["Username"]
    assert internal == attributes["sub"] != email  # as in Cognito: a UUID

    # The message Cognito would send, as the trigger writes it for this user.
    monkeypatch.setenv("RESET_SITE_URL", "https://reset.example.com")
    event = {
        "version": "1",
        "triggerSource": "CustomMessage_ForgotPassword",
        "region": pool.region,
        "userPoolId": pool.user_pool_id,
        "userName": internal,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": pool.client_id},
        "request": {"userAttributes": attributes, "codeParameter": "{####}"},
        "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
    }
    message = handler(event, None)["response"]["emailMessage"]
    assert internal not in message
    href = html.unescape(re.search(r'<a href="([^"]*/reset/[^"]*)"', message)[1])  # type: ignore[index]

    code = pool.request_code(email)  # ForgotPassword with the alias, as the site sends it
    link = urllib.parse.urlsplit(href.replace("{####}", code))
    assert (link.scheme, link.netloc, link.path) == ("https", "reset.example.com", "/reset/")
    assert urllib.parse.parse_qs(link.query) == {
        "username": [email],
        "lang": ["de"],
        "code": [code],
    }

    opened = client.get(f"/reset/?{link.query}")
    assert opened.status_code == HTTPStatus.FOUND
    page = client.get("/reset/").content.decode()
    assert '<html lang="de">' in page
    assert f'value="{email}"' in page  # the address, not the UUID
    assert internal not in page
    prefilled = dict(re.findall(r'name="(username|code)" value="([^"]*)"', page))
    done = submit(client, **{k: html.unescape(v) for k, v in prefilled.items()})
    assert done.status_code == HTTPStatus.FOUND
    assert done["Location"] == "/reset/done/"

    (sent,) = proxy.calls("ConfirmForgotPassword")
    assert sent["Username"] == email
    assert sent["SecretHash"] == secret_hash(
        username=email, client_id=pool.client_id, client_secret=pool.client_secret
    )
    assert pool.can_sign_in(email, NEW_PASSWORD)
    assert not pool.can_sign_in(email, OLD_PASSWORD)
