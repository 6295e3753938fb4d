"""Unit tests for the Cognito CustomMessage Lambda trigger (contrib/cognito_custom_message)."""

from __future__ import annotations

import copy
import html
import logging
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from contrib.cognito_custom_message import handler as mod
from contrib.cognito_custom_message.handler import handler

SITE = "https://reset.example.com"
PLACEHOLDER = "{####}"
ENV_VARS = ("RESET_SITE_URL", "BRAND_NAME", "BRAND_COLOR", "SUPPORT_EMAIL", "EMAIL_SUBJECT")
ODD_USERNAMES = ["a+b@example.com", "ñandú", "名前", "<script>", "a&b", '"quoted"']
# Cognito's limits on what it sends, not the handler's own constants. Amazon Cognito API
# Reference, MessageTemplateType (docs.aws.amazon.com/cognito-user-identity-pools/latest/
# APIReference/API_MessageTemplateType.html): EmailMessage "Maximum length of 20000",
# EmailSubject "Maximum length of 140", SMSMessage "Maximum length of 140"; the
# CloudFormation reference for AWS::Cognito::UserPool InviteMessageTemplate says the same.
COGNITO_EMAIL_MAX = 20_000
COGNITO_SUBJECT_MAX = 140
COGNITO_SMS_MAX = 140


def make_event(
    username: str = "alice",
    trigger: str = "CustomMessage_ForgotPassword",
    code_parameter: str | None = PLACEHOLDER,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "userAttributes": {
            "sub": "2f8c2a5e-0000-4000-8000-000000000000",
            "email_verified": "true",
            "email": "alice@example.com",
        },
        "usernameParameter": None,
        "linkParameter": None,
        "clientMetadata": {},
    }
    if code_parameter is not None:
        request["codeParameter"] = code_parameter
    return {
        "version": "1",
        "region": "us-east-1",
        "userPoolId": "us-east-1_Example",
        "userName": username,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client123"},
        "triggerSource": trigger,
        "request": request,
        "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
    }


def expected_link(username: str, site: str = SITE, placeholder: str = PLACEHOLDER) -> str:
    return f"{site}/reset/?username={quote(username, safe='')}&code={placeholder}"


class _Links(HTMLParser):
    """Collects (href, text) for every <a> in an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def links(email: str) -> list[tuple[str, str]]:
    parser = _Links()
    parser.feed(email)
    parser.close()
    return parser.links


def reset_links(email: str) -> list[tuple[str, str]]:
    return [(href, text) for href, text in links(email) if "/reset/" in href]


def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The handler's settings as a test starts: only the site's address."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RESET_SITE_URL", SITE)
    return monkeypatch


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    return clean_env(monkeypatch)


def run(event: dict[str, Any]) -> dict[str, Any]:
    return handler(event, None)


# --- the placeholder and the link -----------------------------------------------------------


def test_placeholder_kept_literal_in_email_and_sms():
    out = run(make_event("alice"))
    email = out["response"]["emailMessage"]
    sms = out["response"]["smsMessage"]

    assert PLACEHOLDER in email
    assert PLACEHOLDER in sms
    # Neither URL-encoded nor HTML-escaped.
    for mangled in ("%7B", "%23", "&#123;", "&#35;", "&lbrace;"):
        assert f"code={mangled}" not in email
        assert f"code={mangled}" not in sms
    assert f"code={PLACEHOLDER}" in email
    assert sms.endswith(expected_link("alice"))


def test_link_is_the_public_contract():
    out = run(make_event("alice"))
    email = out["response"]["emailMessage"]
    hrefs = [href for href, _ in reset_links(email)]
    # The button and the plain-text fallback both point at the same URL.
    assert hrefs == [expected_link("alice")] * 2
    texts = [text for _, text in reset_links(email)]
    assert expected_link("alice") in texts
    assert (
        "https://reset.example.com/reset/?username=alice&code={####}"
        in out["response"]["smsMessage"]
    )


def test_placeholder_count_is_exactly_the_links():
    email = run(make_event("alice"))["response"]["emailMessage"]
    # button href, fallback href, fallback text
    assert email.count(PLACEHOLDER) == 3


def test_placeholder_in_input_cannot_forge_a_second_code(env: pytest.MonkeyPatch):
    env.setenv("BRAND_NAME", "Brand {####}")
    out = run(make_event("x{####}y"))
    email = out["response"]["emailMessage"]
    sms = out["response"]["smsMessage"]
    assert email.count(PLACEHOLDER) == 3
    assert sms.count(PLACEHOLDER) == 1
    assert [href for href, _ in reset_links(email)] == [expected_link("x{####}y")] * 2


def test_uses_code_parameter_from_event():
    out = run(make_event(code_parameter="{@@@@}"))
    assert "code={@@@@}" in out["response"]["emailMessage"]
    assert out["response"]["smsMessage"].endswith("code={@@@@}")
    assert PLACEHOLDER not in out["response"]["emailMessage"]


def test_missing_code_parameter_defaults_to_placeholder():
    out = run(make_event(code_parameter=None))
    assert f"code={PLACEHOLDER}" in out["response"]["emailMessage"]


def test_site_url_with_path_and_trailing_slash(env: pytest.MonkeyPatch):
    env.setenv("RESET_SITE_URL", "https://example.com/account/")
    out = run(make_event("bob"))
    hrefs = [href for href, _ in reset_links(out["response"]["emailMessage"])]
    assert hrefs == [expected_link("bob", site="https://example.com/account")] * 2


# --- odd usernames --------------------------------------------------------------------------


@pytest.mark.parametrize("username", ODD_USERNAMES)
def test_odd_usernames_encoded_in_link_and_escaped_in_text(username: str):
    out = run(make_event(username))
    email = out["response"]["emailMessage"]
    encoded = quote(username, safe="")

    for href, _ in reset_links(email):
        assert f"username={encoded}&code=" in href
    assert f"username={encoded}&code={PLACEHOLDER}" in out["response"]["smsMessage"]
    assert f'<strong style="word-break:break-all;">{html.escape(username)}</strong>' in email
    if any(ch in username for ch in '<>&"'):
        assert username not in email


def test_plus_sign_is_percent_encoded():
    out = run(make_event("a+b@example.com"))
    assert "username=a%2Bb%40example.com&code=" in out["response"]["smsMessage"]


@pytest.mark.parametrize("username", [*ODD_USERNAMES, "alice", "x{####}y", "a=b&code=1", "%41"])
def test_round_trip_parse_qs_recovers_username_and_placeholder(username: str):
    out = run(make_event(username))
    email = out["response"]["emailMessage"]
    found = reset_links(email)
    assert len(found) == 2
    candidates = [href for href, _ in found] + [text for _, text in found if text.startswith(SITE)]
    sms_link = out["response"]["smsMessage"].split(": ", 1)[1]
    candidates.append(sms_link)
    assert len(candidates) == 4
    for link in candidates:
        # The template itself: "#" in "{####}" would start a URL fragment, so split by hand.
        base, query = link.split("?", 1)
        assert base == f"{SITE}/reset/"
        assert parse_qs(query, keep_blank_values=True, strict_parsing=True) == {
            "username": [username],
            "code": [PLACEHOLDER],
        }
        # What the user receives once Cognito has put the code in place of the placeholder.
        parts = urlsplit(link.replace(PLACEHOLDER, "123456"))
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{SITE}/reset/"
        assert not parts.fragment
        assert parse_qs(parts.query, keep_blank_values=True, strict_parsing=True) == {
            "username": [username],
            "code": ["123456"],
        }


# --- pass-through cases ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "trigger",
    [
        "CustomMessage_SignUp",
        "CustomMessage_AdminCreateUser",
        "CustomMessage_ResendCode",
        "CustomMessage_UpdateUserAttribute",
        "CustomMessage_VerifyUserAttribute",
        "CustomMessage_Authentication",
        "PreSignUp_SignUp",
        "",
    ],
)
def test_other_trigger_sources_untouched(trigger: str):
    event = make_event("alice", trigger=trigger)
    before = copy.deepcopy(event)
    out = run(event)
    assert out is event
    assert out == before


def test_event_without_trigger_source_untouched():
    event = make_event()
    del event["triggerSource"]
    before = copy.deepcopy(event)
    assert run(event) == before


def test_missing_reset_site_url_returns_event_untouched(
    env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    env.delenv("RESET_SITE_URL")
    event = make_event("alice")
    before = copy.deepcopy(event)
    with caplog.at_level(logging.ERROR, logger=mod.__name__):
        out = run(event)
    assert out is event
    assert out == before
    assert any(
        r.levelno == logging.ERROR and "RESET_SITE_URL" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize(
    "url",
    ["   ", "reset.example.com", "ftp://reset.example.com", "javascript:alert(1)", "https://"],
)
def test_unusable_reset_site_url_returns_event_untouched(env: pytest.MonkeyPatch, url: str):
    env.setenv("RESET_SITE_URL", url)
    event = make_event("alice")
    before = copy.deepcopy(event)
    assert run(event) == before


def test_missing_username_returns_event_untouched():
    event = make_event("")
    before = copy.deepcopy(event)
    assert run(event) == before


def test_missing_response_is_created():
    event = make_event("alice")
    del event["response"]
    out = run(event)
    assert PLACEHOLDER in out["response"]["emailMessage"]


# --- branding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "color", ["red", "#fff", "#12345g", "123456", "#1234567", '#123456" onmouseover="x']
)
def test_bad_brand_color_falls_back(env: pytest.MonkeyPatch, color: str):
    env.setenv("BRAND_COLOR", color)
    email = run(make_event())["response"]["emailMessage"]
    assert f'bgcolor="{mod.DEFAULT_COLOR}"' in email
    assert "onmouseover" not in email


def test_good_brand_color_used(env: pytest.MonkeyPatch):
    env.setenv("BRAND_COLOR", "#AA3300")
    email = run(make_event())["response"]["emailMessage"]
    assert 'bgcolor="#aa3300"' in email
    assert mod.DEFAULT_COLOR not in email


def test_light_brand_color_gets_dark_button_text(env: pytest.MonkeyPatch):
    env.setenv("BRAND_COLOR", "#ffee00")
    email = run(make_event())["response"]["emailMessage"]
    assert "color:#111111;text-decoration:none" in email


def test_branding_and_wording(env: pytest.MonkeyPatch):
    env.setenv("BRAND_NAME", "Acme & Co")
    env.setenv("SUPPORT_EMAIL", "help@acme.example")
    out = run(make_event())
    email = out["response"]["emailMessage"]
    assert out["response"]["emailSubject"] == "Reset your Acme & Co password"
    assert "Acme &amp; Co" in email
    assert "Acme & Co" not in email
    assert "1 hour" in email
    assert "ignore this email" in email
    assert ("mailto:help@acme.example", "help@acme.example") in links(email)
    assert out["response"]["smsMessage"].startswith("Acme & Co password reset")


def test_default_subject_without_brand():
    out = run(make_event())
    assert out["response"]["emailSubject"] == "Reset your password"


def test_subject_override_is_one_line_and_bounded(env: pytest.MonkeyPatch):
    env.setenv("EMAIL_SUBJECT", "Your reset link\r\nBcc: victim@example.com" + "x" * 300)
    subject = run(make_event())["response"]["emailSubject"]
    assert "\n" not in subject
    assert "\r" not in subject
    assert subject.startswith("Your reset link Bcc:")
    assert len(subject) <= COGNITO_SUBJECT_MAX


def test_invalid_support_email_left_out(env: pytest.MonkeyPatch):
    env.setenv("SUPPORT_EMAIL", '"><script>alert(1)</script>')
    email = run(make_event())["response"]["emailMessage"]
    assert "mailto:" not in email
    assert "<script" not in email.lower()


def test_sms_is_short(env: pytest.MonkeyPatch):
    env.setenv("BRAND_NAME", "Acme")
    sms = run(make_event("alice"))["response"]["smsMessage"]
    assert len(sms) <= COGNITO_SMS_MAX
    assert "<" not in sms
    env.setenv("BRAND_NAME", "B" * 200)
    sms = run(make_event("alice"))["response"]["smsMessage"]
    assert sms == f"Password reset (valid 1 hour): {expected_link('alice')}"
    lengths = set()
    for size in range(1, 120):  # branded while it fits, across the limit
        env.setenv("BRAND_NAME", "B" * size)
        lengths.add(len(run(make_event("alice"))["response"]["smsMessage"]))
    assert max(lengths) == COGNITO_SMS_MAX


# --- size and safety ------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["u" * 128, "名" * 128, "&" * 128, "<" * 128])
def test_email_under_limit_with_long_username_and_brand(env: pytest.MonkeyPatch, username: str):
    env.setenv("BRAND_NAME", "&<>\"'" * 100)  # 500 characters, each escaped
    env.setenv("SUPPORT_EMAIL", "support@example.com")
    out = run(make_event(username))
    email = out["response"]["emailMessage"]
    assert len(email) <= COGNITO_EMAIL_MAX
    assert len(out["response"]["emailSubject"]) <= COGNITO_SUBJECT_MAX
    assert [href for href, _ in reset_links(email)] == [expected_link(username)] * 2


def test_the_full_email_reaches_cognitos_limit_and_no_further(env: pytest.MonkeyPatch):
    """The longest brand that still gets the full email: its email is within a few
    characters of Cognito's limit (the brand appears a few times), never past it."""

    def email(size: int) -> str:
        env.setenv("BRAND_NAME", "B" * size)
        return str(run(make_event("alice"))["response"]["emailMessage"])

    low, high = 1, 20_000  # full at low, minimal at high
    assert "B" * low in email(low)
    assert "B" * high not in email(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if "B" * middle in email(middle) else (low, middle)
    assert COGNITO_EMAIL_MAX - 20 < len(email(low)) <= COGNITO_EMAIL_MAX


def test_falls_back_to_minimal_email_when_too_long(env: pytest.MonkeyPatch):
    env.setenv("BRAND_NAME", "&" * 5000)  # escapes to 25,000 characters
    username = "名" * 128
    out = run(make_event(username))
    email = out["response"]["emailMessage"]
    assert len(email) <= COGNITO_EMAIL_MAX
    assert "&amp;&amp;" not in email
    assert [href for href, _ in reset_links(email)] == [expected_link(username)]
    assert PLACEHOLDER in email
    assert "1 hour" in email


def test_email_contains_no_script_from_input(env: pytest.MonkeyPatch):
    env.setenv("BRAND_NAME", "<script>alert('brand')</script>")
    env.setenv("EMAIL_SUBJECT", "<script>alert('subject')</script>")
    out = run(make_event("<script>alert('user')</script>"))
    email = out["response"]["emailMessage"]
    assert "<script" not in email.lower()
    assert "&lt;script&gt;" in email


def test_never_logs_code_or_body(env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    env.setenv("BRAND_COLOR", "nope")
    env.setenv("BRAND_NAME", "&" * 5000)
    with caplog.at_level(logging.DEBUG):
        out = run(make_event("secret-user"))
    assert caplog.records  # the colour and size warnings were logged
    assert PLACEHOLDER not in caplog.text
    assert "secret-user" not in caplog.text
    assert out["response"]["emailMessage"] not in caplog.text


# --- email-as-username pools ----------------------------------------------------------------

SUB = "2f8c2a5e-0000-4000-8000-000000000000"


def test_email_as_username_pool_links_the_email_address():
    """userName is the sub (a UUID) when people sign in with their email address:
    the link and the message carry the address, which Cognito accepts as Username."""
    out = run(make_event(SUB))
    email = out["response"]["emailMessage"]
    sms = out["response"]["smsMessage"]
    assert [href for href, _ in reset_links(email)] == [expected_link("alice@example.com")] * 2
    assert sms.endswith(expected_link("alice@example.com"))
    assert '<strong style="word-break:break-all;">alice@example.com</strong>' in email
    assert SUB not in email
    assert SUB not in sms


def test_sub_without_an_email_keeps_the_username():
    event = make_event(SUB)
    del event["request"]["userAttributes"]["email"]
    out = run(event)
    assert out["response"]["smsMessage"].endswith(expected_link(SUB))


def test_a_username_other_than_the_sub_is_kept():
    event = make_event("carol")
    event["request"]["userAttributes"]["email"] = "someone.else@example.com"
    out = run(event)
    assert [href for href, _ in reset_links(out["response"]["emailMessage"])] == [
        expected_link("carol")
    ] * 2


@pytest.mark.parametrize(
    "attributes",
    [None, "not a dict", {"sub": SUB, "email": 42}, {"sub": SUB, "email": ""}],
)
def test_odd_user_attributes_keep_the_username(attributes: Any):
    event = make_event(SUB)
    event["request"]["userAttributes"] = attributes
    out = run(event)
    assert out["response"]["smsMessage"].endswith(expected_link(SUB))
