"""axe-core on every state in light and dark, and the layout rules of the issue:
320 px without horizontal scroll, 200 % zoom, 44 px targets, reduced motion."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.harness import AXE_TAGS, STATES, Reset, reach
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.browser

_axe = Axe()


def axe_violations(page: Page) -> list[str]:
    results = _axe.run(
        page,
        options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"])
        for v in results.response["violations"]
    ]


def page_background(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


@pytest.mark.parametrize("state", STATES)
def test_axe_finds_nothing_in_light_and_dark(
    reset: Reset, reset_site: Any, proxy: FaultProxy, csp_errors: list[str], state: str
) -> None:
    page = reset.page
    page.emulate_media(color_scheme="light")
    reach(state, reset, reset_site, proxy)
    assert axe_violations(page) == []
    light = page_background(page)
    page.emulate_media(color_scheme="dark")
    assert page_background(page) != light  # the dark palette really applies
    assert axe_violations(page) == []
    assert csp_errors == []


def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def small_targets(page: Page) -> list[str]:
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll(
                    'a[href], button, input:not([type=hidden]), [tabindex="0"]')]
                .filter(e => e.offsetParent !== null)
                .map(e => [e, e.getBoundingClientRect()])
                .filter(([, r]) => r.width < 44 || r.height < 44)
                .map(([e, r]) => `${e.outerHTML.slice(0, 60)} ${r.width}x${r.height}`)"""
        )
    )


@pytest.mark.parametrize(
    ("width", "height", "states"),
    [
        (320, 640, ("typing", "errors", "code-expired", "service-down", "done")),  # a small phone
        (640, 360, ("typing", "code-expired")),  # a 1280 px laptop screen at 200 % zoom
    ],
)
def test_narrow_screens_reflow_with_big_targets(
    reset: Reset,
    reset_site: Any,
    proxy: FaultProxy,
    width: int,
    height: int,
    states: tuple[str, ...],
) -> None:
    page = reset.page
    page.set_viewport_size({"width": width, "height": height})
    for state in states:
        reach(state, reset, reset_site, proxy)
        assert overflow(page) == 0, state
        assert small_targets(page) == [], state
        # The primary button spans the card, the text fields fit in it.
        assert page.evaluate(
            "[...document.querySelectorAll('input:not([type=hidden])')]"
            ".every(e => e.getBoundingClientRect().right <= innerWidth)"
        ), state


def test_reduced_motion_turns_transitions_off(reset: Reset, reset_site: Any) -> None:
    page = reset.page
    reset.open_link("alice@example.com", "123456")

    def transition() -> str:
        return str(
            page.evaluate(
                "getComputedStyle(document.querySelector('#password-rules li'), '::before')"
                ".transitionDuration"
            )
        )

    assert transition() != "0s"
    page.emulate_media(reduced_motion="reduce")
    assert transition() == "0s"


CONTRAST = """(pairs) => {
    const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
        return (x + 0.05) / (y + 0.05); };
    const card = getComputedStyle(document.querySelector('.card')).backgroundColor;
    return pairs.map(([selector, pseudo, property]) => {
        const element = document.querySelector(selector);
        return [selector + (pseudo || '') + ' ' + property,
                ratio(getComputedStyle(element, pseudo).getPropertyValue(property), card)];
    });
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_non_text_contrast_of_controls_and_focus(
    reset: Reset, reset_site: Any, scheme: str
) -> None:
    """WCAG 1.4.11, which axe does not check: borders, ticks and the focus ring >= 3:1."""
    page = reset.page
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    reset.open_link("alice@example.com", "123456")
    page.fill("#id_new_password1", "a")
    page.locator("h1").click()
    page.keyboard.press("Tab")  # focus by keyboard shows the focus ring
    ratios = page.evaluate(
        CONTRAST,
        [
            ["#id_code", None, "border-top-color"],
            ["#id_new_password1", None, "border-top-color"],
            [".toggle", None, "border-top-color"],
            ["#password-rules li:not(.met)", "::before", "border-top-color"],
            ["#password-rules li.met", "::before", "background-color"],
            ["#id_username", None, "outline-color"],
        ],
    )
    assert page.evaluate("document.activeElement.id") == "id_username"
    assert all(isinstance(ratio, float) and ratio > 1 for _, ratio in ratios), ratios  # not NaN
    assert [name for name, ratio in ratios if ratio < 3] == [], ratios
