"""`make audit`: Lighthouse 12 on /reset/, /forgot/ and /reset/done/, scores into docs/quality.md.

By default it runs its own site (with the moto emulator) on a free loopback port and
makes a real reset first, so that /reset/done/ is the real page and not a redirect.
With --base-url it audits a site that is already running (then /reset/done/ only with
--cookie, a Cookie header of a session that finished a reset).

    .venv/bin/python scripts/audit.py [--base-url URL [--cookie 'name=value']]
                                      [--form-factor mobile desktop] [--min-score 90]
                                      [--no-write]

Lighthouse comes from the npm registry (lighthouse@12: version 13 needs Node 22) and is
installed once into build/lighthouse/. It drives Debian's Chromium (CHROME_PATH).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.harness import (  # noqa: E402 - needs the repository on the path
    CHROMIUM,
    CHROMIUM_ARGS,
    Reset,
    chromium_problem,
    reach,
    standalone_site,
)

LIGHTHOUSE_VERSION = "12"
LIGHTHOUSE_DIR = ROOT / "build" / "lighthouse"
LIGHTHOUSE = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")
PAGES = ("/reset/", "/forgot/", "/reset/done/")
RETRIED = {"NO_NAVSTART", "NO_REPORT"}  # Lighthouse itself says: run it again
QUALITY = ROOT / "docs" / "quality.md"
START = "<!-- audit:start (written by scripts/audit.py) -->"
END = "<!-- audit:end -->"


@dataclass
class Result:
    path: str
    form_factor: str
    scores: dict[str, int]  # empty: the run failed
    transfer: int
    fcp_ms: float
    lcp_ms: float
    cls: float
    tbt_ms: float
    failed: list[str]


def ensure_lighthouse() -> Path:
    if not LIGHTHOUSE.exists():
        print(f"Installing lighthouse@{LIGHTHOUSE_VERSION} into {LIGHTHOUSE_DIR} …", flush=True)
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        npm = f"npm install --prefix {LIGHTHOUSE_DIR} --no-audit --no-fund --loglevel=error"
        subprocess.run([*npm.split(), f"lighthouse@{LIGHTHOUSE_VERSION}"], check=True)
    return LIGHTHOUSE


def lighthouse(url: str, form_factor: str, cookie: str | None, scratch: Path) -> dict[str, Any]:
    """One Lighthouse run; once more if its trace lost the navigation's start."""
    out = scratch / "report.json"
    options = f"--only-categories={','.join(CATEGORIES)} --output=json --output-path={out} --quiet"
    command = [
        str(ensure_lighthouse()),
        url,
        "--chrome-flags=--headless=new " + " ".join(CHROMIUM_ARGS),
        *options.split(),
        # Lighthouse starts from about:blank. Our pages send Cross-Origin-Opener-Policy,
        # so Chromium moves the page into a new process as its answer arrives, and under
        # load that process's trace can begin after the page's navigationStart
        # (NO_NAVSTART; most often on /reset/done/, the fastest answer). Starting from a
        # page of the same origin and policy keeps the page in the traced process.
        f"--blank-page={urljoin(url, '/healthz')}",
    ]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": CHROMIUM, "TMPDIR": str(scratch)}
    for attempt in (1, 2):
        out.unlink(missing_ok=True)
        subprocess.run(command, check=False, env=env, cwd=scratch)
        report: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
        code = (report.get("runtimeError") or {}).get("code") if report else "NO_REPORT"
        if code not in RETRIED or attempt == 2:
            return report or {"runtimeError": {"code": code}}
        print(f"Lighthouse said {code}: once more", flush=True)
    raise AssertionError("unreachable")


def summarise(path: str, form_factor: str, report: dict[str, Any]) -> Result:
    error = report.get("runtimeError")
    if error or "audits" not in report:  # the run failed: no scores, its error instead
        code = (error or {}).get("code", "no report")
        return Result(path, form_factor, {}, 0, 0, 0, 0, 0, [f"Lighthouse failed: {code}"])
    audits = report["audits"]
    scores = {name: round((report["categories"][name]["score"] or 0) * 100) for name in CATEGORIES}
    failed = sorted(
        f"{report['categories'][cat]['title']}: {audits[ref['id']]['title']}"
        for cat in CATEGORIES
        for ref in report["categories"][cat]["auditRefs"]
        if ref["weight"] > 0
        and audits[ref["id"]]["score"] is not None
        and audits[ref["id"]]["score"] < 1
    )
    final = report.get("finalDisplayedUrl", "")
    if not final.endswith(path):  # e.g. /reset/done/ without a finished reset redirects
        failed.append(f"ended on {final} instead of {path}")
    return Result(
        path=path,
        form_factor=form_factor,
        scores=scores,
        transfer=int(audits["total-byte-weight"]["numericValue"]),
        fcp_ms=audits["first-contentful-paint"]["numericValue"],
        lcp_ms=audits["largest-contentful-paint"]["numericValue"],
        cls=audits["cumulative-layout-shift"]["numericValue"],
        tbt_ms=audits["total-blocking-time"]["numericValue"],
        failed=failed,
    )


def done_cookie(base: str, pool: Any, proxy: Any) -> str:
    """Finish a real reset in Chromium and return its session as a Cookie header."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base)
        reach("done", Reset(context.new_page(), base), pool, proxy)
        cookies = context.cookies()
        browser.close()
    return "; ".join(f"{c['name']}={c['value']}" for c in cookies if "session" in c["name"])


def markdown(results: list[Result], lighthouse_version: str, where: str) -> str:
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    lines = [
        START,
        f"Lighthouse {lighthouse_version}, Debian Chromium, {where}, {today}. "
        "Transfer: every byte the page loaded, compressed, headers included.",
        "",
        "| page | device | performance | accessibility | best practices "
        "| transfer | FCP | LCP | TBT | CLS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r.scores
        if not s:
            lines.append(f"| `{r.path}` | {r.form_factor} |" + " — |" * 8)
            continue
        lines.append(
            f"| `{r.path}` | {r.form_factor} | {s['performance']} | {s['accessibility']} "
            f"| {s['best-practices']} | {r.transfer / 1024:.1f} KiB | {r.fcp_ms:.0f} ms "
            f"| {r.lcp_ms:.0f} ms | {r.tbt_ms:.0f} ms | {r.cls:.3f} |"
        )
    missed = [f"- `{r.path}` ({r.form_factor}): {item}" for r in results for item in r.failed]
    lines += ["", "Audits that did not pass:" if missed else "Every scored audit passed.", ""]
    lines += [*missed, *([""] if missed else []), END]
    return "\n".join(lines)


def write_quality(section: str) -> None:
    text = QUALITY.read_text() if QUALITY.exists() else f"# Quality\n\n{START}\n{END}\n"
    if START not in text:
        text = text.rstrip() + f"\n\n## Lighthouse\n\n{START}\n{END}\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    QUALITY.write_text(pattern.sub(lambda _: section, text))


def run(base: str, cookie: str | None, form_factors: list[str]) -> tuple[list[Result], str]:
    results = []
    with tempfile.TemporaryDirectory(prefix="audit-") as scratch:
        version = ""
        for path in PAGES:
            if path == "/reset/done/" and not cookie:
                print("Skipping /reset/done/: no --cookie of a finished reset", file=sys.stderr)
                continue
            for form_factor in form_factors:
                print(f"Lighthouse {form_factor} {path} …", flush=True)
                report = lighthouse(
                    base + path, form_factor, cookie if "done" in path else None, Path(scratch)
                )
                version = report.get("lighthouseVersion") or version
                results.append(summarise(path, form_factor, report))
    return results, version


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="audit this running site instead of starting one")
    parser.add_argument("--cookie", help="with --base-url: a Cookie header for /reset/done/")
    parser.add_argument(
        "--form-factor", nargs="+", choices=["mobile", "desktop"], default=["mobile", "desktop"]
    )
    parser.add_argument("--min-score", type=int, default=90, help="fail below this (0-100)")
    parser.add_argument("--no-write", action="store_true", help="print, leave docs/ alone")
    args = parser.parse_args()
    problem = chromium_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    ensure_lighthouse()
    if args.base_url:
        where = "against a running site"
        results, version = run(args.base_url.rstrip("/"), args.cookie, args.form_factor)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        where = "the site served as in production (WhiteNoise, DEBUG off) on loopback"
        with standalone_site() as (base, pool, proxy):
            import logging

            logging.disable(logging.CRITICAL)
            cookie = done_cookie(base, pool, proxy)
            results, version = run(base, cookie, args.form_factor)
    section = markdown(results, version, where)
    print(section)
    if not args.no_write:
        write_quality(section)
        print(f"Wrote {QUALITY.relative_to(ROOT)}")
    low = [r for r in results if min(r.scores.values(), default=0) < args.min_score]
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
