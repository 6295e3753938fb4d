"""The reset in Chromium, Firefox and WebKit (Safari's engine), each from the emailed
link to a sign-in with the new password, over HTTPS with production cookies.

These are the flows every engine must get right; what only Chromium can measure
(axe, page weight, the clock and clipboard) stays in the Chromium-only files.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from tests.browser.conftest import SIGN_IN_URL
from tests.browser.engines import Tab
from tests.browser.harness import NEW_PASSWORD, USERNAME, SiteServer
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
