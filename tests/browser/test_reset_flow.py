"""The reset pages in Chromium: by mouse, by keyboard alone, without JavaScript,
and every state a person can meet on the way."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SIGN_IN_URL
from tests.browser.harness import NEW_PASSWORD, USERNAME, WRONG_CODE, Reset
from tests.conftest import OLD_PASSWORD
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.browser


def focused(page: Page) -> str:
    """A short description of the focused element: its name, id, or text."""
    return str(
        page.evaluate(
            """() => { const e = document.activeElement;
                return e.name || e.id || e.textContent.trim(); }"""
        )
    )


def assert_reset_done(page: Page, base: str, pool: Any) -> None:
    expect(page).to_have_url(f"{base}/reset/done/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password has been changed")
    expect(page.get_by_role("link", name="Sign in")).to_have_attribute("href", SIGN_IN_URL)
    assert pool.can_sign_in(USERNAME, NEW_PASSWORD)
    assert not pool.can_sign_in(USERNAME, OLD_PASSWORD)


# --- the three complete journeys ------------------------------------------------


def test_full_reset_by_mouse(reset: Reset, reset_site: Any, csp_errors: list[str]) -> None:
    page = reset.page
    code = reset_site.request_code(USERNAME)
    reset.open_link(USERNAME, code)
    expect(page.locator("#id_username")).to_have_value(USERNAME)
    expect(page.locator("#id_code")).to_have_value(code)  # prefilled from the link
    # What password managers look for: the account name, then the new password twice.
    autocomplete = page.eval_on_selector_all(
        "#reset-form input:not([type=hidden])", "es => es.map(e => e.autocomplete)"
    )
    assert autocomplete == ["username", "one-time-code", "new-password", "new-password"]
    page.locator("#id_new_password1").click()
    page.keyboard.type(NEW_PASSWORD)
    page.locator("#id_new_password2").click()
    page.keyboard.type(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    assert_reset_done(page, reset.base, reset_site)
    assert csp_errors == []


def test_full_reset_without_javascript(browser: Browser, live_site: Any, reset_site: Any) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=live_site.url)
    page = context.new_page()
    reset = Reset(page, live_site.url)
    code = reset_site.request_code(USERNAME)
    reset.open_link(USERNAME, code)
    # No dead buttons: the show toggles come with the script.
    expect(page.get_by_role("button")).to_have_count(1)
    # The same rules, as plain text.
    rules = page.locator("#password-rules li")
    expect(rules).to_have_text(
        [
            "At least 10 characters",
            "A lowercase letter (a–z)",
            "An uppercase letter (A–Z)",
            "A number (0–9)",
            "A symbol (such as ! @ # $ & *) or a space between words",
            "No space at the start or end",
            "Not a commonly used password",
            "Not similar to your username",
        ]
    )
    assert (
        page.evaluate(
            "getComputedStyle(document.querySelector('#password-rules li')).listStyleType"
        )
        == "disc"
    )
    # The server checks the same rules: a common password is refused, named in the summary.
    reset.fill_passwords("Password1!")
    reset.submit()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("This password is too common")
    expect(summary).to_be_focused()  # autofocus: no script needed
    expect(page.locator("#id_code")).to_have_value(code)
    reset.fill_passwords()
    reset.submit()
    assert_reset_done(page, reset.base, reset_site)
    context.close()


# --- live help while typing -------------------------------------------------------


def met_rules(page: Page) -> list[str]:
    return list(
        page.eval_on_selector_all(
            "#password-rules li.met", "items => items.map(i => i.dataset.rule)"
        )
    )


def test_checklist_ticks_as_rules_are_met(reset: Reset, reset_site: Any) -> None:
    page = reset.page
    reset.open_link(USERNAME, "123456")
    password = page.locator("#id_new_password1")
    assert met_rules(page) == []  # shown before typing, nothing met yet
    expect(password).to_have_attribute("aria-describedby", "password-rules")
    expect(page.locator("#password-rules li").first).to_contain_text("(not met yet)")
    # The negative rules ("No space…", "Not common", "Not similar to your username") tick
    # only once every positive rule is met: a first keystroke is no progress on them.
    password.fill("abc")
    assert met_rules(page) == ["lowercase"]
    password.fill("abc DEF")  # an inner space is allowed, and counts as a symbol
    assert met_rules(page) == ["lowercase", "uppercase", "symbol"]
    password.fill("Harbor-7-lights")  # every positive rule met: now the negative ones too
    assert met_rules(page) == [
        "length", "lowercase", "uppercase", "number", "symbol", "nospace", "common", "similar"
    ]  # fmt: skip
    password.fill("Harbor-7-lights ")  # but a space at either end is not
    assert "nospace" not in met_rules(page)
    password.fill(" Harbor-7-lights")
    assert "nospace" not in met_rules(page)
    password.fill("Password1!")  # meets the pool's policy, but is common
    assert "common" not in met_rules(page)
    assert {"length", "lowercase", "uppercase", "number", "symbol"} <= set(met_rules(page))
    password.fill("Alice@example1")  # like the username
    assert "similar" not in met_rules(page)
    page.fill("#id_username", "bob")  # the rule follows the username field
    assert "similar" in met_rules(page)
    password.fill(NEW_PASSWORD)
    assert len(met_rules(page)) == 8
    expect(page.locator("#password-rules li").first).to_contain_text("(met)")


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("alice@example.com", "Alice@example1"),
        ("alice@example.com", "Example-Alice-7"),
        ("alice.smith@example.com", "Smith-Rocks-42"),
        ("alice.smith@example.com", "Ecila-Htims-42"),
        ("al", "Fresh-Horse-Battery-42-al"),  # too short a name to compare
        ("jo", "Jo-jo-jo-1!"),
        ("bob", "P@ssw0rd-Bob"),
        ("bob", "Password1!"),  # common, though it meets the policy
        ("bob", "Iloveyou<3"),
        ("bob", "Tab\tand-Nbsp\u00a0-1"),
        ("bob", "Tiny Green Frog Jumps 42"),  # a passphrase: the spaces are its symbols
        ("bob", " Tiny Green Frog Jumps 42"),
        ("bob", "Tiny Green Frog Jumps 42 "),
        ("bob", "Tiny Green\u00a0Frog Jumps 42"),
        ("bob", "Fine-Password-9"),
    ],
)
def test_checklist_agrees_with_the_server(
    reset: Reset, reset_site: Any, username: str, password: str
) -> None:
    """The live ticks and the server's own checks give the same verdict."""
    from django.contrib.auth.password_validation import CommonPasswordValidator

    from accounts.policy import PasswordPolicy, password_space_problem, too_similar

    page = reset.page
    reset.open_link(username, "123456")
    page.locator("#id_new_password1").fill(password)
    policy = PasswordPolicy(minimum_length=10)  # the demo pool's policy
    expected = {rule: rule not in policy.unmet(password) for rule in policy.rules()}
    if not policy.unmet(password):  # the negative rules tick only once these are met
        expected["nospace"] = password_space_problem(password) is None
        expected["similar"] = not too_similar(password, username)
        # The page lists the common passwords that could pass (and are fit to show).
        expected["common"] = password.lower() not in CommonPasswordValidator().passwords
    else:
        expected.update(nospace=False, similar=False, common=False)
    met = set(met_rules(page))
    assert {rule: rule in met for rule in expected} == expected


def test_checklist_announces_a_summary_only_when_the_count_changes(
    reset: Reset, reset_site: Any
) -> None:
    page = reset.page
    page.clock.install()  # the page's timers run only when the test says so
    reset.open_link(USERNAME, "123456")
    status = page.locator("#rules-status")
    expect(status).to_have_attribute("aria-live", "polite")
    # The list itself is not live: it would speak on every keystroke.
    assert page.locator("#password-rules [aria-live]").count() == 0
    page.evaluate(
        """() => { window.said = [];
            new MutationObserver(() => window.said.push(
                document.getElementById('rules-status').textContent))
            .observe(document.getElementById('rules-status'),
                     {childList: true, characterData: true, subtree: true}); }"""
    )
    field = page.locator("#id_new_password1")

    def typed(text: str, pause_ms: int) -> list[str]:
        field.press_sequentially(text)
        page.clock.run_for(pause_ms)
        return list(page.evaluate("window.said"))

    assert typed("abcdefgh", 500) == []  # still typing: nothing said yet, ticks already shown
    assert met_rules(page) == ["lowercase"]
    assert typed("", 500) == ["1 of 8 password requirements met"]  # a pause: one summary
    assert typed("ij", 1000)[1:] == ["2 of 8 password requirements met"]  # + length
    assert len(typed("k", 1000)) == 2  # the same count: silence
    assert typed("A1!", 1000)[2:] == ["All password requirements met"]
    expect(status).to_have_text("All password requirements met")


def test_show_hide_toggle(reset: Reset, reset_site: Any) -> None:
    page = reset.page
    reset.open_link(USERNAME, "123456")
    field = page.locator("#id_new_password1")
    toggle = page.locator("#id_new_password1 + .toggle")
    expect(toggle).to_have_attribute("type", "button")
    # The label and accessible name say what the next press does.
    expect(toggle).to_have_accessible_name("Show New password")
    expect(toggle).to_have_text("Show New password")
    field.fill("Secret-Value-9")
    toggle.click()
    expect(field).to_have_attribute("type", "text")
    expect(toggle).to_have_accessible_name("Hide New password")
    expect(toggle).to_have_text("Hide New password")
    expect(field).to_have_value("Secret-Value-9")
    toggle.click()
    expect(field).to_have_attribute("type", "password")
    expect(toggle).to_have_accessible_name("Show New password")
    expect(field).to_have_value("Secret-Value-9")
    expect(page).to_have_url(f"{reset.base}/reset/")  # it never submitted
    # The second field has its own toggle.
    page.get_by_role("button", name="Show Confirm new password").click()
    expect(page.locator("#id_new_password2")).to_have_attribute("type", "text")
    expect(field).to_have_attribute("type", "password")


def test_passwords_match_hint(reset: Reset, reset_site: Any) -> None:
    page = reset.page
    reset.open_link(USERNAME, "123456")
    hint = page.locator("#match-hint")
    page.fill("#id_new_password1", NEW_PASSWORD)
    expect(hint).to_be_hidden()  # nothing until the second field has something
    page.locator("#id_new_password2").press_sequentially("Fresh")
    expect(hint).to_have_text("")  # still typing: no nagging
    page.locator("#id_new_password2").press_sequentially("-Horse-Battery-42")
    expect(hint).to_have_text("Passwords match")
    expect(hint).to_be_visible()
    page.locator("#id_new_password2").press("Backspace")
    page.locator("#id_new_password2").blur()
    expect(hint).to_have_text("Passwords don't match yet")
    assert "match-hint" in (page.get_attribute("#id_new_password2", "aria-describedby") or "")


def test_a_press_on_submit_as_the_mismatch_hint_appears_still_submits(
    reset: Reset, reset_site: Any
) -> None:
    """The press takes the focus from the second field, whose blur shows "don't match
    yet": nothing may move under the pointer before the button is released."""
    page = reset.page
    reset.open_link(USERNAME, "123456")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.locator("#id_new_password2").press_sequentially("Fresh-Ho")
    expect(page.locator("#match-hint")).to_have_text("")
    button = page.get_by_role("button", name="Set new password")
    box = button.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    expect(page.locator("#match-hint")).to_have_text("Passwords don't match yet")
    assert button.bounding_box() == box
    page.mouse.up()
    expect(page.locator("#error-summary")).to_contain_text("The two passwords don't match")


def test_a_failed_submit_explains_once_and_empties_the_checklist(
    reset: Reset, reset_site: Any
) -> None:
    page = reset.page
    reset.open_link(USERNAME, "123456")
    reset.fill_passwords("harbor7")
    assert met_rules(page) == ["lowercase", "number"]
    reset.submit()
    # The password stays (sent in the background); the checklist shows what it showed;
    # the field's message says what is missing; the summary only points to it.
    expect(page.locator("#id_new_password1")).to_have_value("harbor7")
    assert met_rules(page) == ["lowercase", "number"]
    # Nothing was emptied, so the page doesn't say to type the password again.
    expect(page.locator("#retype")).to_have_count(0)
    expect(page.locator("#id_new_password1")).to_have_attribute(
        "aria-describedby", "id_new_password1_error password-rules"
    )
    expect(page.locator("#id_new_password1_error")).to_have_text(
        "Your password needs: at least 10 characters; an uppercase letter (A–Z); "
        "a symbol (such as ! @ # $ & *) or a space between words."
    )
    expect(page.locator("#error-summary li")).to_have_text(
        ["This password doesn't meet the requirements. Choose another."]
    )
    page.locator("#id_new_password1").press_sequentially("H")  # typing on: live ticks
    assert met_rules(page) == ["lowercase", "uppercase", "number"]


@pytest.mark.parametrize(
    ("pasted", "kept"),
    [
        ("123 456\n", "123456"),
        ("123-456", "123456"),
        (" moto-confirmation-code:123 456 ", "moto-confirmation-code:123456"),
    ],
)
def test_code_field_forgives_pasting(
    reset: Reset, reset_site: Any, context: Any, pasted: str, kept: str
) -> None:
    page = reset.page
    reset.open_link(USERNAME, "")
    code = page.locator("#id_code")
    expect(code).to_have_attribute("inputmode", "numeric")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("text => navigator.clipboard.writeText(text)", pasted)
    code.focus()
    page.keyboard.press("Control+V")
    expect(code).to_have_value(kept)


# --- answers from the server ------------------------------------------------------


def test_wrong_code_error_summary_takes_focus_and_links_to_the_field(
    reset: Reset, reset_site: Any
) -> None:
    page = reset.page
    reset.open_link(USERNAME, WRONG_CODE)
    reset.fill_passwords()
    reset.submit()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(page).to_have_title(re.compile("^Error: "))
    link = summary.get_by_role("link", name=re.compile("This code is wrong or has expired"))
    expect(link).to_have_attribute("href", "#id_code")
    code = page.locator("#id_code")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_have_attribute("aria-describedby", "id_code_error")
    expect(page.locator("#id_code_error")).to_contain_text("wrong or has expired")
    link.click()
    expect(code).to_be_focused()
    expect(code).to_have_value(WRONG_CODE)  # kept, to correct
    expect(page.locator("#id_username")).to_have_value(USERNAME)
    expect(page.locator("#id_new_password1")).to_have_value(NEW_PASSWORD)  # kept in the page


def test_expired_code_one_click_to_a_new_code(
    reset: Reset, reset_site: Any, proxy: FaultProxy
) -> None:
    page = reset.page
    reset.open_link(USERNAME, WRONG_CODE)
    reset.fill_passwords()
    reset.submit()
    page.get_by_role("button", name="Email me a new code").click()
    expect(page).to_have_url(f"{reset.base}/forgot/sent/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    assert [call["Username"] for call in proxy.calls("ForgotPassword")] == [USERNAME]
    page.get_by_role("link", name="Enter the code").click()
    expect(page.locator("#id_username")).to_have_value(USERNAME)
    # The new code arrives by email; the person types it in.
    code = reset_site.request_code(USERNAME)
    page.fill("#id_code", code)
    reset.fill_passwords()
    reset.submit()
    assert_reset_done(page, reset.base, reset_site)


def test_back_after_success_says_the_password_was_changed(
    reset: Reset, reset_site: Any, proxy: FaultProxy
) -> None:
    page = reset.page
    reset.open_link(USERNAME, reset_site.request_code(USERNAME))
    reset.fill_passwords()
    reset.submit()
    assert_reset_done(page, reset.base, reset_site)
    page.go_back()
    expect(page).to_have_url(f"{reset.base}/reset/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password has been changed")
    expect(page.get_by_role("link", name="Sign in")).to_have_attribute("href", SIGN_IN_URL)
    expect(page.locator("#reset-form")).to_have_count(0)
    assert len(proxy.calls("ConfirmForgotPassword")) == 1


def test_submitting_state_and_no_double_submit(
    reset: Reset, reset_site: Any, proxy: FaultProxy, settings: Any
) -> None:
    page = reset.page
    settings.COGNITO_READ_TIMEOUT = 5.0
    code = reset_site.request_code(USERNAME)
    reset.open_link(USERNAME, code)
    reset.fill_passwords()
    proxy.set("slow", delay=2.0)  # Cognito takes its time: the page stays up meanwhile
    # Playwright waits for a pending navigation before it looks at the page, so the
    # page itself notes its state while the answer is on its way, and tries to
    # submit a second time: with a click and with a scripted submission.
    page.evaluate(
        """() => { const form = document.getElementById('reset-form');
            form.addEventListener('submit', () => setTimeout(() => {
                const button = form.querySelector('[type=submit]');
                sessionStorage.setItem('while-submitting', JSON.stringify([
                    button.disabled, button.textContent,
                    document.getElementById('form-status').textContent]));
                button.click();
                form.requestSubmit();
            }, 50), {once: true}); }"""
    )
    page.get_by_role("button", name="Set new password").click()
    assert_reset_done(page, reset.base, reset_site)
    assert len(proxy.calls("ConfirmForgotPassword")) == 1
    assert json.loads(page.evaluate("sessionStorage.getItem('while-submitting')")) == [
        True,
        "Setting password…",
        "Setting password…",
    ]


def test_rate_limited_says_when_to_try_again(
    reset: Reset, reset_site: Any, proxy: FaultProxy
) -> None:
    page = reset.page
    code = reset_site.request_code(USERNAME)
    reset.open_link(USERNAME, code)
    proxy.set("error:LimitExceededException")  # the person's own limit
    reset.fill_passwords()
    reset.submit()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Too many attempts")
    expect(summary).to_contain_text(re.compile(r"Try again in \d+ minutes?\."))
    expect(summary).to_be_focused()


def test_service_down_keeps_what_was_typed(
    reset: Reset, reset_site: Any, proxy: FaultProxy
) -> None:
    page = reset.page
    code = reset_site.request_code(USERNAME)
    reset.open_link(USERNAME, code)
    proxy.set("unknown_error")
    reset.fill_passwords()
    reset.submit()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Try again in a minute")
    expect(summary).to_be_focused()
    expect(page.locator("#id_username")).to_have_value(USERNAME)
    expect(page.locator("#id_code")).to_have_value(code)
    expect(page.locator("#id_new_password1")).to_have_value(NEW_PASSWORD)
    expect(page.locator("#id_new_password2")).to_have_value(NEW_PASSWORD)
    # Cognito is back: one press, nothing typed again.
    proxy.set("pass")
    reset.submit()
    assert_reset_done(page, reset.base, reset_site)


def test_outcome_unknown_offers_to_sign_in(
    reset: Reset, reset_site: Any, proxy: FaultProxy
) -> None:
    page = reset.page
    reset.open_link(USERNAME, "123456")
    proxy.set("error:InternalErrorException")
    reset.fill_passwords()
    reset.submit()
    expect(page.locator("#error-summary")).to_contain_text("can't tell whether")
    expect(
        page.get_by_role("link", name="Try signing in with your new password")
    ).to_have_attribute("href", SIGN_IN_URL)
