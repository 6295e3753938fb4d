"""End to end for /forgot/: the answer reveals nothing, and the log says what happened.

The site (Django test client) → fault proxy → moto server.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client

from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.e2e


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
    assert calls[0]["SecretHash"] == site.secret_hash(user)  # the emulator's computation


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
