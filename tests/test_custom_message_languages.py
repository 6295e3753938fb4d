"""The CustomMessage trigger (contrib/cognito_custom_message) in the user's language."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs

import pytest

from contrib.cognito_custom_message import handler as mod
from tests.test_custom_message import (
    COGNITO_EMAIL_MAX,
    COGNITO_SMS_MAX,
    COGNITO_SUBJECT_MAX,
    ODD_USERNAMES,
    PLACEHOLDER,
    SITE,
    SUB,
    clean_env,
    expected_link,
    links,
    make_event,
    reset_links,
    run,
)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    return clean_env(monkeypatch)


# --- the email in the user's language -------------------------------------------------------

LANGS = list(mod.TEXTS)  # every language with a messages/<code>.json (tests/test_languages.py)
KEYS = set(mod.TEXTS["en"])
TEMPLATE_VALUE = re.compile(r"%\((\w+)\)s")


def in_language(locale: Any, username: str = "alice") -> dict[str, Any]:
    event = make_event(username)
    event["request"]["userAttributes"]["locale"] = locale
    return run(event)


def test_the_languages_are_the_sites():
    from django.conf import settings

    assert set(mod.CODES) == {code for code, _ in settings.LANGUAGES}
    assert {"en", "de", "fr", "es", "pt-br", "ja"} <= set(mod.TEXTS) <= set(mod.CODES)


@pytest.mark.parametrize("lang", LANGS)
def test_every_language_has_every_text_with_the_same_values(lang: str):
    texts = mod.TEXTS[lang]
    assert set(texts) == KEYS
    for key, text in texts.items():
        assert sorted(TEMPLATE_VALUE.findall(text)) == sorted(
            TEMPLATE_VALUE.findall(mod.TEXTS["en"][key])
        ), (lang, key)
        # No text can make or break Cognito's placeholder, or Python's formatting.
        assert "{" not in text
        assert "}" not in text
        assert text.count("%") == len(TEMPLATE_VALUE.findall(text)), (lang, key)
        assert text == text.strip()
        if lang != "en":
            assert text != mod.TEXTS["en"][key], (lang, key)  # really translated


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("de", "de"),
        ("de-DE", "de"),
        ("de_AT", "de"),
        ("fr-CA", "fr"),
        ("es-419", "es"),
        ("pt-BR", "pt-br"),
        ("pt_BR", "pt-br"),
        ("pt", "pt-br"),  # the only Portuguese the site ships, as Django picks it
        ("ja-JP", "ja"),
        (" JA ", "ja"),
    ],
)
def test_the_users_locale_picks_the_language(locale: str, lang: str):
    out = in_language(locale)
    email = out["response"]["emailMessage"]
    texts = mod.TEXTS[lang]
    assert out["response"]["emailSubject"] == texts["subject"]
    assert f'<html lang="{lang}">' in email
    assert html.escape(texts["button"]) in email
    assert html.escape(texts["ignore"]) in email
    link = f"{SITE}/reset/?username=alice&lang={lang}&code={PLACEHOLDER}"
    assert [href for href, _ in reset_links(email)] == [link] * 2
    assert out["response"]["smsMessage"] == texts["sms"] % {"link": link}


@pytest.mark.parametrize("locale", [None, "", "nb", "nb-NO", "fa-IR", "x" * 100, 42, ["de"]])
def test_any_other_locale_is_english_without_a_language_in_the_link(locale: Any):
    out = in_language(locale)
    assert out["response"]["emailSubject"] == "Reset your password"
    assert '<html lang="en">' in out["response"]["emailMessage"]
    assert "lang=" not in out["response"]["smsMessage"]
    assert out["response"]["smsMessage"].endswith(expected_link("alice"))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("username", ["alice", *ODD_USERNAMES, "x{####}y", SUB])
def test_link_and_placeholders_hold_in_every_language(
    env: pytest.MonkeyPatch, lang: str, username: str
):
    env.setenv("BRAND_NAME", "Brand {####} & Co")
    env.setenv("SUPPORT_EMAIL", "help@example.com")
    out = in_language(lang, username)
    email = out["response"]["emailMessage"]
    sms = out["response"]["smsMessage"]
    shown = "alice@example.com" if username == SUB else username
    assert email.count(PLACEHOLDER) == 3  # button href, fallback href, fallback text
    assert sms.count(PLACEHOLDER) == 1
    for link in [href for href, _ in reset_links(email)] + [sms[sms.index(SITE) :]]:
        base, query = link.split("?", 1)
        assert base == f"{SITE}/reset/"
        assert parse_qs(query, keep_blank_values=True, strict_parsing=True) == {
            "username": [shown],
            "lang": [lang],
            "code": [PLACEHOLDER],
        }
    assert ("mailto:help@example.com", "help@example.com") in links(email)


@pytest.mark.parametrize("lang", LANGS)
def test_length_limits_hold_in_every_language(env: pytest.MonkeyPatch, lang: str):
    env.setenv("BRAND_NAME", "Acme")
    short = in_language(lang)
    assert len(short["response"]["smsMessage"]) <= COGNITO_SMS_MAX
    assert short["response"]["smsMessage"].startswith("Acme")  # the branded one fits
    env.setenv("BRAND_NAME", "&<>\"'" * 100)
    env.setenv("SUPPORT_EMAIL", "support@example.com")
    for username in ("u" * 128, "名" * 128, "&" * 128):
        out = in_language(lang, username)
        assert len(out["response"]["emailMessage"]) <= COGNITO_EMAIL_MAX
        assert len(out["response"]["emailSubject"]) <= COGNITO_SUBJECT_MAX
    env.setenv("BRAND_NAME", "B" * 200)
    sms = in_language(lang)["response"]["smsMessage"]
    assert sms == mod.TEXTS[lang]["sms"] % {
        "link": f"{SITE}/reset/?username=alice&lang={lang}&code={PLACEHOLDER}"
    }


@pytest.mark.parametrize("lang", LANGS)
def test_minimal_email_in_every_language(env: pytest.MonkeyPatch, lang: str):
    env.setenv("BRAND_NAME", "&" * 5000)  # escapes to 25,000 characters
    out = in_language(lang, "名" * 128)
    email = out["response"]["emailMessage"]
    assert len(email) <= COGNITO_EMAIL_MAX
    assert email.count(PLACEHOLDER) == 2  # the link and its text
    assert len(reset_links(email)) == 1
    assert html.escape(mod.TEXTS[lang]["minimal_rest"]) in email


def test_subject_override_applies_in_every_language(env: pytest.MonkeyPatch):
    env.setenv("EMAIL_SUBJECT", "Your Acme reset link")
    assert in_language("de")["response"]["emailSubject"] == "Your Acme reset link"


def test_branded_texts_in_another_language(env: pytest.MonkeyPatch):
    env.setenv("BRAND_NAME", "Acme & Co")
    out = in_language("de-DE")
    assert out["response"]["emailSubject"] == "Passwort für Acme & Co zurücksetzen"
    assert "Ihr Team von Acme &amp; Co" in out["response"]["emailMessage"]
    assert out["response"]["smsMessage"].startswith("Acme & Co – Passwort zurücksetzen")
