"""Fitting a company's portal: brand colours, languages, framing settings."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client

from accounts.colors import WHITE, contrast, palette, parse_hex
from tests.conftest import FormClient
from tests.test_config import BASE_ENV, _settings_check


@pytest.mark.parametrize(
    "colour",
    ["#1f5fbf", "#ffcc00", "#ffffff", "#000000", "#e30613", "#00a651", "#7f7f7f", "8a2be2"],
)
def test_palette_keeps_aa_contrast(colour: str) -> None:
    shades = palette(colour)
    brand, on_brand = parse_hex(shades.brand), parse_hex(shades.on_brand)
    assert contrast(brand, WHITE) >= 4.5  # links on the light card
    assert contrast(on_brand, brand) >= 4.5  # button text
    dark, on_dark = parse_hex(shades.brand_dark), parse_hex(shades.on_brand_dark)
    assert contrast(dark, (27, 31, 38)) >= 4.5  # links on the dark card
    assert contrast(on_dark, dark) >= 4.5


def test_palette_keeps_a_compliant_colour_as_is() -> None:
    assert palette("#1f5fbf").brand == "#1f5fbf"


@pytest.mark.parametrize("bad", ["red", "#12345", "#gggggg", "rgb(1,2,3)"])
def test_bad_brand_colour_fails_at_start(bad: str) -> None:
    result = _settings_check({**BASE_ENV, "BRAND_COLOR": bad})
    assert result.returncode != 0
    assert "BRAND_COLOR" in result.stderr


@pytest.mark.parametrize(
    "origin",
    [
        "portal.example.com",
        "https://portal.example.com/path",
        "javascript:alert(1)",
        "https://x.example?q=1",
    ],
)
def test_frame_ancestors_must_be_origins(origin: str) -> None:
    result = _settings_check({**BASE_ENV, "FRAME_ANCESTORS": origin})
    assert result.returncode != 0
    assert "FRAME_ANCESTORS" in result.stderr


def test_lang_parameter_picks_and_remembers_the_language(client: Client, site: Any) -> None:
    response = client.get("/forgot/?lang=de")
    assert response.status_code == HTTPStatus.OK
    assert '<html lang="de"' in response.content.decode()
    assert response.cookies["__Host-lang"].value == "de"
    assert response.cookies["__Host-lang"]["secure"]
    again = client.get("/forgot/")
    assert '<html lang="de"' in again.content.decode()


def test_accept_language_and_unknown_lang(client: Client, site: Any) -> None:
    page = client.get("/forgot/", HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9")
    assert '<html lang="pt-br"' in page.content.decode()
    ignored = client.get("/forgot/?lang=xx-evil", HTTP_ACCEPT_LANGUAGE="fr")
    assert ignored.status_code == HTTPStatus.OK
    assert '<html lang="fr"' in ignored.content.decode()
    assert "__Host-lang" not in ignored.cookies


def test_framed_mode_partitions_cookies_and_offers_a_new_tab(
    client: Client, site: Any, settings: Any
) -> None:
    settings.FRAME_ANCESTORS = ["https://portal.example.net"]
    response = client.get("/reset/", {"username": "a", "code": "1"})
    header = response.cookies["__Host-session"].output()
    assert "Partitioned" in header
    assert "Secure" in header
    csrf = FormClient(enforce_csrf_checks=True).post("/reset/", {"username": "a"})
    assert csrf.status_code == HTTPStatus.FORBIDDEN
    assert 'target="_blank"' in csrf.content.decode()  # where cookies are refused anyway


def test_unframed_cookies_are_not_partitioned(client: Client, site: Any) -> None:
    response = client.get("/reset/", {"username": "a", "code": "1"})
    assert "Partitioned" not in response.cookies["__Host-session"].output()


CROSS_SITE_FRAME = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"}


def test_a_link_in_another_sites_frame_keeps_its_values_in_the_fragment(
    client: Client, site: Any, settings: Any
) -> None:
    """Where the browser refuses the frame's cookies (Safari), the values would be lost:
    the redirect carries them in the fragment, which no browser sends to a server."""
    settings.FRAME_ANCESTORS = ["https://portal.example.net"]
    link = {"username": "alice@example.com", "code": "123456", "lang": "de", "next": "/x"}
    response = client.get("/reset/", link, headers=CROSS_SITE_FRAME)
    assert response.status_code == HTTPStatus.FOUND
    fragment = "username=alice%40example.com&code=123456&next=%2Fx&lang=de"
    assert response["Location"] == f"/reset/?lang=de#{fragment}"
    # The same link in a same-site frame, at the top, or with framing off: no fragment.
    for headers, ancestors in [
        ({"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "same-site"}, True),
        ({"Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "cross-site"}, True),
        (CROSS_SITE_FRAME, False),
    ]:
        settings.FRAME_ANCESTORS = ["https://portal.example.net"] if ancestors else []
        assert client.get("/reset/", link, headers=headers)["Location"] == "/reset/"


def test_the_blocked_frame_page(client: Client, site: Any, settings: Any) -> None:
    assert client.get("/reset/blocked/").status_code == HTTPStatus.NOT_FOUND  # unframed
    settings.FRAME_ANCESTORS = ["https://portal.example.net"]
    page = client.get("/reset/blocked/", HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == HTTPStatus.OK
    assert "no-store" in page["Cache-Control"]
    body = page.content.decode()
    assert "Ihr Browser blockiert das Formular hier" in body
    assert 'id="frame-open" href="/reset/" target="_blank" rel="noopener"' in body
    assert "accounts/frame-blocked." in body  # its own script
    assert "accounts/embed." in body  # and the frame's messages
    assert not page.cookies  # nothing to refuse: it sets no cookie
