"""Chromium, Firefox and WebKit behind one small interface, for the flows all three run.

- Chromium: Playwright, Debian's chromium (harness.py).
- Firefox: Playwright's WebDriver BiDi client ("moz-firefox") on Debian's Firefox ESR,
  through firefox_bidi.py.
- WebKit, Safari's engine: Selenium and WebKitGTK's WebDriver, driving MiniBrowser on
  a virtual X screen (Xvfb): WebKitGTK has no headless mode, and Playwright's own
  WebKit build can't be installed here.

A Tab is one browser window with fresh cookies. Its methods are what a person does
(click, type, press a key) plus reading the page with a script. Scripts are function
bodies in WebDriver's style: `arguments[0]`, and `return` for a value.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Frame, Page, Playwright, ViewportSize

from tests.browser.harness import chromium_problem

ENGINES = ("chromium", "firefox", "webkit")
FIREFOX = "/usr/bin/firefox-esr"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
XVFB = "/usr/bin/Xvfb"
RELAY = Path(__file__).with_name("firefox_bidi.py")


def minibrowser() -> str:
    found = sorted(glob.glob("/usr/lib/*/webkit2gtk-4.*/MiniBrowser"))
    return found[-1] if found else ""


def engine_problem(engine: str) -> str | None:
    """Why the engine can't run here, or None. CI installs them all: missing fails."""
    if engine == "chromium":
        return chromium_problem()
    needs = {
        "firefox": [(FIREFOX, "firefox-esr")],
        "webkit": [
            (WEBKIT_DRIVER, "webkit2gtk-driver"),
            (minibrowser(), "libwebkit2gtk-4.1-0"),
            (XVFB, "xvfb"),
        ],
    }[engine]
    missing = [package for path, package in needs if not (path and os.access(path, os.X_OK))]
    if missing:
        return (
            f"{engine} can't run: install Debian's {' '.join(missing)} "
            "(scripts/system-deps.sh does, as root; `make test` runs it)."
        )
    return None


def firefox_executable(folder: Path) -> str:
    """A file Playwright can start as the browser: the relay, run by this Python."""
    wrapper = folder / "firefox"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{RELAY}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def launch_firefox(playwright: Playwright, folder: Path, **prefs: Any) -> Browser:
    """Firefox ESR through the relay, with these preferences (about:config) set."""
    return playwright.firefox.launch(
        channel="moz-firefox",
        executable_path=firefox_executable(folder),
        headless=True,
        firefox_user_prefs=prefs or None,
    )


class Xvfb:
    """A virtual X screen of its own (a free display number, chosen by Xvfb)."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(
            [XVFB, "-displayfd", str(write), "-screen", "0", "1280x2400x24", "-nolisten", "tcp"],
            pass_fds=(write,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()
        if not number:
            self.process.kill()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


# --- one window -------------------------------------------------------------------

# Tall enough for a portal's framed form without scrolling the portal: WebKitWebDriver,
# and Playwright in Firefox's out-of-process frames, scroll an element into view inside
# its frame but not the page around it, and a click outside the window is lost.
VIEWPORT: ViewportSize = {"width": 1024, "height": 2200}
KEYS = ("Tab", "Enter", "Space")


class Tab(ABC):
    engine: str

    @abstractmethod
    def goto(self, url: str) -> None: ...

    @property
    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def click(self, css: str) -> None:
        """A real pointer click on the element's centre, scrolled into view."""

    @abstractmethod
    def fill(self, css: str, text: str) -> None:
        """Empties the field and types the text into it, key by key."""

    @abstractmethod
    def press(self, key: str) -> None:
        """One of KEYS, to whatever has the focus."""

    @abstractmethod
    def type(self, text: str) -> None:
        """Types into whatever has the focus."""

    @abstractmethod
    def js(self, body: str, *args: Any) -> Any: ...

    @abstractmethod
    @contextmanager
    def frame(self, css: str, cross_site: bool = False) -> Iterator[None]:
        """Everything inside the block happens in that iframe's document."""

    @abstractmethod
    def switch_to_newest_window(self) -> None:
        """From now on, act in the window opened last (a link's target="_blank")."""

    @abstractmethod
    def cookies(self) -> list[dict[str, Any]]:
        """The browser's cookies: name, secure, sameSite at least."""

    @abstractmethod
    def close(self) -> None: ...

    def wait(self, body: str, what: str, *args: Any, timeout: float = 10) -> Any:
        """Polls the script until it returns something truthy, and returns it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = self.js(body, *args)
            except Exception:  # a navigation replaced the document: look again
                found = None
            if found:
                return found
            if time.monotonic() > deadline:
                where = self.js(
                    "return location.href + ': ' + document.body.innerText.slice(0, 300)"
                )
                raise AssertionError(f"{self.engine}: timed out waiting for {what}, on {where}")
            time.sleep(0.05)

    def wait_url(self, url: str) -> None:
        """Until the page at ``url`` is parsed: the address changes before it is (a
        navigation by script, such as the background form's, is seen mid-load)."""
        self.wait(
            'return location.href === arguments[0] && document.readyState !== "loading"',
            f"the page {url}",
            url,
        )

    def wait_text(self, css: str, text: str) -> None:
        self.wait(
            "const e = document.querySelector(arguments[0]);"
            "return e && e.textContent.trim() === arguments[1]",
            f"{css} to say {text!r}",
            css,
            text,
        )

    def value(self, css: str) -> str:
        return str(self.js("return document.querySelector(arguments[0]).value", css))

    def attr(self, css: str, name: str) -> str | None:
        found = self.js(
            "return document.querySelector(arguments[0]).getAttribute(arguments[1])", css, name
        )
        return None if found is None else str(found)

    def text(self, css: str) -> str:
        return str(self.js("return document.querySelector(arguments[0]).textContent.trim()", css))

    def focused(self) -> str:
        """The focused element's name, id or text."""
        return str(
            self.js(
                "const e = document.activeElement;return e.name || e.id || e.textContent.trim()"
            )
        )


class PlaywrightTab(Tab):
    def __init__(self, engine: str, browser: Browser, **context: Any) -> None:
        self.engine = engine
        self.context: BrowserContext = browser.new_context(
            ignore_https_errors=True, locale="en-GB", viewport=VIEWPORT, **context
        )
        self.page: Page = self.context.new_page()
        self.target: Page | Frame = self.page
        self.scripted = False

    def goto(self, url: str) -> None:
        self.page.goto(url)

    @property
    def url(self) -> str:
        return str(self.js("return location.href"))  # a frame's .url lags its navigations

    def click(self, css: str) -> None:
        if self.scripted:
            self.target.eval_on_selector(css, "e => e.click()")
        else:
            self.target.click(css)

    def fill(self, css: str, text: str) -> None:
        self.target.fill(css, "")
        if self.scripted:
            self.target.fill(css, text)
        else:
            self.target.click(css)
            self.page.keyboard.type(text)

    def press(self, key: str) -> None:
        assert key in KEYS
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def js(self, body: str, *args: Any) -> Any:
        return self.target.evaluate(
            f"args => (function () {{ {body} }}).apply(null, args)", list(args)
        )

    @contextmanager
    def frame(self, css: str, cross_site: bool = False) -> Iterator[None]:
        handle = self.target.wait_for_selector(css)
        assert handle
        inner = handle.content_frame()
        assert inner
        outer, self.target = self.target, inner
        # Playwright's BiDi input doesn't reach Firefox's out-of-process (cross-site)
        # frames: there, fields are filled and buttons clicked by script instead.
        self.scripted = cross_site and self.engine == "firefox"
        try:
            yield
        finally:
            self.target, self.scripted = outer, False

    def switch_to_newest_window(self) -> None:
        deadline = time.monotonic() + 10
        while len(self.context.pages) < 2 and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        self.page = self.context.pages[-1]
        self.target = self.page

    def cookies(self) -> list[dict[str, Any]]:
        return [dict(cookie) for cookie in self.context.cookies()]

    def close(self) -> None:
        self.context.close()


class WebKitTab(Tab):
    engine = "webkit"

    def __init__(self, display: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        options = Options()
        options.binary_location = minibrowser()
        options.add_argument("--automation")
        options.accept_insecure_certs = True  # the tests' throwaway certificate
        service = Service(
            executable_path=WEBKIT_DRIVER,
            env={**os.environ, "DISPLAY": display, "LANG": "en_GB.UTF-8"},
            log_output=subprocess.DEVNULL,
        )
        self.driver = webdriver.WebKitGTK(options=options, service=service)
        self.driver.set_window_size(VIEWPORT["width"], VIEWPORT["height"])

    def _find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.wait import WebDriverWait

        return WebDriverWait(self.driver, 10).until(
            lambda driver: driver.find_element(By.CSS_SELECTOR, css)
        )

    def goto(self, url: str) -> None:
        self.driver.get(url)

    @property
    def url(self) -> str:
        return str(self.js("return location.href"))

    def _interact(self, css: str, *actions: Any) -> None:
        """Retries while the page settles (a portal resizing its frame moves things)."""
        from selenium.common.exceptions import WebDriverException

        deadline = time.monotonic() + 10
        while True:
            element = self._find(css)
            try:
                for action in actions:
                    action(element)
                return
            except WebDriverException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def click(self, css: str) -> None:
        self._interact(css, lambda element: element.click())

    def fill(self, css: str, text: str) -> None:
        # Keys to the element: in a frame, the actions' keys don't reach it.
        self._interact(
            css,
            lambda element: element.clear(),
            lambda element: element.click(),
            lambda element: element.send_keys(text),
        )

    def _keys(self, *keys: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).send_keys(*keys).perform()

    def press(self, key: str) -> None:
        from selenium.webdriver.common.keys import Keys

        assert key in KEYS
        self._keys({"Tab": Keys.TAB, "Enter": Keys.ENTER, "Space": Keys.SPACE}[key])

    def type(self, text: str) -> None:
        self._keys(text)

    def js(self, body: str, *args: Any) -> Any:
        return self.driver.execute_script(body, *args)

    @contextmanager
    def frame(self, css: str, cross_site: bool = False) -> Iterator[None]:
        self.driver.switch_to.frame(self._find(css))
        try:
            yield
        finally:
            self.driver.switch_to.default_content()

    def switch_to_newest_window(self) -> None:
        from selenium.webdriver.support.wait import WebDriverWait

        current = self.driver.current_window_handle
        WebDriverWait(self.driver, 10).until(lambda driver: len(driver.window_handles) > 1)
        self.driver.switch_to.window([h for h in self.driver.window_handles if h != current][-1])

    def cookies(self) -> list[dict[str, Any]]:
        return [dict(cookie) for cookie in self.driver.get_cookies()]

    def close(self) -> None:
        self.driver.quit()
