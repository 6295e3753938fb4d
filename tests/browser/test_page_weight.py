"""What the browser really transfers for /reset/: at most 15 KB of HTML, CSS and JS."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, Response

from tests.browser.harness import USERNAME, Reset

pytestmark = pytest.mark.browser

BUDGET = 15 * 1024  # bytes on the wire: compressed bodies plus response headers


@dataclass
class Row:
    kind: str
    body: int
    headers: int
    encoding: str
    accept: str


def test_reset_page_weight(page: Page, reset: Reset, reset_site: Any) -> None:
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    reset.open_link(USERNAME, reset_site.request_code(USERNAME))
    page.wait_for_load_state("load")

    rows: dict[str, Row] = {}
    for response in responses:
        kind = response.request.resource_type
        if response.status != 200 or kind not in ("document", "stylesheet", "script"):
            continue
        sizes = response.request.sizes()
        rows[response.url] = Row(
            kind=kind,
            body=sizes["responseBodySize"],
            headers=sizes["responseHeadersSize"],
            encoding=response.headers.get("content-encoding", "identity"),
            accept=response.request.all_headers().get("accept-encoding", ""),
        )
    kinds = sorted(row.kind for row in rows.values())
    assert kinds == ["document", "script", "stylesheet"], rows

    html = next(r for r in responses if r.request.resource_type == "document" and r.ok)
    html_bytes = html.body()
    html_gzip = len(gzip.compress(html_bytes, 9))
    total = sum(row.body + row.headers for row in rows.values())
    report = "\n".join(
        f"  {row.kind:<10} body {row.body:>5} B ({row.encoding}), headers {row.headers:>4} B"
        for row in rows.values()
    )
    print(
        f"\n/reset/ transferred {total} B of HTML+CSS+JS (budget {BUDGET} B):\n{report}\n"
        f"  the HTML is {len(html_bytes)} B as sent; gzip -9 would make it {html_gzip} B\n"
        f"  Accept-Encoding: {next(iter(rows.values())).accept}"
    )

    for row in rows.values():
        assert "gzip" in row.accept  # what the browser offered
        if row.kind != "document":
            # WhiteNoise serves the precompressed copies of our own CSS and JS.
            assert row.encoding in ("gzip", "br"), row
    assert total <= BUDGET, f"{total} B > {BUDGET} B\n{report}"
    # Headroom: even if the HTML were compressed, our own files stay small.
    css_js = sum(row.body for row in rows.values() if row.kind != "document")
    assert css_js + html_gzip <= 8 * 1024
