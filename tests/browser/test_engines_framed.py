"""The site in a portal's frame, in Chromium, Firefox and WebKit, over HTTPS with the
cookies FRAME_ANCESTORS makes (SameSite=None; Secure; Partitioned; __Host-).

- Same site: the portal on https://localhost:B frames the site on https://localhost:A.
- Cross site: the same portal reached as https://127.0.0.1:B. The frame's cookies are
  then third-party: Chromium and Firefox keep them for this portal only (CHIPS, and
  Firefox's Total Cookie Protection); WebKit, like Safari, refuses them, and the page
  offers the Storage Access API and a new tab (docs/embedding.md).
"""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Playwright

from tests.browser.engines import PlaywrightTab, Tab, engine_problem, launch_firefox
from tests.browser.harness import NEW_PASSWORD, USERNAME, SiteServer
from tests.browser.portal import EMBEDDING_SETTINGS, KEEPER, Portal, embedding_settings
from tests.conftest import OLD_PASSWORD

pytestmark = pytest.mark.browser

FRAME = "#reset-frame"
SUBMIT = "#reset-form button[type=submit]"


@dataclass
class Framing:
    site: SiteServer
    portal: Portal  # allowed as https://localhost:PORT (same site) and https://127.0.0.1:PORT
    pool: Any

    def link(self, host: str, code: str) -> str:
        query = urllib.parse.urlencode({"username": USERNAME, "code": code})
        return f"{self.portal.origin(host)}/?{query}"


@pytest.fixture
def framing(
    settings: Any, reset_site: Any, tls: ssl.SSLContext, live_site: SiteServer
) -> Iterator[Framing]:
    portal = Portal(tls)
    found = embedding_settings([portal.origin(), portal.origin("127.0.0.1")])
    assert found["SESSION_COOKIE_NAME"] == "__Host-session"
    for name in EMBEDDING_SETTINGS:
        setattr(settings, name, found[name])
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {
        **policy,
        "DIRECTIVES": {**policy["DIRECTIVES"], "frame-ancestors": found["frame-ancestors"]},
    }
    site = SiteServer(tls=tls).start()  # loads the middleware as just set
    try:
        yield Framing(site=site, portal=portal.frame(site.url, KEEPER), pool=reset_site)
    finally:
        portal.stop()
        site.stop()


def messages(tab: Tab, kind: str) -> list[dict[str, Any]]:
    return [
        data
        for _, data in tab.js("return window.portalMessages")
        if isinstance(data, dict) and data.get("type") == kind
    ]


def reset_in_frame(tab: Tab, framing: Framing, code: str, cross_site: bool = False) -> None:
    """Inside the frame: the link's values are there; set the password."""
    with tab.frame(FRAME, cross_site):
        tab.wait_url(f"{framing.site.url}/reset/")
        assert tab.value("#id_username") == USERNAME  # the session cookie works here
        assert tab.value("#id_code") == code
        assert "framed" in (tab.attr("html", "class") or "")
        tab.fill("#id_new_password1", NEW_PASSWORD)
        tab.fill("#id_new_password2", NEW_PASSWORD)
        tab.click(SUBMIT)
        tab.wait_text("h1", "Your password has been changed")
    tab.wait("return window.portalMessages.some(m => m[1].type === 'done')", "the done message")
    assert framing.pool.can_sign_in(USERNAME, NEW_PASSWORD)
    assert not framing.pool.can_sign_in(USERNAME, OLD_PASSWORD)


def test_reset_in_a_same_site_portal_frame(tab: Tab, framing: Framing) -> None:
    code = framing.pool.request_code(USERNAME)
    portal = framing.portal.origin()
    tab.goto(framing.link("localhost", code))
    tab.wait_url(f"{portal}/")  # the snippet took the values out of the address bar
    reset_in_frame(tab, framing, code)
    # The portal sized the frame to the page, and heard only the site's messages.
    height = tab.js(f"return document.querySelector('{FRAME}').getBoundingClientRect().height")
    assert messages(tab, "resize")[-1]["height"] == round(height)
    origins = {origin for origin, _ in tab.js("return window.portalMessages")}
    assert origins == {framing.site.url}


def test_the_page_at_320px_has_no_horizontal_scroll(tab: Tab, framing: Framing) -> None:
    """A phone's width, as the portal's frame (MiniBrowser's window can't be narrower
    than 447 px, so every engine is measured the same way: a 320 px frame)."""
    tab.goto(framing.link("localhost", "123456"))
    tab.js(f"document.querySelector('{FRAME}').style.width = '320px'")

    def fits() -> None:
        tab.wait("return innerWidth === 320", "a 320 px viewport")
        # innerWidth counts a vertical scrollbar (Firefox draws one 12 px wide when the
        # error page is taller than the frame); clientWidth is the width content may use.
        root = "document.documentElement"
        assert tab.js(f"return {root}.scrollWidth - {root}.clientWidth") == 0
        assert tab.js(
            "return [...document.querySelectorAll('input:not([type=hidden]), button')]"
            ".every(e => e.getBoundingClientRect().right <= innerWidth)"
        )

    with tab.frame(FRAME):
        tab.wait_url(f"{framing.site.url}/reset/")
        fits()
        tab.fill("#id_new_password1", "Password1!")  # common: refused with a summary
        tab.fill("#id_new_password2", "Password1!")
        tab.click(SUBMIT)
        tab.wait("return document.getElementById('error-summary')", "the error summary")
        fits()


# Engines that refuse the frame's cookies on another site, as their browsers do by
# default: Safari (WebKit) blocks third-party cookies and doesn't keep Partitioned ones.
REFUSE_THIRD_PARTY_COOKIES = {"webkit"}


def test_a_portal_on_another_site(tab: Tab, framing: Framing) -> None:
    code = framing.pool.request_code(USERNAME)
    tab.goto(framing.link("127.0.0.1", code))
    if tab.engine not in REFUSE_THIRD_PARTY_COOKIES:
        reset_in_frame(tab, framing, code, cross_site=True)  # CHIPS, or Firefox's partitions
        return
    with tab.frame(FRAME, cross_site=True):
        # The page says so at once, before anyone types, and offers the ways on.
        tab.wait_url(f"{framing.site.url}/reset/blocked/")
        assert tab.text("h1") == "Your browser blocks the form here"
        assert "cookie-check" not in str(tab.js("return document.cookie"))
        link = f"/reset/?username={urllib.parse.quote(USERNAME)}&code={urllib.parse.quote(code)}"
        assert tab.attr("#frame-open", "href") == link
        assert tab.attr("#frame-open", "target") == "_blank"
        # The Storage Access API: WebKit grants the request, but its cookie policy
        # still refuses the cookies, so the page says so and points to the new tab.
        assert tab.js("return !!document.requestStorageAccess")
        tab.click("#frame-allow")
        tab.wait("return !document.getElementById('frame-refused').hidden", "the refusal")
        assert tab.focused() == "frame-open"
        tab.click("#frame-open")
    # The new tab is the site itself, top-level: its cookies are first-party there.
    tab.switch_to_newest_window()
    tab.wait_url(f"{framing.site.url}/reset/")
    assert tab.value("#id_username") == USERNAME
    assert tab.value("#id_code") == code
    tab.fill("#id_new_password1", NEW_PASSWORD)
    tab.fill("#id_new_password2", NEW_PASSWORD)
    tab.click(SUBMIT)
    tab.wait_url(f"{framing.site.url}/reset/done/")
    assert framing.pool.can_sign_in(USERNAME, NEW_PASSWORD)


@pytest.mark.parametrize("engine", sorted(REFUSE_THIRD_PARTY_COOKIES), indirect=True)
def test_the_blocked_page_keeps_the_links_language(tab: Tab, framing: Framing) -> None:
    """The language cookie is refused too: the link's ?lang= travels in the URL."""
    code = framing.pool.request_code(USERNAME)
    tab.goto(framing.link("127.0.0.1", code) + "&lang=de")
    with tab.frame(FRAME, cross_site=True):
        tab.wait_url(f"{framing.site.url}/reset/blocked/")  # the values out of the address
        assert tab.text("h1") == "Ihr Browser blockiert das Formular hier"
        assert tab.text("#frame-open") == "Formular in einem neuen Tab öffnen"
        assert "&lang=de" in (tab.attr("#frame-open", "href") or "")
        tab.click("#frame-open")
    tab.switch_to_newest_window()
    tab.wait_url(f"{framing.site.url}/reset/")
    assert tab.attr("html", "lang") == "de"
    assert tab.value("#id_code") == code


def test_firefox_set_to_block_all_third_party_cookies_gets_the_blocked_page(
    playwright: Playwright, framing: Framing, tmp_path: Path
) -> None:
    """A Firefox user's own setting ("Cross-site cookies: all"), rather than Total
    Cookie Protection: the check sees the refusal, as in WebKit."""
    problem = engine_problem("firefox")
    if problem:
        pytest.fail(problem, pytrace=False)
    prefs = {"network.cookie.cookieBehavior": 1}  # reject third-party cookies
    browser = launch_firefox(playwright, tmp_path, **prefs)
    tab = PlaywrightTab("firefox", browser)
    try:
        code = framing.pool.request_code(USERNAME)
        tab.goto(framing.link("127.0.0.1", code))
        with tab.frame(FRAME, cross_site=True):
            tab.wait_url(f"{framing.site.url}/reset/blocked/")
            assert tab.text("h1") == "Your browser blocks the form here"
            assert tab.js("return !document.getElementById('frame-allow-line').hidden")
            assert f"code={urllib.parse.quote(code)}" in (tab.attr("#frame-open", "href") or "")
    finally:
        tab.close()
        browser.close()
