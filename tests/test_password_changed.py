"""The PostConfirmation trigger (contrib/cognito_password_changed): a notice after every reset.

The function talks to a real moto server over HTTP (SES and cognito-idp), found
through AWS_ENDPOINT_URL as boto3 would find any endpoint override.
"""

from __future__ import annotations

import ast
import copy
import datetime
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from emulator import Pool, create_pool
from moto.ses.models import ses_backends

from contrib.cognito_password_changed import handler as mod
from contrib.cognito_password_changed.handler import TEXTS, compose, handler, language

ROOT = Path(__file__).resolve().parent.parent
SENDER = "security@example.com"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ENV_VARS = (
    "SENDER_EMAIL",
    "SIGN_OUT_EVERYWHERE",
    "RESET_SITE_URL",
    "BRAND_NAME",
    "BRAND_COLOR",
    "SUPPORT_EMAIL",
    "SES_REGION",
)


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    mod._client.cache_clear()
    ses = boto3.client("ses", region_name=REGION, endpoint_url=moto_url)
    ses.verify_email_identity(EmailAddress=SENDER)
    sent().clear()
    yield moto_url
    mod._client.cache_clear()


def sent() -> list[Any]:
    return ses_backends[ACCOUNT][REGION].sent_messages


def make_event(
    *,
    trigger: str = "PostConfirmation_ConfirmForgotPassword",
    username: str = "alice",
    pool_id: str = "us-east-1_Example",
    email: str | None = "alice@example.com",
    verified: str = "true",
    locale: str | None = None,
) -> dict[str, Any]:
    attributes: dict[str, str] = {"sub": "2f8c2a5e-0000-4000-8000-000000000000"}
    if email is not None:
        attributes.update({"email": email, "email_verified": verified})
    if locale is not None:
        attributes["locale"] = locale
    return {
        "version": "1",
        "region": REGION,
        "userPoolId": pool_id,
        "userName": username,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client123"},
        "triggerSource": trigger,
        "request": {"userAttributes": attributes, "clientMetadata": {}},
        "response": {},
    }


# --- what passes through ------------------------------------------------------------


@pytest.mark.parametrize(
    "trigger",
    ["PostConfirmation_ConfirmSignUp", "CustomMessage_ForgotPassword", "", "Unknown_Source"],
)
def test_other_trigger_sources_pass_through_untouched(aws: str, trigger: str) -> None:
    event = make_event(trigger=trigger)
    before = copy.deepcopy(event)
    assert handler(event, None) is event
    assert event == before
    assert sent() == []


def test_odd_events_are_returned_without_a_crash(aws: str) -> None:
    event: dict[str, Any] = {"triggerSource": "PostConfirmation_ConfirmForgotPassword"}
    assert handler(event, None) is event
    broken = make_event()
    broken["request"] = "nonsense"
    assert handler(broken, None) is broken


# --- the notice ---------------------------------------------------------------------


def test_the_notice_goes_out_through_ses(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAND_NAME", "Example")
    monkeypatch.setenv("BRAND_COLOR", "#ffcc00")
    monkeypatch.setenv("SUPPORT_EMAIL", "help@example.com")
    monkeypatch.setenv("RESET_SITE_URL", "https://reset.example.com/")
    captured: list[dict[str, Any]] = []
    mod._client("ses", REGION).meta.events.register(
        "before-call.ses.SendEmail", lambda params, **_: captured.append(params)
    )
    event = make_event()
    before = copy.deepcopy(event)
    started = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
    assert handler(event, None) is event
    assert event == before  # nothing to answer Cognito with: the event goes back as it came

    (message,) = sent()
    assert message.destinations["ToAddresses"] == ["alice@example.com"]
    assert message.source == f"Example <{SENDER}>"
    assert message.subject == "Your Example password was changed"
    body = message.body
    assert "<strong" in body
    assert "alice</strong>" in body
    assert started.strftime("%Y-%m-%d at %H:") in body  # when, in UTC
    assert 'href="https://reset.example.com/forgot/"' in body
    assert "If you didn&#x27;t, reset your password now" in body
    assert "mailto:help@example.com" in body
    assert 'bgcolor="#ffcc00"' in body
    assert "color:#111111" in body  # dark text on a light button
    assert "The Example team" in body
    assert "signed out" not in body  # not asked to
    # The plain-text part says the same.
    (params,) = captured
    text = params["body"]["Message.Body.Text.Data"]
    assert "The password for the account alice was changed on" in text
    assert "https://reset.example.com/forgot/" in text
    assert params["body"]["Message.Body.Html.Data"] == body


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        (None, "en"),
        ("en-GB", "en"),
        ("de", "de"),
        ("de-AT", "de"),
        ("fr_CA", "fr"),
        ("es", "es"),
        ("pt-BR", "pt-br"),
        ("pt_BR", "pt-br"),
        ("pt", "pt-br"),
        ("ja", "ja"),
        ("JA-jp", "ja"),
        ("zz", "en"),
        ("", "en"),
    ],
)
def test_the_notice_is_in_the_users_language(aws: str, locale: str | None, lang: str) -> None:
    assert language(locale) == lang
    handler(make_event(locale=locale), None)
    (message,) = sent()
    assert message.subject == TEXTS[lang]["subject"]
    html_lang = "pt-BR" if lang == "pt-br" else lang
    assert f'<html lang="{html_lang}">' in message.body


def test_every_language_has_every_text() -> None:
    keys = set(TEXTS["en"])
    names = ("{account}", "{when}", "{brand}", "{support}")
    for lang, texts in TEXTS.items():
        assert set(texts) == keys, lang
        for key, value in texts.items():
            english = TEXTS["en"][key]
            assert [n for n in names if n in value] == [n for n in names if n in english], key
    when = datetime.datetime(2026, 3, 4, 5, 6, tzinfo=datetime.UTC)
    stamps = {
        lang: compose(
            language=lang,
            account="a",
            when=when,
            signed_out=True,
            brand="B",
            color="#0b57d0",
            support="s@example.com",
            site="",
        )["text"]
        for lang in TEXTS
    }
    assert "2026-03-04 at 05:06 UTC" in stamps["en"]
    assert "04.03.2026 um 05:06 Uhr" in stamps["de"]
    assert "2026年3月4日 05:06" in stamps["ja"]


def test_hostile_values_are_escaped(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAND_NAME", "<b>Evil</b>")
    handler(make_event(username='<script>alert("x")</script>'), None)
    (message,) = sent()
    assert "<script>" not in message.body
    assert "&lt;script&gt;" in message.body
    assert "<b>Evil</b>" not in message.body


def test_email_as_username_pools_name_the_address(aws: str) -> None:
    event = make_event(username="2f8c2a5e-0000-4000-8000-000000000000")  # == sub
    handler(event, None)
    (message,) = sent()
    assert "2f8c2a5e" not in message.body
    assert "alice@example.com</strong>" in message.body


@pytest.mark.parametrize(
    "event",
    [make_event(email=None), make_event(verified="false"), make_event(email="not-an-address")],
)
def test_no_verified_address_no_notice(aws: str, event: dict[str, Any]) -> None:
    assert handler(event, None) is event
    assert sent() == []


# --- signing out everywhere -------------------------------------------------------------


def _refresh_token(pool: Pool, username: str, password: str) -> str:
    result = pool.client().admin_initiate_auth(
        UserPoolId=pool.user_pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": username,
            "PASSWORD": password,
            "SECRET_HASH": pool.secret_hash(username),
        },
    )
    return str(result["AuthenticationResult"]["RefreshToken"])


def _refresh_works(pool: Pool, username: str, token: str) -> bool:
    idp = pool.client()
    try:
        idp.admin_initiate_auth(
            UserPoolId=pool.user_pool_id,
            ClientId=pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": token, "SECRET_HASH": pool.secret_hash(username)},
        )
    except idp.exceptions.NotAuthorizedException:
        return False
    return True


@pytest.mark.parametrize("sign_out", [True, False])
def test_sign_out_everywhere_ends_old_sessions(
    aws: str, monkeypatch: pytest.MonkeyPatch, sign_out: bool
) -> None:
    pool = create_pool(aws, name="password-changed")
    pool.create_user("bob", "Old-Password-1", email="bob@example.com")
    token = _refresh_token(pool, "bob", "Old-Password-1")  # e.g. a thief's session
    assert _refresh_works(pool, "bob", token)
    if sign_out:
        monkeypatch.setenv("SIGN_OUT_EVERYWHERE", "true")
    event = make_event(username="bob", pool_id=pool.user_pool_id, email="bob@example.com")
    assert handler(event, None) is event
    assert _refresh_works(pool, "bob", token) is not sign_out
    (message,) = sent()
    assert ("signed out on all your devices" in message.body) is sign_out


# --- failures never block the user --------------------------------------------------------


def test_a_refused_send_is_logged_and_the_event_returned(
    aws: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SENDER_EMAIL", "unverified@example.com")
    event = make_event()
    with caplog.at_level(logging.INFO, logger=mod.__name__):
        assert handler(event, None) is event
    assert sent() == []
    assert "SES refused the notice: MessageRejected" in caplog.text


def test_a_failed_sign_out_still_sends_the_notice(
    aws: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SIGN_OUT_EVERYWHERE", "true")
    pool = create_pool(aws, name="no-such-user")
    event = make_event(username="ghost", pool_id=pool.user_pool_id)
    with caplog.at_level(logging.INFO, logger=mod.__name__):
        assert handler(event, None) is event
    assert "Global sign-out refused: UserNotFoundException" in caplog.text
    (message,) = sent()
    assert "signed out" not in message.body  # it didn't happen, so it isn't claimed


def test_missing_sender_is_logged(
    aws: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("SENDER_EMAIL")
    event = make_event()
    with caplog.at_level(logging.ERROR, logger=mod.__name__):
        assert handler(event, None) is event
    assert "SENDER_EMAIL" in caplog.text
    assert sent() == []


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """Accepts connections and never answers: AWS on a very bad day."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("where", ["silent", "closed"])
def test_unreachable_aws_returns_within_cognitos_five_seconds(
    aws: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    silent_endpoint: str,
    closed_port: int,
    where: str,
) -> None:
    endpoint = silent_endpoint if where == "silent" else f"http://127.0.0.1:{closed_port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("SIGN_OUT_EVERYWHERE", "true")
    mod._client.cache_clear()
    event = make_event()
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger=mod.__name__):
        assert handler(event, None) is event
    assert time.monotonic() - started < 4.5
    assert "Global sign-out failed" in caplog.text
    assert "SES could not be reached" in caplog.text


def test_never_logs_the_address_or_the_message(
    aws: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SIGN_OUT_EVERYWHERE", "true")
    with caplog.at_level(logging.DEBUG, logger=mod.__name__):
        handler(make_event(username="carol", email="carol.secret@example.com"), None)
        handler(make_event(email="carol.secret@example.com", verified="false"), None)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name == mod.__name__)
    assert "no notice sent" in ours
    assert "carol.secret@example.com" not in ours
    (message,) = sent()
    assert message.body not in ours


def test_uses_only_the_standard_library_and_the_runtimes_boto3() -> None:
    source = (ROOT / "contrib/cognito_password_changed/handler.py").read_text()
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots - sys.stdlib_module_names <= {"boto3", "botocore"}
