"""Branding and theming: name, logo, colour stylesheet, support links, footer,
THEME_DIR overrides, and the markup that embedding adds."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory
from django.utils import translation

from accounts import views
from accounts.colors import palette
from accounts.rates import Rate
from tests.conftest import NEW_PASSWORD
from tests.faultproxy import FaultProxy
from tests.fixtures import THEME_DIR

ROOT = Path(__file__).resolve().parent.parent
SUPPORT_URL = "https://help.example.com/password"
SUPPORT_EMAIL = "it-help@example.com"


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    translation.deactivate()


def html_of(response: Any) -> str:
    return str(response.content.decode())


def theme_link(page: str) -> str | None:
    found = re.search(r'<link rel="stylesheet" href="(/theme\.css\?v=[^"]+)">', page)
    return found[1] if found else None


# --- name, logo, footer -------------------------------------------------------------


def test_unbranded_pages_add_nothing(client: Client, site: Any) -> None:
    page = html_of(client.get("/forgot/"))
    assert "<header" not in page
    assert theme_link(page) is None
    assert "embed" not in page
    assert "<title>Get a new code</title>" in page
    assert client.get("/theme.css").status_code == HTTPStatus.NOT_FOUND
    assert '<footer class="foot">\n\n<nav' in page  # only the language list


def test_brand_name_in_every_title_and_the_header(client: Client, site: Any, settings: Any) -> None:
    settings.BRAND_NAME = "Example <Corp> & Co"
    for path, title in (
        ("/forgot/", "Get a new code"),
        ("/reset/", "Choose a new password"),
        ("/forgot/sent/", "Check your email"),
        ("/nope/", "Page not found"),
    ):
        page = html_of(client.get(path))
        assert f"<title>{title} – Example &lt;Corp&gt; &amp; Co</title>" in page, path
        assert '<header class="brand">Example &lt;Corp&gt; &amp; Co</header>' in page, path


def test_logo_with_the_brand_name_as_its_text(client: Client, site: Any, settings: Any) -> None:
    settings.BRAND_NAME = "Example Corp"
    settings.BRAND_LOGO_URL = "/static/portal/logo.svg"
    page = html_of(client.get("/forgot/"))
    assert (
        '<header class="brand"><img src="/static/portal/logo.svg" alt="Example Corp"></header>'
        in page
    )


def test_footer_text(client: Client, site: Any, settings: Any) -> None:
    settings.FOOTER_TEXT = "© Example Corp — IT <help desk>"
    for path in ("/forgot/", "/reset/", "/nope/"):
        page = html_of(client.get(path))
        assert "<p>© Example Corp — IT &lt;help desk&gt;</p>" in page
        assert page.index("<p>© Example Corp") > page.index('<footer class="foot">')


# --- the brand colour ------------------------------------------------------------------


def test_brand_colour_stylesheet_is_linked_and_cached_for_a_year(
    client: Client, site: Any, settings: Any
) -> None:
    settings.BRAND_COLOR = "#e30613"
    settings.BRAND_PALETTE = shades = palette("#e30613")
    page = html_of(client.get("/forgot/"))
    link = theme_link(page)
    assert link == f"/theme.css?v={views.theme_version(shades)}"
    assert page.index(link) > page.index("/static/accounts/site.")  # after ours: it wins

    response = client.get(link)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert not response.cookies  # nothing per user: any cache may keep it
    assert "Content-Security-Policy" not in response  # a stylesheet, not a page
    assert "X-Frame-Options" not in response
    css = html_of(response)
    light, dark = css.split("@media (prefers-color-scheme:dark)")
    assert f"--brand:{shades.brand};" in light
    assert f"--brand-strong:{shades.brand_strong};" in light
    assert f"--on-brand:{shades.on_brand};" in light
    assert f"--focus:{shades.brand}" in light
    assert f"--brand:{shades.brand_dark};" in dark
    assert f"--brand-strong:{shades.brand_dark_strong};" in dark
    assert f"--on-brand:{shades.on_brand_dark};" in dark
    # The AA-adjusted shade, not the raw colour, where the raw one would fail.
    assert shades.brand_dark != "#e30613"
    assert css.count("{") == css.count("}")


def test_a_new_colour_is_a_new_url(client: Client, site: Any, settings: Any) -> None:
    settings.BRAND_COLOR = "#e30613"
    settings.BRAND_PALETTE = palette("#e30613")
    red = theme_link(html_of(client.get("/forgot/")))
    settings.BRAND_COLOR = "#00a651"
    settings.BRAND_PALETTE = palette("#00a651")
    green = theme_link(html_of(client.get("/forgot/")))
    assert red
    assert green
    assert red != green
    # The old URL now serves the new colours, and must not stick in any cache.
    stale = client.get(red)
    assert stale["Cache-Control"] == "no-cache"
    assert f"--brand:{palette('#00a651').brand};" in html_of(stale)
    assert client.post(green).status_code == HTTPStatus.METHOD_NOT_ALLOWED


# --- support links on error pages ------------------------------------------------------


def support_html(kind: str) -> str:
    if kind == "url":
        return f'<p class="support">Need help? <a href="{SUPPORT_URL}">Contact support</a></p>'
    return (
        '<p class="support">Need help? Write to us at '
        f'<a href="mailto:{SUPPORT_EMAIL}" dir="ltr">{SUPPORT_EMAIL}</a></p>'
    )


@pytest.fixture(params=["url", "email"])
def support(request: pytest.FixtureRequest, settings: Any) -> str:
    if request.param == "url":
        settings.SUPPORT_URL = SUPPORT_URL
    else:
        settings.SUPPORT_EMAIL = SUPPORT_EMAIL
    return support_html(request.param)


def post_reset(client: Client, user: str, code: str = "123456") -> Any:
    client.get("/reset/")
    return client.post(
        "/reset/",
        {
            "username": user,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )


@pytest.mark.parametrize(
    ("mode", "status"),
    [
        ("unknown_error", HTTPStatus.SERVICE_UNAVAILABLE),  # service down
        ("error:LimitExceededException", HTTPStatus.TOO_MANY_REQUESTS),  # one user's limit
        ("error:ForbiddenException", HTTPStatus.FORBIDDEN),  # blocked (WAF)
        ("error:UserLambdaValidationException", HTTPStatus.BAD_REQUEST),  # a trigger refused
    ],
)
def test_support_on_failures_the_user_cannot_fix(
    client: Client, site: Any, user: str, proxy: FaultProxy, support: str, mode: str, status: int
) -> None:
    proxy.set(mode)
    response = post_reset(client, user)
    assert response.status_code == status
    page = html_of(response)
    assert support in page
    assert page.index(support) > page.index('id="error-summary"')


def test_support_when_our_own_rate_limit_refuses(
    client: Client, site: Any, settings: Any, support: str
) -> None:
    settings.RATELIMITS = {
        **settings.RATELIMITS,
        "forgot": {"user": Rate.parse("1/h"), "ip": Rate.parse("100/h")},
    }
    assert client.post("/forgot/", {"username": "bob"}).status_code == HTTPStatus.FOUND
    refused = client.post("/forgot/", {"username": "bob"})
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert support in html_of(refused)


def test_no_support_for_what_the_user_can_fix(
    client: Client, site: Any, user: str, support: str
) -> None:
    wrong_code = post_reset(client, user, code="moto-confirmation-code:000000")
    assert wrong_code.status_code == HTTPStatus.BAD_REQUEST
    assert "wrong or has expired" in html_of(wrong_code)
    assert 'class="support"' not in html_of(wrong_code)


def test_no_support_when_busy_for_everyone(
    client: Client, site: Any, user: str, proxy: FaultProxy, support: str
) -> None:
    proxy.set("throttle")  # Cognito's account-wide quota: the page tries again by itself
    busy = post_reset(client, user)
    assert busy.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert 'class="support"' not in html_of(busy)
    assert 'class="support"' not in html_of(client.post("/forgot/", {"username": ""}))
    assert 'class="support"' not in html_of(client.get("/reset/"))


def test_support_on_the_error_pages(client: Client, site: Any, support: str) -> None:
    pages = {
        "404": client.get("/nope/"),
        "400": client.get("/reset/", HTTP_HOST="evil.example"),
        "csrf": Client(enforce_csrf_checks=True).post(
            "/forgot/", "username=bob", content_type="application/x-www-form-urlencoded"
        ),
        "500": views.server_error(RequestFactory().get("/reset/")),
    }
    statuses = {name: response.status_code for name, response in pages.items()}
    assert statuses == {"404": 404, "400": 400, "csrf": 403, "500": 500}
    for name, response in pages.items():
        assert support in html_of(response), name


def test_without_support_settings_no_support_line(
    client: Client, site: Any, proxy: FaultProxy, user: str
) -> None:
    proxy.set("unknown_error")
    assert 'class="support"' not in html_of(post_reset(client, user))
    assert 'class="support"' not in html_of(client.get("/nope/"))


# --- THEME_DIR --------------------------------------------------------------------------


@pytest.fixture
def themed(settings: Any) -> Path:
    """The sample theme, wired as settings.py wires THEME_DIR (templates and static
    first), with plain static storage: the theme's files are not in our manifest."""
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [THEME_DIR / "templates", *engine["DIRS"]]}]
    settings.STATICFILES_DIRS = [THEME_DIR / "static", *settings.STATICFILES_DIRS]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return THEME_DIR


def test_theme_dir_overrides_blocks_and_static_files(
    client: Client, site: Any, themed: Path
) -> None:
    page = html_of(client.get("/forgot/"))
    # The theme's base.html extends ours and fills two blocks; the rest is ours.
    assert '<link rel="stylesheet" href="/static/portal/portal.css">' in page
    assert page.index("/static/portal/portal.css") > page.index("/static/accounts/site.css")
    assert (
        '<header class="brand portal-header">'
        '<img src="/static/portal/logo.svg" alt="Example Corp"></header>'
    ) in page
    assert "<h1>Get a new code</h1>" in page
    assert 'name="username"' in page
    assert '<nav aria-label="Language">' in page
    # Every page extends base.html, so every page is themed.
    assert "portal-header" in html_of(client.get("/nope/"))
    # Static files: the theme's are found, and a same-named file replaces ours.
    assert finders.find("portal/portal.css") == str(themed / "static/portal/portal.css")
    assert finders.find("accounts/favicon.svg") == str(themed / "static/accounts/favicon.svg")
    assert finders.find("accounts/site.css") == str(ROOT / "static/accounts/site.css")


def test_theme_dir_and_brand_color_from_the_environment() -> None:
    """THEME_DIR and BRAND_COLOR as an operator sets them: settings.py wires templates
    and static files, and turns the colour into the palette /theme.css serves."""
    script = (
        "from django.test import Client\n"
        "from django.contrib.staticfiles import finders\n"
        "import django; django.setup()\n"
        "print(finders.find('portal/logo.svg'))\n"
        "client = Client(HTTP_HOST='localhost')\n"
        "page = client.get('/forgot/').content.decode()\n"
        "link = page.split('<link rel=\"stylesheet\" href=\"/theme.css', 1)[1].split('\"')[0]\n"
        "print(link)\n"
        "print(client.get('/theme.css' + link).content.decode().replace('\\n', ' '))\n"
        "print(page)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "THEME_DIR": str(THEME_DIR),
            "BRAND_COLOR": "#E30613",
            "DJANGO_DEBUG": "true",  # plain static storage: no manifest needed
            "LOG_LEVEL": "WARNING",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found, link, css, page = result.stdout.split("\n", 3)
    assert found == str(THEME_DIR / "static/portal/logo.svg")
    shades = palette("#e30613")
    assert link == f"?v={views.theme_version(shades)}"
    assert css == views.THEME_CSS.format(**dataclasses.asdict(shades)).replace("\n", " ")
    assert '<img src="/static/portal/logo.svg" alt="Example Corp">' in page
    assert '<link rel="stylesheet" href="/static/portal/portal.css">' in page


# --- what embedding adds to the pages ---------------------------------------------------


def test_embedding_markup_only_with_frame_ancestors(
    client: Client, site: Any, settings: Any, user: str
) -> None:
    settings.SIGN_IN_URL = "https://portal.example.com/login"
    plain = html_of(client.get("/forgot/"))
    assert "embed" not in plain
    assert "Open the form in a new tab" not in html_of(
        Client(enforce_csrf_checks=True).post(
            "/forgot/", "username=bob", content_type="application/x-www-form-urlencoded"
        )
    )

    settings.FRAME_ANCESTORS = ["https://portal.example.com", "https://intranet.example.com"]
    for path in ("/forgot/", "/reset/", "/nope/"):
        page = html_of(client.get(path))
        script = re.search(r'<script src="/static/accounts/embed\.[0-9a-f]+\.js"([^>]*)>', page)
        assert script, path
        assert script[1] == (
            ' data-origins="https://portal.example.com https://intranet.example.com" defer'
        )
    # The done page: marked for the "done" message, and Sign in leaves the frame.
    finished = post_reset(client, user, code=site.request_code(user))
    assert finished["Location"] == "/reset/done/"
    done = html_of(client.get("/reset/done/"))
    assert '<main class="card" id="main" data-portal-event="done">' in done
    assert (
        '<a class="button primary" href="https://portal.example.com/login" data-sign-in '
        'target="_top">Sign in</a>'
    ) in done
    # A blocked cookie in a cross-site frame ends here: offer the form outside the frame.
    expired = html_of(
        Client(enforce_csrf_checks=True).post(
            "/forgot/", "username=bob", content_type="application/x-www-form-urlencoded"
        )
    )
    assert '<a href="/reset/" target="_blank">Open the form in a new tab</a>' in expired
