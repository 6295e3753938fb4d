"""Twenty languages in Chromium: Arabic and Hebrew right to left at 320 px and 1280 px
(axe, no horizontal scrolling, and the parts that must mirror), the same in a portal's
frame, and the page telling the truth after a failure and before a language switch."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import USERNAME, WRONG_CODE, Reset, SiteServer
from tests.browser.test_accessibility import axe_violations, overflow
from tests.browser.test_embedding import Framing, framing  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser

RETYPE = "For your safety, we didn't keep the password you typed. Type it again in both fields."

# Where things sit, from the element boxes: [left, right] of each, in CSS pixels.
EDGES = """selector => [...document.querySelectorAll(selector)].map(e => {
    const r = e.getBoundingClientRect(); return [r.left, r.right]; })"""


def edges(page: Page, selector: str) -> list[list[float]]:
    return list(page.evaluate(EDGES, selector))


def is_right_to_left(page: Page, width: int) -> None:
    """The mirrored parts of the form, as a right-to-left reader expects them."""
    # The checklist's ticks at the start of each line: on the right.
    ticks = page.evaluate(
        "[...document.querySelectorAll('#password-rules li')].map(li => {"
        " const s = getComputedStyle(li, '::before'); return [s.right, s.left]; })"
    )
    assert ticks
    assert all(right == "0px" and left != "0px" for right, left in ticks)
    # Show/hide at the end of each password field: on its left, inside the field's row.
    for name in ("new_password1", "new_password2"):
        (field,) = edges(page, f"#id_{name}")
        (toggle,) = edges(page, f"#id_{name} + .toggle")
        (row,) = edges(page, f".pw:has(#id_{name})")
        assert row[0] <= toggle[0] < toggle[1] <= field[0] < field[1] <= row[1]
    # The passwords and the code are still typed left to right.
    for name in ("code", "new_password1", "new_password2"):
        assert page.eval_on_selector(f"#id_{name}", "e => getComputedStyle(e).direction") == "ltr"
    # The language switcher: every link on the screen.
    assert all(left >= 0 and right <= width for left, right in edges(page, "footer nav a"))
    assert overflow(page) <= 0


@pytest.mark.parametrize("width", [320, 1280])
@pytest.mark.parametrize("lang", ["ar", "he"])
def test_right_to_left_at_320_px_and_on_the_desktop(
    reset: Reset, reset_site: Any, lang: str, width: int
) -> None:
    page = reset.page
    page.set_viewport_size({"width": width, "height": 900})
    reset.open_link(USERNAME, WRONG_CODE)
    page.goto(f"{reset.base}/reset/?lang={lang}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.fill("#id_new_password1", "abc")
    page.locator("#id_new_password1 + .toggle").click()
    is_right_to_left(page, width)
    assert axe_violations(page) == []
    # The error summary after a wrong code: its bullets at the right, its box on screen.
    reset.fill_passwords()
    page.locator("#reset-form [type=submit]").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    padding = summary.locator("ul").evaluate(
        "e => [getComputedStyle(e).paddingRight, getComputedStyle(e).paddingLeft]"
    )
    assert padding[0] != "0px"
    assert padding[1] == "0px"
    ((left, right),) = edges(page, "#error-summary")
    assert 0 <= left < right <= width
    is_right_to_left(page, width)
    assert axe_violations(page) == []
    page.goto(f"{reset.base}/forgot/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert overflow(page) <= 0
    assert axe_violations(page) == []


def test_right_to_left_in_a_portals_frame(page: Page, framing: Framing) -> None:  # noqa: F811
    for width in (320, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{framing.portal.origin()}/?lang=ar")
        frame = page.frame_locator("#reset-frame")
        expect(frame.locator("html")).to_have_attribute("dir", "rtl")
        expect(frame.locator("html")).to_have_class(re.compile(r"\bframed\b"))
        inner = next(f for f in page.frames if f.url.startswith(framing.site.url))
        assert (
            inner.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            <= 0
        )
        assert overflow(page) <= 0
        field = frame.locator("#id_new_password1").bounding_box()
        toggle = frame.locator("#id_new_password1 + .toggle").bounding_box()
        assert field
        assert toggle
        assert toggle["x"] + toggle["width"] <= field["x"]  # mirrored inside the frame too


# --- the truth after a failure, and before a switch -----------------------------------------


def test_after_a_wrong_code_without_javascript_nothing_is_met_and_it_says_so(
    browser: Browser, live_site: SiteServer, reset_site: Any
) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=live_site.url)
    page = context.new_page()
    reset = Reset(page, live_site.url)
    reset.open_link(USERNAME, WRONG_CODE)
    reset.fill_passwords()
    reset.submit()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#id_new_password1")).to_have_value("")
    expect(page.locator("#retype")).to_have_text(RETYPE)
    expect(page.locator("#password-rules li.met")).to_have_count(0)
    expect(page.locator("#id_new_password1")).to_have_attribute(
        "aria-describedby", "password-rules retype"
    )
    context.close()


def test_the_switcher_warns_before_a_typed_password_is_lost(reset: Reset, reset_site: Any) -> None:
    page = reset.page
    reset.open_link(USERNAME, "123456")
    german = page.get_by_role("navigation", name="Language").get_by_role("link", name="Deutsch")
    page.fill("#id_new_password1", "Fresh-horse")
    german.click()
    warning = page.locator("#switch-warning")
    expect(warning).to_have_attribute("role", "alert")
    expect(warning).to_contain_text("you'll have to type your password again")
    expect(page).to_have_url(f"{reset.base}/reset/")  # still here, the password still typed
    expect(page.locator("#id_new_password1")).to_have_value("Fresh-horse")
    german.click()  # asked and answered: now it switches, keeping username and code
    expect(page).to_have_url(f"{reset.base}/reset/?lang=de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#id_username")).to_have_value(USERNAME)
    expect(page.locator("#id_code")).to_have_value("123456")
    expect(page.locator("#id_new_password1")).to_have_value("")
    # Nothing typed: the first press switches.
    page.get_by_role("navigation", name="Sprache").get_by_role("link", name="English").click()
    expect(page).to_have_url(f"{reset.base}/reset/?lang=en")
