"""The site fitted into a company portal, in Chromium.

Branded pages (name, logo, colour, footer, support link) pass axe in light and dark.

The site in a portal's frame: a portal page on another origin frames
the site with the snippet from docs/embedding.md, the user resets the password inside
the frame, and the portal hears the height, "done" and "sign-in" messages.

Origins: the site on http://localhost:A, the allowed portal on http://localhost:B —
different origins, the same *site* (scheme + registrable domain), as a portal on
portal.example.com framing reset.example.com. The same portal server reached as
http://127.0.0.1:B is a different *site*: there Chromium blocks third-party cookies,
and the site's Partitioned (CHIPS) cookies keep the reset working. A portal on
http://localhost:C, not in FRAME_ANCESTORS, cannot frame the site at all.

The site runs with the settings resetsite/settings.py computes for FRAME_ANCESTORS
(read from a subprocess that imports them), in a server of its own: the session's
server has loaded the default middleware, X-Frame-Options included.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, Route, expect

from tests.browser.conftest import SIGN_IN_URL
from tests.browser.harness import NEW_PASSWORD, USERNAME, Reset, SiteServer, reach
from tests.browser.portal import EMBEDDING_SETTINGS, Portal, embedding_settings
from tests.browser.test_accessibility import axe_violations
from tests.conftest import OLD_PASSWORD

pytestmark = pytest.mark.browser

OTHER_ALLOWED = "https://intranet.example.com"  # allowed too, but never the parent here


@dataclass
class Framing:
    site: SiteServer
    portal: Portal  # allowed as http://localhost:PORT (same site) and http://127.0.0.1:PORT
    stranger: Portal  # not allowed
    pool: Any
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def site_origin(self) -> str:
        return self.site.url

    def listen(self, page: Page) -> None:
        page.expose_function(
            "portalReceived", lambda origin, data: self.received.append((origin, json.loads(data)))
        )

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [data for _, data in self.received if data.get("type") == kind]


@pytest.fixture
def framing(settings: Any, reset_site: Any, live_site: SiteServer) -> Iterator[Framing]:
    portal, stranger = Portal(), Portal()
    found = embedding_settings([portal.origin(), portal.origin("127.0.0.1"), OTHER_ALLOWED])
    # What the settings promise for this mode, before relying on them.
    assert found["frame-ancestors"] == found["FRAME_ANCESTORS"]
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" not in found["MIDDLEWARE"]
    assert found["SESSION_COOKIE_SAMESITE"] == found["CSRF_COOKIE_SAMESITE"] == "None"
    assert found["SESSION_COOKIE_SECURE"]
    assert found["CSRF_COOKIE_SECURE"]
    for name in EMBEDDING_SETTINGS:
        setattr(settings, name, found[name])
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {
        **policy,
        "DIRECTIVES": {**policy["DIRECTIVES"], "frame-ancestors": found["frame-ancestors"]},
    }
    site = SiteServer().start()  # loads the middleware as just set
    try:
        yield Framing(
            site=site,
            portal=portal.frame(site.url),
            stranger=stranger.frame(site.url),
            pool=reset_site,
        )
    finally:
        stranger.stop()
        portal.stop()
        site.stop()


def wait_until(page: Page, condition: Callable[[], bool], what: str, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(50)


def emailed_link(base: str, code: str) -> str:
    return f"{base}/?" + urllib.parse.urlencode({"username": USERNAME, "code": code})


def test_reset_inside_a_portal_frame(page: Page, framing: Framing, csp_errors: list[str]) -> None:
    framing.listen(page)
    # The sign-in page is held until the portal has passed on the "sign-in" message:
    # the message is posted before the link navigates, but its way on to this test
    # (the exposed function) could otherwise lose the race to the navigation.
    held: list[Route] = []
    page.context.route(f"{SIGN_IN_URL}**", lambda route: held.append(route))
    documents: list[Response] = []
    page.on(
        "response",
        lambda r: documents.append(r) if r.request.resource_type == "document" else None,
    )
    code = framing.pool.request_code(USERNAME)
    portal = framing.portal.origin()
    page.goto(emailed_link(portal, code))
    # The snippet passed the link's values to the frame and took them out of the address bar.
    expect(page).to_have_url(f"{portal}/")
    frame = page.frame_locator("#reset-frame")
    expect(frame.locator("#id_username")).to_have_value(USERNAME)  # the session cookie works
    expect(frame.locator("#id_code")).to_have_value(code)
    expect(frame.locator("html")).to_have_class(re.compile(r"\bframed\b"))

    framed = next(r for r in documents if r.url == f"{framing.site_origin}/reset/")
    assert "X-Frame-Options".lower() not in framed.headers
    assert (
        f"frame-ancestors {portal} {framing.portal.origin('127.0.0.1')} {OTHER_ALLOWED}"
        in framed.headers["content-security-policy"]
    )

    iframe = page.locator("#reset-frame")

    def content_height() -> int:
        return int(
            frame.locator("html").evaluate("e => Math.ceil(e.getBoundingClientRect().height)")
        )

    def frame_height() -> int:
        return int(iframe.evaluate("e => Math.round(e.getBoundingClientRect().height)"))

    def settled() -> bool:
        heights = framing.of_type("resize")
        return bool(heights) and heights[-1]["height"] == content_height() == frame_height()

    # The portal sized the frame to the page: no inner scrollbar, no gap.
    wait_until(page, settled, "the frame to take the page's height")
    form_height = frame_height()
    assert form_height > 500

    # The page grows (the portal's column narrows, the text wraps): the portal hears it
    # at once. Typing no longer grows it: the match hint's line is reserved up front.
    frame.locator("#id_new_password1").fill(NEW_PASSWORD)
    frame.locator("#id_new_password2").fill(NEW_PASSWORD + "x")
    frame.locator("#id_new_password2").blur()
    expect(frame.locator("#match-hint")).to_have_text("Passwords don't match yet")
    iframe.evaluate("e => { e.style.width = '320px'; }")
    wait_until(page, lambda: settled() and frame_height() > form_height, "a taller frame")

    frame.locator("#id_new_password2").fill(NEW_PASSWORD)
    frame.get_by_role("button", name="Set new password").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Your password has been changed")
    wait_until(page, lambda: bool(framing.of_type("done")), "the done message")
    wait_until(page, lambda: settled() and frame_height() < form_height, "a shorter frame")
    assert framing.pool.can_sign_in(USERNAME, NEW_PASSWORD)
    assert not framing.pool.can_sign_in(USERNAME, OLD_PASSWORD)

    # "Sign in" tells the portal, then opens the sign-in page in the whole window.
    frame.get_by_role("link", name="Sign in").click(no_wait_after=True)
    wait_until(page, lambda: bool(held), "the sign-in page's request")
    wait_until(page, lambda: bool(framing.of_type("sign-in")), "the sign-in message")
    held[0].fulfill(
        body="<!doctype html><title>Sign in</title><h1>Sign in</h1>", content_type="text/html"
    )
    expect(page).to_have_url(SIGN_IN_URL)

    assert framing.of_type("done") == [{"source": "cognito-reset", "type": "done"}]
    assert framing.of_type("sign-in") == [
        {"source": "cognito-reset", "type": "sign-in", "url": SIGN_IN_URL}
    ]
    assert {kind for _, m in framing.received for kind in [m["type"]]} == {
        "resize",
        "done",
        "sign-in",
    }
    for origin, message in framing.received:
        assert origin == framing.site_origin
        assert message["source"] == "cognito-reset"
        assert set(message) <= {"source", "type", "height", "url"}
    everything = json.dumps(framing.received)
    for secret in (code, NEW_PASSWORD, USERNAME, "alice"):
        assert secret not in everything
    assert csp_errors == []


def test_a_portal_not_allowed_cannot_frame_the_site(page: Page, framing: Framing) -> None:
    framing.listen(page)
    refusals: list[str] = []
    page.on(
        "console",
        lambda m: refusals.append(m.text) if "frame-ancestors" in m.text else None,
    )
    # Same host, another port: another origin, not in FRAME_ANCESTORS.
    page.goto(f"{framing.stranger.origin()}/")
    wait_until(page, lambda: bool(refusals), "Chromium to refuse the frame")
    child = page.frames[1]
    assert child.url.startswith("chrome-error://")  # Chromium's error page, not ours
    assert child.locator("#reset-form").count() == 0
    assert "violates the following Content Security Policy directive" in refusals[0]
    page.wait_for_timeout(300)
    assert framing.received == []


def test_a_portal_on_another_site_works_with_partitioned_cookies(
    page: Page, framing: Framing
) -> None:
    """http://127.0.0.1 framing http://localhost: allowed, but a different site, so the
    frame's cookies are third-party, which this Chromium blocks. The site's cookies are
    Partitioned (CHIPS) in this mode: kept for this portal only, and the reset works."""
    framing.listen(page)
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    code = framing.pool.request_code(USERNAME)
    page.goto(emailed_link(framing.portal.origin("127.0.0.1"), code))
    frame = page.frame_locator("#reset-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    set_cookies = [
        header["value"]
        for response in responses
        for header in response.headers_array()
        if header["name"].lower() == "set-cookie"
    ]
    assert set_cookies, "the framed site set no cookie"
    assert all("; Partitioned" in c for c in set_cookies), set_cookies
    expect(frame.locator("#id_code")).to_have_value(code)  # the session cookie was kept
    cookies = page.context.cookies()
    assert cookies, "the framed site set no cookie"
    for cookie in cookies:
        assert cookie["secure"]
        assert cookie["sameSite"] == "None"
        assert cookie.get("partitionKey") == "http://127.0.0.1"  # kept for this portal only
    frame.locator("#id_new_password1").fill(NEW_PASSWORD)
    frame.locator("#id_new_password2").fill(NEW_PASSWORD)
    frame.get_by_role("button", name="Set new password").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Your password has been changed")
    wait_until(page, lambda: bool(framing.of_type("done")), "the done message")
    assert framing.pool.can_sign_in(USERNAME, NEW_PASSWORD)


def test_embedded_and_branded_page_weight(
    browser: Browser, framing: Framing, settings: Any
) -> None:
    """The heaviest configuration — the frame's script and the brand stylesheet — within
    the 15 KB budget of test_page_weight.py."""
    from accounts.colors import palette

    settings.BRAND_COLOR = "#e30613"
    settings.BRAND_PALETTE = palette("#e30613")
    settings.BRAND_NAME = "Example Corp"
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    code = framing.pool.request_code(USERNAME)
    page.goto(emailed_link(f"{framing.site_origin}/reset", code))
    page.wait_for_load_state("load")
    sizes = {}
    for response in responses:
        kind = response.request.resource_type
        if response.status == 200 and kind in ("document", "stylesheet", "script"):
            measured = response.request.sizes()
            sizes[response.url] = (
                kind,
                measured["responseBodySize"] + measured["responseHeadersSize"],
            )
    context.close()
    kinds = sorted(kind for kind, _ in sizes.values())
    assert kinds == ["document", "script", "script", "stylesheet", "stylesheet"], sizes
    total = sum(size for _, size in sizes.values())
    print(f"\nembedded + branded /reset/: {total} B of HTML+CSS+JS: {sizes}")
    assert total <= 15 * 1024


@pytest.mark.parametrize("colour", ["#ffcc00", "#0b6e4f"])  # a light and a dark brand colour
def test_branded_pages_pass_axe(
    reset: Reset, reset_site: Any, proxy: Any, settings: Any, colour: str
) -> None:
    from accounts.colors import palette

    settings.BRAND_NAME = "Example Corp"
    settings.BRAND_LOGO_URL = "/static/accounts/favicon.svg"
    settings.BRAND_COLOR = colour
    settings.BRAND_PALETTE = shades = palette(colour)
    settings.FOOTER_TEXT = "© Example Corp · IT service desk"
    settings.SUPPORT_URL = "https://help.example.com/"
    page = reset.page
    for state in ("typing", "service-down", "done"):
        page.emulate_media(color_scheme="light")
        reach(state, reset, reset_site, proxy)
        expect(page.get_by_role("banner").get_by_role("img", name="Example Corp")).to_be_visible()
        expect(page.get_by_role("contentinfo")).to_contain_text("IT service desk")
        if state == "service-down":
            expect(page.get_by_role("link", name="Contact support")).to_be_visible()
        button = page.locator(".primary").first
        assert button.evaluate("e => getComputedStyle(e).backgroundColor") == rgb(shades.brand)
        assert axe_violations(page) == [], state
        page.emulate_media(color_scheme="dark")
        assert button.evaluate("e => getComputedStyle(e).backgroundColor") == rgb(shades.brand_dark)
        assert axe_violations(page) == [], state


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_a_parent_outside_the_list_hears_nothing_even_when_framed(
    page: Page, framing: Framing, settings: Any
) -> None:
    """Defence in depth, should the CSP not stop the framing (a proxy that drops the
    header, an old browser): the script itself posts only to FRAME_ANCESTORS origins."""
    policy = settings.CONTENT_SECURITY_POLICY
    outsider = framing.stranger.origin()
    settings.CONTENT_SECURITY_POLICY = {
        **policy,
        "DIRECTIVES": {
            **policy["DIRECTIVES"],
            "frame-ancestors": [*policy["DIRECTIVES"]["frame-ancestors"], outsider],
        },
    }
    assert outsider not in settings.FRAME_ANCESTORS
    framing.listen(page)
    page.goto(f"{outsider}/")
    frame = page.frame_locator("#reset-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    expect(frame.locator("html")).not_to_have_class(re.compile(r"\bframed\b"))
    frame.locator("#id_new_password1").fill("abc")  # the page grows: nothing is said
    page.wait_for_timeout(500)
    assert framing.received == []
    # The same page, framed by an allowed portal, does talk.
    page.goto(f"{framing.portal.origin()}/")
    wait_until(page, lambda: bool(framing.of_type("resize")), "a resize message")


def test_the_blocked_frame_page_passes_axe(page: Page, framing: Framing) -> None:
    """The page a browser that refuses the frame's cookies gets (test_engines_framed.py
    reaches it in WebKit): axe, light and dark, as it shows in the frame."""
    page.goto(f"{framing.portal.origin()}/")
    handle = page.wait_for_selector("#reset-frame")
    frame = handle.content_frame() if handle else None
    assert frame
    expect(frame.locator("#reset-form")).to_be_visible()
    frame.evaluate("location.replace('/reset/blocked/#path=/reset/&username=a&code=1')")
    expect(frame.locator("h1")).to_have_text("Your browser blocks the form here")
    expect(frame.locator("#frame-allow")).to_be_visible()  # Chromium has the API
    expect(frame.locator("#frame-open")).to_have_attribute("href", "/reset/?username=a&code=1")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert axe_violations(frame) == [], scheme  # type: ignore[arg-type]
