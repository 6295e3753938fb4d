"""A busy day in the browser: the page sends the form in the background, waits out
"busy for everyone" with a countdown and sends it again by itself, and never loses
the passwords typed. In Chromium, Firefox and WebKit, over HTTPS with production
cookies; what only needs one engine runs in Chromium.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.engines import Tab
from tests.browser.harness import NEW_PASSWORD, USERNAME, WRONG_CODE, Reset, SiteServer
from tests.browser.test_engines import SUBMIT, assert_reset_done, open_link
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.browser

COUNTDOWN = re.compile(r"^We.ll try again in \d+ seconds?\.$")


@pytest.fixture
def base(secure_site: SiteServer, reset_site: Any, production_cookies: None) -> str:
    return secure_site.url


def test_throttled_three_times_one_click_still_ends_on_the_done_page(
    tab: Tab, base: str, reset_site: Any, proxy: FaultProxy
) -> None:
    code = reset_site.request_code(USERNAME)
    open_link(tab, base, USERNAME, code)
    tab.fill("#id_new_password1", NEW_PASSWORD)
    tab.fill("#id_new_password2", NEW_PASSWORD)
    proxy.throttle_next(3)  # the account's quota refuses the next three calls
    tab.click(SUBMIT)
    # Busy for everyone: told so, with a countdown; the passwords are still there.
    said = tab.wait(
        "const e = document.querySelector('#retry-line .vh'); return e && e.textContent",
        "the countdown",
    )
    assert COUNTDOWN.match(said), said
    assert tab.attr("#retry-line [aria-hidden]", "aria-hidden") == "true"
    assert "A lot of people are resetting their password right now" in tab.text("#error-summary")
    assert tab.focused() == "error-summary"
    assert tab.value("#id_new_password1") == NEW_PASSWORD
    assert tab.value("#id_new_password2") == NEW_PASSWORD
    tab.wait("return location.pathname === '/reset/done/'", "the done page, unaided", timeout=25)
    assert_reset_done(tab, base, reset_site)
    # Sent four times (each answer throttled is tried once more at once), clicked once.
    assert len(proxy.calls("ConfirmForgotPassword")) == 4


# --- in Chromium -------------------------------------------------------------------


def _answer_and_settle(reset: Reset, proxy: FaultProxy, calls: int) -> None:
    """Submit, wait for the answer, and make sure nothing is sent again by itself."""
    reset.submit()
    expect(reset.page.locator("#error-summary")).to_be_focused()
    time.sleep(1.5)  # a countdown would be showing by now
    assert len(proxy.calls("ConfirmForgotPassword")) == calls


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("error:LimitExceededException", "Too many attempts"),  # the person's own limit
        ("error:InvalidPasswordException", "doesn't meet the requirements"),  # a weak one
        ("pass", "This code is wrong or has expired"),  # moto: a wrong code
    ],
)
def test_a_real_answer_is_shown_never_sent_again_and_keeps_the_passwords(
    reset: Reset, reset_site: Any, proxy: FaultProxy, mode: str, says: str
) -> None:
    page = reset.page
    reset.open_link(USERNAME, WRONG_CODE)
    reset.fill_passwords()
    proxy.set(mode)
    _answer_and_settle(reset, proxy, calls=1)
    expect(page.locator("#error-summary")).to_contain_text(says)
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator("#id_new_password1")).to_have_value(NEW_PASSWORD)
    expect(page.locator("#id_new_password2")).to_have_value(NEW_PASSWORD)
    expect(page.locator("#id_code")).to_have_value(WRONG_CODE)
    expect(page.locator("#retry-line")).to_have_count(0)
    assert page.url == f"{reset.base}/reset/"


def test_fixing_the_code_after_a_wrong_one_is_one_press(
    reset: Reset, reset_site: Any, proxy: FaultProxy, csp_errors: list[str]
) -> None:
    page = reset.page
    reset.open_link(USERNAME, WRONG_CODE)
    reset.fill_passwords()
    reset.submit()
    expect(page.locator("#error-summary")).to_contain_text("wrong or has expired")
    # The checklist and show/hide work on the answer too (the script ran on it again).
    expect(page.locator("#password-rules li.met")).to_have_count(8)
    page.get_by_role("button", name="Show New password").click()
    expect(page.locator("#id_new_password1")).to_have_attribute("type", "text")
    page.fill("#id_code", reset_site.request_code(USERNAME))
    reset.submit()
    expect(page).to_have_url(f"{reset.base}/reset/done/")
    assert reset_site.can_sign_in(USERNAME, NEW_PASSWORD)
    assert csp_errors == []


def test_busy_twice_says_so_politely_and_still_gets_there(
    reset: Reset, reset_site: Any, proxy: FaultProxy
) -> None:
    page = reset.page
    reset.open_link(USERNAME, reset_site.request_code(USERNAME))
    reset.fill_passwords()
    proxy.throttle_next(4)  # two answers in a row are "busy" (each call is tried twice)
    reset.submit()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    said = page.locator("#retry-line .vh").text_content()
    # The second time the page stays as it is; the form's polite status says when.
    status = page.locator("#form-status")
    expect(status).to_have_text(COUNTDOWN, timeout=15_000)
    expect(page.locator("#retry-line .vh")).to_have_text(said or "")  # not said again
    expect(page).to_have_url(f"{reset.base}/reset/done/", timeout=20_000)
    assert len(proxy.calls("ConfirmForgotPassword")) == 5  # 2 + 2 throttled, then through
    assert reset_site.can_sign_in(USERNAME, NEW_PASSWORD)


def test_the_countdown_passes_axe(reset: Reset, reset_site: Any, proxy: FaultProxy) -> None:
    from tests.browser.test_accessibility import axe_violations

    reset.open_link(USERNAME, reset_site.request_code(USERNAME))
    reset.fill_passwords()
    proxy.set("throttle")  # busy for as long as this test looks
    reset.submit()
    expect(reset.page.locator("#retry-line .vh")).to_have_text(COUNTDOWN)
    assert axe_violations(reset.page) == []


def test_code_request_waits_out_busy_too(
    page: Page, live_site: SiteServer, reset_site: Any, proxy: FaultProxy
) -> None:
    page.goto(f"{live_site.url}/forgot/")
    page.fill("#id_username", USERNAME)
    proxy.throttle_next(2)
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#error-summary")).to_contain_text("asking for a code right now")
    expect(page.locator("#retry-line .vh")).to_have_text(COUNTDOWN)
    expect(page).to_have_url(f"{live_site.url}/forgot/sent/", timeout=15_000)
    assert len(proxy.calls("ForgotPassword")) == 3


def test_without_javascript_the_busy_page_says_when_to_press_again(
    browser: Any, live_site: SiteServer, reset_site: Any, proxy: FaultProxy
) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=live_site.url)
    reset = Reset(context.new_page(), live_site.url)
    reset.open_link(USERNAME, reset_site.request_code(USERNAME))
    reset.fill_passwords()
    proxy.throttle_next(2)
    reset.submit()
    line = reset.page.locator("#retry-line")
    expect(line).to_have_text(
        re.compile(r"^Wait \d+ seconds, then press “Set new password” again\.$")
    )
    expect(reset.page.locator("#id_new_password1")).to_have_value("")  # the plain form path
    reset.fill_passwords()
    reset.submit()
    expect(reset.page).to_have_url(f"{live_site.url}/reset/done/")
    context.close()
