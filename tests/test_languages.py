"""Twenty languages (issue 21), each checked the same way for every entry of LANGUAGES:

- a language tag means the same language on the site and in both Lambda triggers;
- /reset/ and /forgot/ come translated, with the right ``lang`` and ``dir``;
- both emails exist, complete, with English's placeholders, and the reset email is in
  the user's language with ``{####}`` and the link intact;
- no text uses the wrong register, and the site and the emails use the glossary's terms
  (locale/README.md);
- after a failed attempt the page shows nothing met and says to type the password again.

A language whose catalogue or emails are missing fails here (and in test_i18n.py).
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext, pgettext, to_locale

from accounts import languages
from contrib.cognito_custom_message import handler as reset_email
from contrib.cognito_password_changed import handler as notice

ROOT = Path(__file__).resolve().parent.parent
LANGS = [code for code, _ in django_settings.LANGUAGES]
RIGHT_TO_LEFT = {"ar", "he"}
RETYPE = "For your safety, we didn't keep the password you typed. Type it again in both fields."
EMAILS = {
    "reset": (ROOT / "contrib/cognito_custom_message/messages", r"%\((\w+)\)s"),
    "notice": (ROOT / "contrib/cognito_password_changed/messages", r"\{(\w+)(?::[^}]*)?\}"),
}


@pytest.fixture(autouse=True)
def _english_afterwards() -> Any:
    yield
    translation.deactivate()


def catalogue(lang: str) -> polib.POFile:
    path = ROOT / "locale" / to_locale(lang) / "LC_MESSAGES" / "django.po"
    if not path.is_file():
        pytest.fail(f"{lang}: no catalogue at {path.relative_to(ROOT)} yet", pytrace=False)
    return polib.pofile(str(path))


def email_texts(lang: str) -> dict[str, dict[str, str]]:
    found = {}
    for name, (folder, _) in EMAILS.items():
        path = folder / f"{lang}.json"
        if not path.is_file():
            pytest.fail(f"{lang}: no {path.relative_to(ROOT)} yet", pytrace=False)
        found[name] = json.loads(path.read_text(encoding="utf-8"))
    return found


# --- one language for a tag, everywhere -------------------------------------------------

MATCHES = [
    *((code, code) for code in LANGS),
    ("de-AT", "de"), ("EN-us", "en"), ("sv-FI", "sv"), ("ar-EG", "ar"), ("uk-UA", "uk"),
    ("zh", "zh-hans"), ("zh-CN", "zh-hans"), ("zh-SG", "zh-hans"), ("zh-Hans", "zh-hans"),
    ("zh-Hans-TW", "zh-hans"), ("zh-TW", "zh-hant"), ("zh_TW", "zh-hant"),
    ("zh-HK", "zh-hant"), ("zh-MO", "zh-hant"), ("zh-Hant", "zh-hant"), ("zh-Hant-HK", "zh-hant"),
    ("pt", "pt-br"), ("pt-BR", "pt-br"), ("pt_BR", "pt-br"), ("pt-PT", "pt-br"),
    ("iw", "he"), ("iw-IL", "he"), ("he-IL", "he"), ("in", "id"), ("in-ID", "id"),
    ("nb", None), ("no", None), ("fa-IR", None), ("", None), ("x" * 36, None), ("de\x00", None),
]  # fmt: skip


@pytest.mark.parametrize(("tag", "code"), MATCHES)
def test_a_tag_means_the_same_language_on_the_site_and_in_both_lambdas(
    tag: str, code: str | None
) -> None:
    assert languages.match(tag) == code
    assert reset_email.match_language(tag, LANGS) == code
    assert notice.match_language(tag, LANGS) == code


def test_both_lambdas_list_the_sites_languages() -> None:
    assert sorted(reset_email.CODES) == sorted(notice.CODES) == sorted(LANGS)


BROWSERS = [
    ("zh-TW,zh;q=0.9,en;q=0.5", "zh-hant"),
    ("zh-CN,zh;q=0.9", "zh-hans"),
    ("pt-PT,pt;q=0.9", "pt-br"),
    ("iw", "he"),
    ("nb-NO,nb;q=0.9,sv;q=0.8,en;q=0.5", "sv"),  # no Norwegian: the next choice
    ("fa-IR,*;q=0.1", "en"),
]


def test_the_browsers_languages_pick_the_page_language(client: Client, site: Any) -> None:
    for header, code in BROWSERS:
        page = client.get("/forgot/", HTTP_ACCEPT_LANGUAGE=header).content.decode()
        direction = ' dir="rtl"' if code in RIGHT_TO_LEFT else ""
        assert f'<html lang="{code}"{direction}>' in page, header


# --- the pages ----------------------------------------------------------------------------


def test_every_language_serves_its_pages_translated(client: Client, site: Any, user: str) -> None:
    """One pool for all (making one is the slow part); each language's problem is listed."""
    problems = {}
    for lang in LANGS:
        cache.clear()  # our rate limits: each language tries a wrong code
        try:
            serves_its_pages_translated(client, user, lang)
        except (AssertionError, pytest.fail.Exception) as problem:
            problems[lang] = str(problem).splitlines()[0]
    assert problems == {}


def serves_its_pages_translated(client: Client, user: str, lang: str) -> None:
    """The pages, Django's own errors, and the page after a wrong code."""
    if lang != "en":
        catalogue(lang)
    direction = ' dir="rtl"' if lang in RIGHT_TO_LEFT else ""
    for path, title in (("/forgot/", "Get a new code"), ("/reset/", "Choose a new password")):
        page = client.get(f"{path}?lang={lang}").content.decode()
        with translation.override(lang):
            theirs = gettext(title)
        assert lang == "en" or theirs != title, f"{lang}: {title!r} is not translated"
        assert f'<html lang="{lang}"{direction}>' in page
        assert f"<h1>{escape(theirs)}</h1>" in page
    # Latin passwords and codes read left to right, in every language (on /reset/).
    for name in ("code", "new_password1", "new_password2"):
        assert re.search(rf'<input [^>]*name="{name}"[^>]* dir="ltr"', page), name
    djangos_own_errors_come_from_djangos_catalogue(client, lang)
    after_a_wrong_code_nothing_is_met_and_the_page_says_to_type_it_again(client, user, lang)


def djangos_own_errors_come_from_djangos_catalogue(client: Client, lang: str) -> None:
    english = "Null characters are not allowed."
    page = client.post("/forgot/", {"username": "a\x00b"}).content.decode()
    with translation.override(lang):
        theirs = gettext(english)
    assert lang in {"en", "vi"} or theirs != english  # Django 5.2 has no Vietnamese for it
    assert escape(theirs) in page
    ours = ROOT / "locale" / to_locale(lang) / "LC_MESSAGES" / "django.po"
    assert not ours.is_file() or english not in {e.msgid for e in polib.pofile(str(ours))}


def after_a_wrong_code_nothing_is_met_and_the_page_says_to_type_it_again(
    client: Client, user: str, lang: str
) -> None:
    with translation.override(lang):
        retype = gettext(RETYPE)
    assert lang == "en" or retype != RETYPE, f"{lang}: the retype text is not translated"
    password = "Fresh-Horse-Battery-42"
    form = {"username": user, "code": "moto-confirmation-code:000000"}
    page = client.post("/reset/", form | {"new_password1": password, "new_password2": password})
    html = page.content.decode()
    assert page.status_code == 400
    assert password not in html
    assert retype in unescape(html)
    assert 'aria-describedby="password-rules retype"' in html
    # Nothing on the page marks a rule met: the list has no ticks, and no state to restore.
    assert not re.search(r'class="[^"]*\bmet\b', html)
    assert "data-checked" not in html
    # Nothing typed, nothing to retype.
    assert 'id="retype"' not in client.post("/reset/", form).content.decode()


# --- the emails ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_both_emails_are_complete_with_the_english_placeholders(lang: str) -> None:
    theirs = email_texts(lang)
    for name, (folder, placeholder) in EMAILS.items():
        english = json.loads((folder / "en.json").read_text(encoding="utf-8"))
        assert list(theirs[name]) == list(english), name
        for key, text in theirs[name].items():
            assert isinstance(text, str)
            assert text == text.strip() != ""
            assert sorted(re.findall(placeholder, text)) == sorted(
                re.findall(placeholder, english[key])
            ), (name, key)
            assert lang == "en" or text != english[key], f"{name}/{key} is not translated"
    assert lang in reset_email.TEXTS  # the handlers accepted the files
    assert lang in notice.TEXTS


@pytest.mark.parametrize("lang", LANGS)
def test_the_reset_email_follows_the_users_locale(
    monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    email_texts(lang)
    monkeypatch.setenv("RESET_SITE_URL", "https://reset.example.com")
    for name in ("BRAND_NAME", "BRAND_COLOR", "SUPPORT_EMAIL", "EMAIL_SUBJECT"):
        monkeypatch.delenv(name, raising=False)
    event = {
        "triggerSource": "CustomMessage_ForgotPassword",
        "userPoolId": "us-east-1_Example",
        "userName": "alice",
        "request": {"codeParameter": "{####}", "userAttributes": {"locale": lang}},
        "response": {},
    }
    out = reset_email.handler(event, None)["response"]
    texts = reset_email.TEXTS[lang]
    assert out["emailSubject"] == texts["subject"]
    direction = ' dir="rtl"' if lang in RIGHT_TO_LEFT else ""
    assert f'<html lang="{lang}"{direction}>' in out["emailMessage"]
    link = f"https://reset.example.com/reset/?username=alice&lang={lang}&code={{####}}"
    assert out["emailMessage"].count(f'href="{escape(link)}"') == 2
    assert out["emailMessage"].count("{####}") == 3
    assert out["smsMessage"].endswith(link)
    assert escape(texts["button"]) in out["emailMessage"]


# --- register and terms -------------------------------------------------------------------

# The wrong form of address, per language (locale/README.md lists the right one).
REGISTER = {
    "de": r"(?i)\b(du|dich|dir|dein|deine|deinen|deinem|deiner|deines)\b",
    "fr": r"(?i)\b(tu|toi|ton|ta|tes|te)\b|\bt[’']",
    "es": r"\b([Uu]sted|[Uu]stedes|Su|Sus|Abra|Introduzca|Ingrese|Escriba|Elija|Vuelva|"
    r"Compruebe|Revise|Pruebe|Intente|Espere|Permita|Recargue|Póngase)\b",
    "pt-br": r"(?i)\b(tu|teu|tua|teus|tuas|contigo|o senhor|a senhora)\b",
    "it": r"\b(Lei|Suo|Sua|Suoi|Sue|Inserisca|Scelga|Riprovi|Controlli|Attenda|Contatti|Apra)\b",
    "nl": r"(?i)\b(u|uw)\b",
    "sv": r"(?i)\b(ni|er|ert|era|eder)\b",
    "pl": r"\b(Pan|Pani|Pana|Panu|Panią|Państwo|Państwa|Państwu)\b",
    "tr": r"(?i)\b(sen|seni|sana|senin|sende|senden)\b",
    "id": r"(?i)\b(kamu|kau|engkau)\b",
    "vi": r"(?i)quý khách|\bmày\b",
    "ko": r"너는|너의|너를|너에게|네가",
    "zh-hans": r"你",
    "zh-hant": r"你",
    "ja": r"お前|おまえ|君の|君は",
    "ru": r"(?i)\b(ты|тебя|тебе|тобой|твой|твоя|твоё|твое|твои|твоего|твоей|твоим|твоих|твою)\b",
    "uk": r"(?i)\b(ти|тебе|тобі|тобою|твій|твоя|твоє|твої|твого|твоєї|твоїм|твоїх|твою)\b",
    "ar": r"\b(مش|عايز|عاوز|بدك)\b",  # Modern Standard Arabic, not a dialect
    # Gender-neutral forms ("יש ל…", infinitives): a gendered "you" is the wrong register.
    # The rest of the gender-neutral wording is reviewed by people, not by a pattern.
    "he": r"(?<![\u0590-\u05FF])(אתה|הנך|הינך)(?![\u0590-\u05FF])",
}
# A sentence in the wrong register that each pattern must catch.
WRONG = {
    "de": "Gib dein Passwort ein.", "fr": "Saisis ton mot de passe.",
    "es": "Abra el formulario.", "pt-br": "Digite a tua senha.", "it": "Inserisca la Sua password.",
    "nl": "Voer uw wachtwoord in.", "sv": "Ange ert lösenord.", "pl": "Proszę Pana o hasło.",
    "tr": "Senin şifren.", "id": "Masukkan kata sandi kamu.", "vi": "Quý khách hãy nhập mã.",
    "ko": "너의 비밀번호", "zh-hans": "你的密码", "zh-hant": "你的密碼", "ja": "君のパスワード",
    "ru": "Введи твой пароль.", "uk": "Введи твій пароль.", "ar": "مش عارف",
    "he": "אתה צריך להזין את הקוד.",
}  # fmt: skip


def all_texts(lang: str) -> list[str]:
    entries = [e for e in catalogue(lang) if not e.obsolete]
    site = [e.msgstr for e in entries] + [s for e in entries for s in e.msgstr_plural.values()]
    return site + [t for texts in email_texts(lang).values() for t in texts.values()]


@pytest.mark.parametrize("lang", [code for code in LANGS if code != "en"])
def test_no_text_uses_the_wrong_register(lang: str) -> None:
    pattern = re.compile(REGISTER[lang])
    if lang in WRONG:
        assert pattern.search(WRONG[lang])  # the pattern bites
    assert [text for text in all_texts(lang) if pattern.search(text)] == []


def glossary() -> dict[str, dict[str, list[str]]]:
    readme = (ROOT / "locale" / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Glossary", 1)[1]
    rows = [line.strip("|").split("|") for line in table.splitlines() if line.startswith("| `")]
    terms = ("code", "password", "reset", "sign in")
    return {
        cells[0].strip().strip("`"): {
            term: [form.strip() for form in cell.split(" / ")]
            for term, cell in zip(terms, cells[1:], strict=True)
        }
        for cells in rows
    }


def test_the_glossary_has_every_language() -> None:
    assert sorted(glossary()) == sorted(LANGS)


@pytest.mark.parametrize("lang", LANGS)
def test_the_site_and_the_emails_use_the_glossarys_terms(lang: str) -> None:
    if lang != "en":
        catalogue(lang)
    terms = glossary()[lang]
    emails = email_texts(lang)
    with translation.override(lang):
        texts = {
            "site: Reset your password": (gettext("Reset your password"), ("reset", "password")),
            "site: Code from your email": (gettext("Code from your email"), ("code",)),
            "site: Sign in (button)": (pgettext("button", "Sign in"), ("sign in",)),
        }
    wanted = {"subject": ("password",), "button": ("reset",), "action": ("code",)}
    for name, fields in (("reset", wanted), ("notice", ("subject", "button"))):
        texts |= {f"{name} email: {f}": (emails[name][f], wanted[f]) for f in fields}
    missing = [
        (where, term)
        for where, (text, needs) in texts.items()
        for term in needs
        if not any(form.lower() in text.lower() for form in terms[term])
    ]
    assert missing == [], f"{lang}: terms not from locale/README.md's glossary"
