"""Languages: complete catalogues, the language on every page, the switcher, RTL.

The catalogue check extracts the strings afresh with Django's makemessages (GNU
gettext) from a copy of the code, merges them into copies of the shipped
catalogues, and fails on anything untranslated, fuzzy or obsolete: a new string
in the code fails until every language has it.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import to_locale

from accounts import messages
from accounts.cognito import Kind
from tests.fixtures import use_rtl_language

ROOT = Path(__file__).resolve().parent.parent
# What the maintainers' command in docs/embedding.md leaves out (-i …); dot-folders too.
NOT_SCANNED = {
    *("tests", "scripts", "contrib", "deploy", "staticfiles", "docs", "build", "node_modules"),
    "locale",  # copied below: only the catalogues
}
GETTEXT_TOOLS = ("xgettext", "msgmerge", "msguniq", "msgattrib")
SHIPPED = [code for code, _ in django_settings.LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"%%|%\([a-z_]+\)[sd]|%[sd]")


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    """A request in another language leaves it active in this thread: undo that."""
    yield
    translation.deactivate()


def catalogue(root: Path, lang: str) -> Path:
    return root / to_locale(lang) / "LC_MESSAGES" / "django.po"


def shipped(lang: str) -> polib.POFile:
    return polib.pofile(str(catalogue(ROOT / "locale", lang)))


def extract(work: Path, *args: str) -> None:
    """makemessages in ``work``, without settings: it writes only to work/locale."""
    missing = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"GNU gettext is needed to extract strings ({', '.join(missing)} missing): "
            "apt-get install gettext",
            pytrace=False,
        )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "--add-location=file", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def copy_sources(work: Path) -> None:
    """The files makemessages would read in the repository (.py, .html, .txt), and the
    shipped catalogues: the same extraction, writing only to the copy."""

    def skipped(folder: str, names: list[str]) -> set[str]:
        top = Path(folder) == ROOT
        return {
            name
            for name in names
            if name.startswith(".")
            or name == "__pycache__"
            or (top and name in NOT_SCANNED)
            or ((Path(folder) / name).is_file() and not name.endswith((".py", ".html", ".txt")))
        }

    shutil.copytree(ROOT, work, ignore=skipped, dirs_exist_ok=True)
    for po in (ROOT / "locale").glob("*/LC_MESSAGES/django.po"):
        target = work / po.relative_to(ROOT)
        target.parent.mkdir(parents=True)
        shutil.copyfile(po, target)


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped catalogues after a fresh extraction and merge; returns their locale dir."""
    work = tmp_path_factory.mktemp("extraction")
    copy_sources(work)
    extract(work, "--all")
    return work / "locale"


def problems(po: polib.POFile) -> dict[str, list[str]]:
    nplurals = int(re.search(r"nplurals=(\d+)", po.metadata["Plural-Forms"])[1])  # type: ignore[index]
    return {
        "untranslated": [e.msgid for e in po.untranslated_entries()],
        "fuzzy": [e.msgid for e in po.fuzzy_entries()],
        "obsolete (remove them)": [e.msgid for e in po.obsolete_entries()],
        "wrong number of plural forms": [
            e.msgid for e in po if e.msgid_plural and len(e.msgstr_plural) != nplurals
        ],
    }


def test_every_language_in_settings_has_a_catalogue() -> None:
    assert {"de", "fr", "es", "pt-br", "ja"} <= set(SHIPPED)
    for lang in SHIPPED:
        assert catalogue(ROOT / "locale", lang).is_file(), f"{lang} is in LANGUAGES: translate it"
        po = shipped(lang)
        assert po.metadata["Language"] == to_locale(lang)
        assert not po.metadata_is_fuzzy  # msgfmt would drop a fuzzy header, charset and all
        assert po.metadata["Content-Type"] == "text/plain; charset=UTF-8"


@pytest.mark.parametrize("lang", SHIPPED)
def test_catalogue_is_complete_against_a_fresh_extraction(merged: Path, lang: str) -> None:
    after = polib.pofile(str(catalogue(merged, lang)))
    found = {kind: ids for kind, ids in problems(after).items() if ids}
    assert not found, (
        f"locale/{to_locale(lang)}: run makemessages (docs/embedding.md) and translate: {found}"
    )
    # Nothing is missing from the shipped file itself (it was not only the merge's doing).
    before = {(e.msgid, e.msgid_plural) for e in shipped(lang) if not e.obsolete}
    assert before == {(e.msgid, e.msgid_plural) for e in after}
    assert len(before) > 80


def test_a_new_string_in_the_code_is_caught(tmp_path: Path) -> None:
    """The check above really sees strings added to templates and Python code."""
    copy_sources(tmp_path)
    page = tmp_path / "templates" / "accounts" / "done.html"
    page.write_text(page.read_text() + '{% translate "A sentence nobody translated" %}\n')
    code = tmp_path / "accounts" / "messages.py"
    code.write_text(code.read_text() + '\nNEW = _("Another new message")\n')
    extract(tmp_path, "-l", "de")
    after = polib.pofile(str(catalogue(tmp_path / "locale", "de")))
    assert problems(after)["untranslated"] == [
        "Another new message",
        "A sentence nobody translated",
    ]


@pytest.mark.parametrize("lang", SHIPPED)
def test_placeholders_survive_translation(lang: str) -> None:
    for entry in shipped(lang):
        if entry.msgid_plural:
            wanted = sorted(PLACEHOLDER.findall(entry.msgid_plural))
            for form in entry.msgstr_plural.values():
                assert sorted(PLACEHOLDER.findall(form)) == wanted, entry.msgid
        else:
            assert sorted(PLACEHOLDER.findall(entry.msgstr)) == sorted(
                PLACEHOLDER.findall(entry.msgid)
            ), entry.msgid


@pytest.mark.parametrize("lang", SHIPPED)
def test_compiled_catalogue_is_up_to_date(lang: str) -> None:
    po_path = catalogue(ROOT / "locale", lang)
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run make install"
    compiled = {(e.msgid, e.msgstr) for e in polib.mofile(str(mo_path)) if not e.msgid_plural}
    source = {(e.msgid, e.msgstr) for e in shipped(lang) if not e.msgid_plural and not e.obsolete}
    assert source <= compiled, f"{mo_path} is older than its .po: run make install"


# --- the language on the pages ------------------------------------------------------


def test_every_language_on_the_pages(client: Client, site: Any, user: str) -> None:
    """One pool for every language (making one is the slow part); the checks below run
    in each, and each language's first problem is listed."""
    problems = {}
    for lang in SHIPPED:
        if not catalogue(ROOT / "locale", lang).is_file():
            problems[lang] = "no catalogue yet"
            continue
        for check in (
            pages_speak_the_chosen_language,
            validation_and_cognito_errors_are_translated,
            the_scripts_words_come_translated_with_the_page,
        ):
            cache.clear()  # our rate limits: each language tries a wrong code
            client.cookies.clear()
            try:
                check(client, user, lang)
            except (AssertionError, KeyError) as problem:
                problems[lang] = f"{check.__name__}: {str(problem).splitlines()[0]}"
                break
    assert problems == {}


def translated(lang: str) -> Callable[[str], str]:
    table = {e.msgid: e.msgstr for e in shipped(lang)}
    return lambda msgid: table[msgid]


def html_of(response: Any) -> str:
    return str(response.content.decode())


def pages_speak_the_chosen_language(client: Client, user: str, lang: str) -> None:
    t = translated(lang)
    page = html_of(client.get(f"/forgot/?lang={lang}"))
    direction = ' dir="rtl"' if lang in ("ar", "he") else ""
    assert f'<html lang="{lang}"{direction}>' in page
    assert f"<title>{t('Get a new code')}</title>" in page
    assert f"<h1>{t('Get a new code')}</h1>" in page
    for msgid in ("Send code", "I already have a code", "Username", "Language"):
        assert t(msgid) in page
        assert f">{msgid}<" not in page
        assert f'"{msgid}"' not in page
    # Remembered: the next page, without ?lang=, is in the same language.
    sent = html_of(client.get("/forgot/sent/"))
    assert t("Check your email") in sent
    assert "Check your email" not in sent


def validation_and_cognito_errors_are_translated(client: Client, user: str, lang: str) -> None:
    t = translated(lang)
    client.get(f"/reset/?lang={lang}")
    empty = html_of(client.post("/forgot/", {"username": ""}))
    assert t("Enter your username.") in empty
    assert t("There is a problem") in empty
    weak = html_of(
        client.post(
            "/reset/",
            {"username": user, "code": "123456", "new_password1": "abc", "new_password2": "abc"},
        )
    )
    # Said once in the field's message, with the language's own punctuation; the
    # summary only links to it.
    needs = [  # the items as they read inside the sentence (msgctxt "inside a sentence")
        t("at least %(min)d characters") % {"min": 10},  # the demo pool's policy
        t("an uppercase letter (A–Z)"),
        t("a number (0–9)"),
        t("a symbol (such as ! @ # $ & *) or a space between words"),
    ]
    separator = next(e.msgstr for e in shipped(lang) if e.msgctxt == "between the items of a list")
    message = t("Your password needs: %(rules)s.") % {"rules": separator.join(needs)}
    assert escape(message) in weak
    assert weak.count(escape(message)) == 1
    assert escape(t("This password doesn't meet the requirements. Choose another.")) in weak
    if lang == "ja":
        assert message.endswith("。")
        assert "; " not in message
        assert " ." not in message
    # Cognito's answer, through our error table: a wrong code.
    wrong = client.post(
        "/reset/",
        {
            "username": user,
            "code": "moto-confirmation-code:000000",
            "new_password1": "Fresh-Horse-Battery-42",
            "new_password2": "Fresh-Horse-Battery-42",
        },
    )
    assert wrong.status_code == HTTPStatus.BAD_REQUEST
    with translation.override("en"):
        text = str(messages.COGNITO[Kind.CODE_INVALID].message)
    assert text.startswith("This code is wrong")
    assert t(text).replace("'", "&#x27;") in html_of(wrong)
    assert "This code is wrong" not in html_of(wrong)


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_error_message_has_a_translation(lang: str) -> None:
    texts = [
        *messages.FIELD.values(),
        *messages.RULES.values(),
        *(problem.message for problem in messages.COGNITO.values()),
    ]
    with translation.override("en"):
        english = [str(text) for text in texts]
    with translation.override(lang):
        theirs = [str(text) for text in texts]
    assert len(english) > 20
    assert [text for text, their in zip(english, theirs, strict=True) if text == their] == []


@pytest.mark.parametrize("lang", SHIPPED)
def test_retry_text_uses_the_languages_plural_rule(lang: str) -> None:
    po = shipped(lang)
    (entry,) = (e for e in po if e.msgid == "Try again in %(n)d minute.")
    plural = gettext.c2py(po.metadata["Plural-Forms"].split("plural=", 1)[1].rstrip(";"))
    with translation.override(lang):
        for minutes in (1, 2, 5):
            expected = entry.msgstr_plural[plural(minutes)] % {"n": minutes}
            assert messages.retry_text(minutes * 60) == expected
    with translation.override("en"):
        assert messages.retry_text(60) == "Try again in 1 minute."


@pytest.mark.parametrize("lang", SHIPPED)
def test_press_again_uses_the_languages_plural_rule(lang: str) -> None:
    po = shipped(lang)
    (entry,) = (e for e in po if e.msgid.startswith("Wait %(n)d second,"))
    plural = gettext.c2py(po.metadata["Plural-Forms"].split("plural=", 1)[1].rstrip(";"))
    with translation.override(lang):
        button = translation.gettext("Send code")
        for seconds in (1, 2, 5, 21):
            values = {"n": seconds, "button": button}
            expected = entry.msgstr_plural[plural(seconds)] % values
            assert messages.press_again(seconds, messages.BUTTONS["forgot"]) == expected


def the_scripts_words_come_translated_with_the_page(client: Client, user: str, lang: str) -> None:
    t = translated(lang)
    page = html_of(client.get(f"/reset/?lang={lang}"))
    for attribute, msgid in (
        ("data-t-show", "Show"),
        ("data-t-met", "met"),
        ("data-t-unmet", "not met yet"),
        ("data-t-match", "Passwords match"),
        ("data-t-nomatch", "Passwords don't match yet"),
        ("data-t-all", "All password requirements met"),
        ("data-busy-label", "Setting password…"),
    ):
        assert f'{attribute}="{t(msgid)}"'.replace("'", "&#x27;") in page
    # The placeholders the script fills in survive, in the language's own order.
    count = re.search(r'data-t-count="([^"]*)"', page)[1]  # type: ignore[index]
    assert count == t("%%(met)s of %%(total)s password requirements met").replace("%%", "%")
    assert "%(met)s" in count
    assert "%(total)s" in count


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de"),
        ("fr-CA,fr;q=0.8", "fr"),
        ("es-MX,es;q=0.9", "es"),
        ("pt-BR,pt;q=0.9", "pt-br"),
        ("ja-JP,ja;q=0.9", "ja"),
        ("nl-NL,nl;q=0.9", "nl"),
        ("nb-NO,nb;q=0.9", "en"),  # not shipped: English
    ],
)
def test_accept_language_picks_the_language(
    client: Client, site: Any, header: str, lang: str
) -> None:
    page = html_of(client.get("/reset/", HTTP_ACCEPT_LANGUAGE=header))
    assert f'<html lang="{lang}">' in page


def test_language_switcher_keeps_nothing_of_the_address(client: Client, site: Any) -> None:
    page = html_of(client.get("/forgot/?username=bob%40example.com&lang=fr"))
    nav = re.search(r'<nav aria-label="Langue">(.*?)</nav>', page, re.S)
    assert nav, page
    links = re.findall(
        r'<a href="([^"]*)" lang="([^"]*)"(?: dir="rtl")?( aria-current="true")?>([^<]*)</a>',
        nav[1],
    )
    assert [(href, lang, bool(current), name) for href, lang, current, name in links] == [
        (f"?lang={code}", code, code == "fr", name) for code, name in django_settings.LANGUAGES
    ]
    assert len(links) == 20
    assert 'lang="he" dir="rtl">עברית<' in nav[1]
    assert 'lang="ar" dir="rtl">العربية<' in nav[1]
    assert nav[1].count('dir="rtl"') == 2
    assert "bob" not in nav[1]
    # A link of the list: the same page in that language, remembered.
    switched = client.get("/forgot/?lang=ja")
    assert '<html lang="ja">' in html_of(switched)
    assert switched.cookies["__Host-lang"].value == "ja"


def test_error_pages_are_translated(client: Client, site: Any) -> None:
    t = translated("de")
    client.get("/forgot/?lang=de")
    missing = client.get("/nope/")
    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert t("Page not found") in html_of(missing)
    assert '<html lang="de">' in html_of(missing)


# --- right to left --------------------------------------------------------------------


def test_right_to_left_language(client: Client, site: Any, settings: Any, tmp_path: Path) -> None:
    hebrew = use_rtl_language(settings, tmp_path)
    page = html_of(client.get("/forgot/?lang=he"))
    assert '<html lang="he" dir="rtl">' in page
    assert f"<h1>{hebrew['Get a new code']}</h1>" in page
    assert f'<nav aria-label="{hebrew["Language"]}">' in page
    assert '<a href="?lang=he" lang="he" dir="rtl" aria-current="true">עברית</a>' in page
    left_to_right = html_of(client.get("/forgot/?lang=de"))
    assert '<html lang="de">' in left_to_right
    # Only the switcher's links to the two right-to-left languages say so.
    assert left_to_right.count('dir="rtl"') == 2


def test_stylesheet_is_direction_agnostic() -> None:
    """Physical left/right would not mirror in a right-to-left language."""
    css = (ROOT / "static" / "accounts" / "site.css").read_text()
    rules = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    physical = re.findall(
        r"(?:margin|padding|border)-(?:left|right)|(?<![-\w])(?:left|right)\s*:|"
        r"text-align:\s*(?:left|right)|float:\s*(?:left|right)",
        rules,
    )
    assert physical == []
    assert "inset-inline-start" in rules
    assert "padding-inline-start" in rules
