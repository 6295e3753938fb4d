"""`make screenshots`: PNGs of each state of the site, phone and desktop, light and dark.

Runs the site, the moto emulator and the fault proxy in this process, drives
Debian's Chromium through Playwright, and writes docs/screenshots/<state>-<size>-<scheme>.png
(<state>-<size>-<scheme>-<lang>.png with --lang, e.g. --lang ar for right to left).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--lang ar] [STATE ...]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.harness import (  # noqa: E402 - needs the repository on the path
    CHROMIUM,
    CHROMIUM_ARGS,
    Reset,
    chromium_problem,
    fresh_limits,
    reach,
    standalone_site,
)

# A handful of states: each other state looks like one of these.
STATES = ("fresh", "typing", "errors", "code-expired", "service-down", "done", "forgot")
SIZES: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1024, "height": 768}},
}
SCHEMES = ("light", "dark")


def shrink(paths: list[Path]) -> None:
    """Quantise the PNGs (about a third of the size) when pngquant is installed."""
    pngquant = shutil.which("pngquant")
    if not pngquant:
        print("pngquant is not installed: PNGs left as Chromium wrote them", file=sys.stderr)
        return
    subprocess.run(
        [pngquant, "--quality=80-100", "--speed=1", "--strip", "--force", "--ext=.png", "--"]
        + [str(path) for path in paths],
        check=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--lang", default="en", help="the pages' language (default: en)")
    parser.add_argument("states", nargs="*", metavar="STATE", help=f"default: {' '.join(STATES)}")
    args = parser.parse_args()
    unknown = set(args.states) - set(STATES)
    if unknown:
        parser.error(f"unknown state {', '.join(sorted(unknown))}; choose from {', '.join(STATES)}")
    args.states = args.states or list(STATES)
    problem = chromium_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    written = []
    with standalone_site() as (base, pool, proxy), sync_playwright() as playwright:
        from moto.moto_api._internal import mock_random

        logging.disable(logging.CRITICAL)  # the outages shown are on purpose
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for state in args.states:
            for size, options in SIZES.items():
                fresh_limits()
                mock_random.seed(2026)  # the same code in every picture: files change only
                # when the page does
                context = browser.new_context(
                    base_url=base, locale=args.lang, color_scheme="light", **options
                )
                page = context.new_page()
                page.goto(f"{base}/forgot/?lang={args.lang}")  # remembered in a cookie
                reach(state, Reset(page, base), pool, proxy)
                # The caret blinks and the focus ring follows the last click: keep both
                # out of the picture.
                page.evaluate("document.activeElement && document.activeElement.blur()")
                for scheme in SCHEMES:
                    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
                    suffix = "" if args.lang == "en" else f"-{args.lang}"
                    path = args.out / f"{state}-{size}-{scheme}{suffix}.png"
                    page.screenshot(path=str(path), full_page=True, animations="disabled")
                    written.append(path)
                context.close()
        browser.close()
    shrink(written)
    total = sum(path.stat().st_size for path in written)
    print(f"Wrote {len(written)} screenshots ({total // 1024} KiB) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
