"""The reset in Chromium, Firefox and WebKit (Safari's engine), each from the emailed
link to a sign-in with the new password, over HTTPS with production cookies.

These are the flows every engine must get right; what only Chromium can measure
(axe, page weight, the clock and clipboard) stays in the Chromium-only files.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest

from tests.browser.conftest import SIGN_IN_URL
from tests.browser.engines import Tab
from tests.browser.harness import NEW_PASSWORD, USERNAME, WRONG_CODE, SiteServer
from tests.conftest import OLD_PASSWORD

pytestmark = pytest.mark.browser

SUBMIT = "#reset-form button[type=submit]"


@pytest.fixture
def base(secure_site: SiteServer, reset_site: Any, production_cookies: None) -> str:
    return secure_site.url


def open_link(tab: Tab, base: str, username: str, code: str) -> None:
    tab.goto(f"{base}/reset/?" + urllib.parse.urlencode({"username": username, "code": code}))
    tab.wait_url(f"{base}/reset/")  # the link's values moved into the session at once


def assert_reset_done(tab: Tab, base: str, pool: Any) -> None:
    tab.wait_url(f"{base}/reset/done/")
    assert tab.text("h1") == "Your password has been changed"
    assert tab.attr("a[data-sign-in]", "href") == SIGN_IN_URL
    assert pool.can_sign_in(USERNAME, NEW_PASSWORD)
    assert not pool.can_sign_in(USERNAME, OLD_PASSWORD)


def met_rules(tab: Tab) -> list[str]:
    return list(
        tab.js(
            "return [...document.querySelectorAll('#password-rules li.met')]"
            ".map(i => i.dataset.rule)"
        )
    )


def test_full_reset_by_mouse(tab: Tab, base: str, reset_site: Any) -> None:
    code = reset_site.request_code(USERNAME)
    open_link(tab, base, USERNAME, code)
    assert tab.value("#id_username") == USERNAME
    assert tab.value("#id_code") == code  # prefilled from the session: its cookie works
    # What password managers look for. (The attribute: Firefox's `autocomplete`
    # property reads "" for one-time-code, a token it doesn't act on.)
    autocomplete = tab.js(
        "return [...document.querySelectorAll('#reset-form input:not([type=hidden])')]"
        ".map(e => e.getAttribute('autocomplete'))"
    )
    assert autocomplete == ["username", "one-time-code", "new-password", "new-password"]
    # The production cookies: Secure, host-only (__Host-), never readable by scripts.
    names = {cookie["name"]: cookie for cookie in tab.cookies()}
    assert set(names) == {"__Host-session", "__Host-csrftoken"}
    assert all(cookie["secure"] and cookie["httpOnly"] for cookie in names.values())
    assert tab.js("return document.cookie") == ""
    tab.fill("#id_new_password1", NEW_PASSWORD)
    tab.fill("#id_new_password2", NEW_PASSWORD)
    assert tab.text("#match-hint") == "Passwords match"
    tab.click(SUBMIT)
    assert_reset_done(tab, base, reset_site)


def test_full_reset_by_keyboard_alone(tab: Tab, base: str, reset_site: Any) -> None:
    code = reset_site.request_code(USERNAME)
    open_link(tab, base, USERNAME, code)
    tab.js("document.activeElement.blur()")  # from the top of the page, as on arrival
    seen = []

    def next_field() -> None:
        tab.press("Tab")
        seen.append(tab.focused())

    while tab.focused() != "username":  # past the header's links (the language list)
        next_field()
        assert len(seen) < 30, seen
    seen.clear()
    for _ in range(3):
        next_field()
    tab.type(NEW_PASSWORD)
    next_field()
    tab.press("Space")  # the show button: shows, and does not submit
    assert tab.attr("#id_new_password1", "type") == "text"
    next_field()
    tab.type(NEW_PASSWORD)
    next_field()
    next_field()
    assert seen == [
        "code",
        "Code expired or missing? Get a new code",
        "new_password1",
        "Show New password",
        "new_password2",
        "Show Confirm new password",
        "Set new password",
    ]
    tab.press("Enter")
    assert_reset_done(tab, base, reset_site)


def test_wrong_code_error_summary_takes_focus_and_keeps_the_fields(
    tab: Tab, base: str, reset_site: Any
) -> None:
    open_link(tab, base, USERNAME, WRONG_CODE)
    tab.fill("#id_new_password1", NEW_PASSWORD)
    tab.fill("#id_new_password2", NEW_PASSWORD)
    tab.click(SUBMIT)
    tab.wait("return document.getElementById('error-summary')", "the error summary")
    assert tab.focused() == "error-summary"
    assert tab.attr("#error-summary", "role") == "alert"
    assert re.match("^Error: ", tab.js("return document.title"))
    assert "wrong or has expired" in tab.text("#id_code_error")
    assert tab.attr("#id_code", "aria-invalid") == "true"
    assert tab.attr("#id_code", "aria-describedby") == "id_code_error"
    assert tab.value("#id_code") == WRONG_CODE  # kept, to correct
    assert tab.value("#id_username") == USERNAME
    # Sent in the background: the passwords stay in the page, never echoed by the server.
    assert tab.value("#id_new_password1") == NEW_PASSWORD
    tab.click("#error-summary a[href='#id_code']")
    assert tab.focused() == "code"


def test_checklist_ticks_and_show_hide(tab: Tab, base: str, reset_site: Any) -> None:
    open_link(tab, base, USERNAME, "123456")
    assert met_rules(tab) == []
    tab.fill("#id_new_password1", "abc DEF")  # an inner space counts as a symbol
    assert met_rules(tab) == ["lowercase", "uppercase", "symbol"]
    tab.fill("#id_new_password1", "Alice@example1")  # like the username
    assert "similar" not in met_rules(tab)
    tab.fill("#id_new_password1", NEW_PASSWORD)
    assert len(met_rules(tab)) == 8
    assert "(met)" in tab.text("#password-rules li")
    toggle = "#id_new_password1 + .toggle"
    assert tab.attr(toggle, "type") == "button"
    assert tab.text(toggle) == "Show New password"
    tab.click(toggle)
    assert tab.attr("#id_new_password1", "type") == "text"
    assert tab.text(toggle) == "Hide New password"
    assert tab.value("#id_new_password1") == NEW_PASSWORD
    tab.click(toggle)
    assert tab.attr("#id_new_password1", "type") == "password"
    assert tab.text(toggle) == "Show New password"
    assert tab.value("#id_new_password1") == NEW_PASSWORD
    assert tab.url == f"{base}/reset/"  # it never submitted
    tab.click("#id_new_password2 + .toggle")  # the second field has its own
    assert tab.attr("#id_new_password2", "type") == "text"
    assert tab.attr("#id_new_password1", "type") == "password"
