"""Languages in Chromium: the footer's switcher, the script's words in the chosen
language, axe on translated pages, and a right-to-left language mirroring the layout
(box by box, and pixel by pixel in a screenshot)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.harness import USERNAME, Reset, SiteServer
from tests.browser.test_accessibility import axe_violations
from tests.fixtures import use_rtl_language

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "rows"), [(1280, 3), (375, 7)])
def test_language_switcher_is_a_few_lines_on_a_desktop_and_a_grid_on_a_phone(
    reset: Reset, reset_site: Any, width: int, rows: int
) -> None:
    page = reset.page
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{reset.base}/forgot/")
    boxes = page.eval_on_selector_all(
        "footer nav li",
        "items => items.map(i => { const r = i.getBoundingClientRect();"
        " return [Math.round(r.top), Math.round(r.left), Math.round(r.width)]; })",
    )
    assert len(boxes) == 20
    assert len({top for top, _, _ in boxes}) == rows
    if width < 768:  # equal cells in three aligned columns
        assert len({width for _, _, width in boxes}) == 1
        assert len({left for _, left, _ in boxes}) == 3
    else:  # centred lines: each line's first and last item equally far from the edges
        for top in {top for top, _, _ in boxes}:
            line = [(left, w) for t, left, w in boxes if t == top]
            start, end = line[0][0], line[-1][0] + line[-1][1]
            assert abs(start - (width - end)) <= 2, line
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_switching_language_from_the_footer(reset: Reset, reset_site: Any) -> None:
    page = reset.page
    reset.open_link(USERNAME, reset_site.request_code(USERNAME))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    languages = page.get_by_role("navigation", name="Language")
    expect(languages.get_by_role("link")).to_have_count(20)
    expect(languages.get_by_role("link", name="English")).to_have_attribute("aria-current", "true")
    languages.get_by_role("link", name="Deutsch").click()
    expect(page).to_have_url(f"{reset.base}/reset/?lang=de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Neues Passwort wählen")
    # The link's values are still in the form: switching kept the session, not the URL.
    expect(page.locator("#id_username")).to_have_value(USERNAME)
    # The script's words, from the translated page.
    page.fill("#id_new_password1", "abc")
    expect(page.get_by_role("button", name="Anzeigen Neues Passwort", exact=True)).to_be_visible()
    expect(page.locator("#password-rules li").first).to_contain_text("(noch nicht erfüllt)")
    expect(page.locator("#password-rules li.met").first).to_contain_text("(erfüllt)")
    page.fill("#id_new_password2", "abc")
    expect(page.locator("#match-hint")).to_have_text("Die Passwörter stimmen überein")
    page.wait_for_timeout(1000)  # the checklist's summary, once typing pauses
    expect(page.locator("#rules-status")).to_have_text(
        "1 von 8 Passwortanforderungen erfüllt"
    )  # negatives wait
    # Remembered: a page without ?lang= stays German.
    page.goto(f"{reset.base}/forgot/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Neuen Code anfordern")
    expect(
        page.get_by_role("navigation", name="Sprache").get_by_role("link", name="Deutsch")
    ).to_have_attribute("aria-current", "true")


@pytest.mark.parametrize("lang", ["de", "ja"])
def test_translated_pages_pass_axe(reset: Reset, reset_site: Any, lang: str) -> None:
    page = reset.page
    reset.open_link(USERNAME, "123456")
    page.goto(f"{reset.base}/reset/?lang={lang}")
    page.fill("#id_new_password1", "abc")
    assert axe_violations(page) == []
    page.goto(f"{reset.base}/forgot/")
    assert axe_violations(page) == []


# --- right to left ----------------------------------------------------------------------

BOXES = """() => [...document.querySelectorAll("body *")]
    .filter(e => e.getClientRects().length && !e.closest(".vh"))
    .map(e => { const r = e.getBoundingClientRect();
        return [e.tagName.toLowerCase() + (e.id ? "#" + e.id : ""),
                r.left, r.top, r.width, r.height]; })"""

# Text out of the picture, so that only the boxes are compared: English and Hebrew words
# differ, and Latin text stays left-to-right inside a right-to-left page.
NO_TEXT = """* { color: transparent !important; text-decoration: none !important;
    caret-color: transparent !important; }"""

# Flip one screenshot and count the pixels that differ clearly from the other.
MIRROR_DIFF = """async ([a, b]) => {
    const load = src => new Promise((ok, fail) => {
        const img = new Image(); img.onload = () => ok(img); img.onerror = fail; img.src = src; });
    const [one, two] = await Promise.all([load(a), load(b)]);
    const pixels = (img, flip) => {
        const canvas = document.createElement("canvas");
        canvas.width = img.width; canvas.height = img.height;
        const ctx = canvas.getContext("2d");
        if (flip) { ctx.translate(img.width, 0); ctx.scale(-1, 1); }
        ctx.drawImage(img, 0, 0);
        return ctx.getImageData(0, 0, img.width, img.height).data;
    };
    const p = pixels(one, true), q = pixels(two, false);
    let differ = 0, ink = 0;
    for (let i = 0; i < p.length; i += 4) {
        const d = Math.max(Math.abs(p[i] - q[i]), Math.abs(p[i + 1] - q[i + 1]),
                           Math.abs(p[i + 2] - q[i + 2]));
        if (d > 64) { differ++; }
        const away = Math.abs(q[i] - q[0]) + Math.abs(q[i + 1] - q[1]) + Math.abs(q[i + 2] - q[2]);
        if (away > 60) { ink++; }
    }
    return [one.width, one.height, two.width, two.height, differ, ink];
}"""


@pytest.fixture
def hebrew(settings: Any, tmp_path: Path, reset_site: Any) -> dict[str, str]:
    return use_rtl_language(settings, tmp_path)


def test_right_to_left_mirrors_the_layout(
    browser: Browser, live_site: SiteServer, hebrew: dict[str, str], tmp_path: Path
) -> None:
    context = browser.new_context(
        viewport={"width": 1000, "height": 1400}, locale="en-GB", bypass_csp=True
    )
    page = context.new_page()
    base = live_site.url
    shots, boxes = {}, {}
    for lang in ("en", "he"):
        page.goto(f"{base}/reset/?lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("html")).to_have_class("js")
        boxes[lang] = page.evaluate(BOXES)
        # The checklist's circles sit at the start of the line: the left, or the right.
        circle = page.evaluate(
            "(() => { const s = getComputedStyle("
            "document.querySelector('#password-rules li'), '::before');"
            " return [s.left, s.right]; })()"
        )
        assert circle[0 if lang == "en" else 1] == "0px"
        assert circle[1 if lang == "en" else 0] != "0px"
        if lang == "he":
            expect(page.locator("html")).to_have_attribute("dir", "rtl")
            expect(page.get_by_role("heading", level=1)).to_have_text(
                hebrew["Choose a new password"]
            )
            toggle = page.locator("button[aria-controls=id_new_password1]").bounding_box()
            field = page.locator("#id_new_password1").bounding_box()
            assert toggle
            assert field
            assert toggle["x"] + toggle["width"] <= field["x"]  # the button on the left
        else:
            assert page.locator("html").get_attribute("dir") is None
        page.add_style_tag(content=NO_TEXT)
        shots[lang] = page.screenshot(full_page=True, path=str(tmp_path / f"{lang}.png"))
    width = page.evaluate("document.documentElement.clientWidth")

    # Box by box: each element's box, reflected about the middle of the page.
    assert [b[0] for b in boxes["en"]] == [b[0] for b in boxes["he"]]
    assert len(boxes["en"]) > 40
    unmirrored = [
        (name, (x, y, w, h), (x2, y2))
        for (name, x, y, w, h), (_, x2, y2, w2, h2) in zip(boxes["en"], boxes["he"], strict=True)
        if abs(x2 - (width - x - w)) > 1 or abs(y2 - y) > 1 or abs(w2 - w) > 1 or abs(h2 - h) > 1
    ]
    assert unmirrored == []

    # Pixel by pixel: the English page, flipped, is the Hebrew page.
    blank = context.new_page()
    w1, h1, w2, h2, differ, ink = blank.evaluate(
        MIRROR_DIFF,
        [
            "data:image/png;base64," + base64.b64encode(shots[lang]).decode()
            for lang in ("en", "he")
        ],
    )
    context.close()
    assert (w1, h1) == (w2, h2)
    assert ink > 20_000  # the screenshot has boxes in it, not a blank page
    assert differ <= 0.002 * w1 * h1, f"{differ} pixels differ (see {tmp_path})"
