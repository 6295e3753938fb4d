"""Rendering once what doesn't change: the same HTML as the templates make.

The form renderer writes <input> widgets in Python (accounts/renderer.py), and
each page is rendered once per shape and filled in per request (accounts/pages.py).
Every page, in every state and language, is compared with the templates' own
rendering of the same request, character for character.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.forms.renderers import DjangoTemplates
from django.test import Client, RequestFactory, override_settings
from django.utils.html import escape
from django.utils.safestring import mark_safe

from accounts import cognito, cognito_errors, messages, pages, ratelimit, shedding
from accounts.cognito import CognitoError, Kind, Neutral, Outcome
from accounts.forms import ForgotForm, ResetForm
from accounts.policy import PasswordPolicy
from accounts.renderer import FormRenderer, render_input
from tests.conftest import FormClient
from tests.refusing import fill_bulkhead, open_breaker

STOCK = DjangoTemplates()
OURS = FormRenderer()


def _forms() -> list[Any]:
    policy = PasswordPolicy()
    bound = ResetForm(
        {
            "username": "a\"<b>&'c",
            "code": "12 34",
            "new_password1": "x",
            "new_password2": "y",
            "cognito_context_data": "<data>",
        },
        policy=policy,
    )
    bound.is_valid()
    bound.add_error("code", "wrong")
    return [
        ResetForm(policy=policy),
        ResetForm(policy=policy, initial={"username": "ann@example.com", "code": "123456"}),
        bound,
        ForgotForm(initial={"username": "bob"}),
        ForgotForm({"username": ""}),
    ]


@pytest.mark.parametrize("index", range(5))
def test_inputs_render_exactly_as_djangos_templates(index: int) -> None:
    form = _forms()[index]
    for name in form.fields:
        form.renderer = OURS
        ours = str(form[name])
        form.renderer = STOCK
        assert ours == str(form[name]), name


def test_every_attribute_kind_renders_as_django_does() -> None:
    widget = {
        "type": "text",
        "name": "n<",
        "value": mark_safe("<safe>"),
        "attrs": {"required": True, "hidden": False, "data-x": 'a"b', "maxlength": 3},
    }
    stock = STOCK.render("django/forms/widgets/input.html", {"widget": widget})
    assert render_input(widget) == stock


def _rules(client: Client, query: str = "") -> list[str]:
    response = client.get("/reset/" + query)
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    block = html.split('id="password-rules"', 1)[1].split("</div>", 1)[0]
    return re.findall(r'<li data-rule="[a-z]+">([^<]+)</li>', block)


def test_the_checklist_follows_the_language_and_the_policy(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts import views

    built: list[PasswordPolicy] = []
    build = views._policy_rules

    def counted(policy: PasswordPolicy) -> list[tuple[str, str]]:
        built.append(policy)
        return build(policy)

    monkeypatch.setattr(views, "_policy_rules", counted)
    english = _rules(client, "?lang=en")
    german = _rules(client, "?lang=de")
    assert english != german
    assert len(built) == 2
    assert _rules(client, "?lang=en") == english
    assert len(built) == 2  # served from the cache: not built again
    assert "At least 8 characters" in english

    settings.COGNITO_PASSWORD_POLICY = {"MinimumLength": 12, "RequireSymbols": False}
    stricter = _rules(client, "?lang=en")
    assert "At least 12 characters" in stricter
    assert not any("symbol" in rule for rule in stricter)
    assert _rules(client, "?lang=de") != german


def _listed(client: Client) -> list[str]:
    html = client.get("/reset/").content.decode()
    match = re.search(r'<script id="common-passwords" type="application/json">(.*?)</script>', html)
    assert match
    return list(json.loads(match.group(1)))


def test_the_common_password_list_follows_the_policy(client: Client, settings: Any) -> None:
    def listed() -> list[str]:
        return _listed(client)

    default = listed()
    settings.COGNITO_PASSWORD_POLICY = {
        "MinimumLength": 6,
        "RequireUppercase": False,
        "RequireNumbers": False,
        "RequireSymbols": False,
    }
    looser = listed()
    assert default != looser
    assert "password" in looser
    assert "password" not in default


def test_the_page_lists_only_plain_inoffensive_common_passwords(
    client: Client, settings: Any
) -> None:
    from accounts.forms import _OFFENSIVE

    debris = "asdfghjkl:&#39:"  # in Django's list, as are a few obscenities
    assert debris not in _listed(client)
    settings.COGNITO_PASSWORD_POLICY = {"MinimumLength": 6, "RequireUppercase": False}
    settings.COGNITO_PASSWORD_POLICY.update(RequireNumbers=False, RequireSymbols=False)
    loose = _listed(client)
    assert len(loose) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9!#$%*+,.<=>?@^_~-]+", word) for word in loose)
    assert not [word for word in loose if any(bad in word for bad in _OFFENSIVE)]
    # The server still checks the whole list.
    settings.COGNITO_PASSWORD_POLICY = None
    password = debris.capitalize()
    refused = client.post(
        "/reset/",
        {"username": "bob", "code": "123456", "new_password1": password, "new_password2": password},
    )
    assert "This password is too common" in refused.content.decode()


# --- pages rendered once, filled in per request (accounts/pages.py) -------------------

HOSTILE = "a\"<b>&'c"
NEXT = "https://portal.example.com/in?x=<\"'&>"
PASSWORD = "Fresh-Horse-Battery-42"
Run = Callable[[Client], Any]


class World:
    """What a scenario's requests meet: Cognito's answer, whether the process is saturated."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.failure: CognitoError | None = None
        self.saturated = False

    def client(self) -> Client:
        cache.clear()
        cognito.reset_clients()
        self.failure, self.saturated = None, False
        client = FormClient()
        client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = self.language
        return client

    def call(self, **kwargs: Any) -> Neutral:
        if self.failure:
            raise self.failure
        return Neutral(Outcome.SENT)


def _reset_form(username: str = HOSTILE, code: str = HOSTILE, **more: str) -> dict[str, str]:
    sent = {"username": username, "code": code, "cognito_context_data": HOSTILE}
    return {**sent, "new_password1": PASSWORD, "new_password2": PASSWORD, **more}


def _limited(action: str) -> None:
    for _ in range(30):
        ratelimit.check(action, username=HOSTILE, client_ip="127.0.0.1")


def _scenarios(world: World) -> dict[str, tuple[dict[str, Any], Run]]:
    """Every page and state: (settings, the requests; the last answer is compared)."""

    def failing(path: str, kind: Kind, form: dict[str, str]) -> Run:
        def run(client: Client) -> Any:
            retry_after = {Kind.RATE_LIMITED: 900, Kind.BUSY: 5}.get(kind)
            world.failure = CognitoError(kind, "StandIn", retry_after)
            return client.post(path, form)

        return run

    def refused(path: str, setup: Callable[[], None], form: dict[str, str]) -> Run:
        def run(client: Client) -> Any:
            setup()
            return client.post(path, form)

        return run

    def shed() -> None:
        world.saturated = True

    def done(client: Client) -> Any:
        client.get("/reset/", {"username": HOSTILE, "code": "123456", "next": NEXT})
        client.post("/reset/", _reset_form(code="123456"))
        return client.get("/reset/done/")

    def csrf(client: Client) -> Any:
        client.handler.enforce_csrf_checks = True
        return client.post("/forgot/", forgot)

    def unknown(client: Client) -> Any:
        world.failure = CognitoError(Kind.OUTCOME_UNKNOWN, "StandIn")
        return client.post("/reset/", _reset_form())

    forgot = {"username": HOSTILE}
    kept = {"username": HOSTILE, "code": HOSTILE}
    brand = {"BRAND_NAME": HOSTILE, "FOOTER_TEXT": HOSTILE, "SUPPORT_EMAIL": "help@example.com"}
    scenarios: dict[str, tuple[dict[str, Any], Run]] = {
        "reset": ({}, lambda c: c.get("/reset/")),
        "reset kept": ({}, lambda c: c.get("/reset/", kept, follow=True)),
        "reset empty": ({}, lambda c: c.post("/reset/", {})),
        "reset invalid": ({}, lambda c: c.post("/reset/", _reset_form(new_password1="short"))),
        "reset mismatch": ({}, lambda c: c.post("/reset/", _reset_form(new_password2="x"))),
        "reset similar": (
            {},
            lambda c: c.post("/reset/", _reset_form("ann", "1", new_password1="ann")),
        ),
        "forgot": ({}, lambda c: c.get("/forgot/")),
        "forgot kept": ({}, lambda c: c.get("/forgot/", forgot)),
        "forgot empty": ({}, lambda c: c.post("/forgot/", {"username": ""})),
        "forgot invalid": ({}, lambda c: c.post("/forgot/", {"username": "a b"})),
        "forgot sent": ({}, lambda c: c.get("/forgot/sent/")),
        "done": ({"REDIRECT_ALLOWED_HOSTS": {"portal.example.com"}}, done),
        "csrf": ({}, csrf),
        "404": ({}, lambda c: c.get("/nope/")),
        "context data": ({"COGNITO_CONTEXT_DATA": True}, lambda c: c.get("/reset/")),
        "branded": ({**brand, "SIGN_IN_URL": "https://portal.example.com/?a=<'&>"}, unknown),
        "framed": (
            {"FRAME_ANCESTORS": ["https://portal.example.com"]},
            lambda c: c.get("/reset/blocked/"),
        ),
    }
    for kind in messages.COGNITO:
        scenarios[f"reset {kind}"] = ({}, failing("/reset/", kind, _reset_form()))
        scenarios[f"forgot {kind}"] = ({}, failing("/forgot/", kind, forgot))
    setups: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
        "limited": (partial(_limited, "confirm"), partial(_limited, "forgot")),
        "open": (open_breaker, open_breaker),
        "full": (fill_bulkhead, fill_bulkhead),
        "shed": (shed, shed),
    }
    for name, (reset_setup, forgot_setup) in setups.items():
        scenarios[f"reset refused {name}"] = ({}, refused("/reset/", reset_setup, _reset_form()))
        scenarios[f"forgot refused {name}"] = ({}, refused("/forgot/", forgot_setup, forgot))
    return scenarios


def _answer(response: Any) -> tuple[int, str | None, str]:
    return response.status_code, response.get("Retry-After"), response.content.decode()


@pytest.fixture
def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same CSRF token and nonce for every request, so that two renders compare."""
    from csp.middleware import CSPMiddleware
    from django.middleware import csrf

    def nonce(self: Any, request: Any) -> str:
        request._csp_nonce = "n0nce+/="
        return "n0nce+/="

    monkeypatch.setattr(csrf, "_get_new_csrf_string", lambda: "Tok3n" * 6 + "xy")
    monkeypatch.setattr(CSPMiddleware, "_make_nonce", nonce)
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_123.0)  # the same Retry-After
    monkeypatch.setattr(cognito_errors, "RETRY_JITTER", 0.0)  # the same jitter


@pytest.mark.parametrize("language", [code for code, _ in django_settings.LANGUAGES])
def test_every_page_equals_the_templates_own_rendering(
    language: str, monkeypatch: pytest.MonkeyPatch, deterministic: None
) -> None:
    """Each page, state and language: the template's own rendering, then the fast
    path twice (its first answer and one served from the cache): all three equal."""
    world = World(language)
    monkeypatch.setattr(cognito, "confirm_forgot_password", world.call)
    monkeypatch.setattr(cognito, "forgot_password", world.call)
    monkeypatch.setattr(shedding.Shedder, "saturated", lambda self: world.saturated)
    fast = pages.render
    differ, rendered_again, statuses = [], [], {}
    for name, (overrides, run) in _scenarios(world).items():
        with override_settings(**overrides):
            monkeypatch.setattr(pages, "render", pages.render_plain)
            plain = _answer(run(world.client()))
            monkeypatch.setattr(pages, "render", fast)
            first = _answer(run(world.client()))
            renders = pages.renders
            again = _answer(run(world.client()))
        if not plain == first == again:
            differ.append(name)
        if pages.renders != renders:
            rendered_again.append(name)
        statuses[name] = plain[0]
        assert HOSTILE not in plain[2], name  # escaped wherever it is shown
    assert not differ
    assert not rendered_again
    assert statuses == EXPECTED


EXPECTED = {
    **dict.fromkeys(["reset", "reset kept", "forgot", "forgot kept", "forgot sent", "done"], 200),
    **dict.fromkeys(["context data", "framed"], 200),
    **dict.fromkeys(["reset empty", "reset invalid", "reset mismatch", "reset similar"], 400),
    **dict.fromkeys(["forgot empty", "forgot invalid"], 400),
    **{"csrf": 403, "404": 404, "branded": 503},
    **{
        f"{page} {kind}": problem.status
        for kind, problem in messages.COGNITO.items()
        for page in ("reset", "forgot")
    },
    **{f"forgot {kind}": problem.status for kind, problem in messages.FORGOT.items()},
    **dict.fromkeys(["reset refused limited", "forgot refused limited"], 429),
    **{
        f"{page} refused {why}": 503
        for page in ("reset", "forgot")
        for why in ("open", "full", "shed")
    },
}


def test_a_page_is_rendered_once_per_shape(client: Client) -> None:
    client.get("/forgot/", {"username": "ann"})
    renders = pages.renders
    for username in ("bob", HOSTILE, "ann@example.com"):
        html = client.get("/forgot/", {"username": username}).content.decode()
        assert f'value="{escape(username)}"' in html
    assert pages.renders == renders  # from the cache, each with its own value
    client.get("/forgot/")
    assert pages.renders == renders + 1  # no value: another shape
    german = client.get("/forgot/", {"username": "bob", "lang": "de"}).content.decode()
    assert 'lang="de"' in german  # another language, another page
    assert "Benutzername" in german
    assert pages.renders == renders + 2


def test_a_template_that_transforms_a_value_is_rendered_in_full(
    settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A theme's template printing a value raw or transformed gets no skeleton."""
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "done.html").write_text(
        "{{ sign_in_url|upper }} {{ sign_in_url|safe }}"
    )
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [tmp_path, *engine["DIRS"]]}]
    for url in ("https://a.example/<x>", "https://b.example/"):
        page = pages.Page("accounts/done.html", values={"sign_in_url": url})
        html = pages.render(RequestFactory().get("/"), page).content.decode()
        assert html == f"{escape(url.upper())} {url}"  # as the template makes it
    assert "page_not_cached" in caplog.text


def test_kept_values_and_error_texts_are_escaped_as_the_template_escapes_them() -> None:
    errors = {"username": ((HOSTILE, "x"),), "__all__": ((HOSTILE, None),)}
    state = pages.FormState.sent(ForgotForm, {"username": HOSTILE}, errors)
    page = pages.Page("accounts/forgot.html", form=state, fixed={"problem_kind": "busy"})
    request = RequestFactory().get("/forgot/")
    html = pages.render(request, page).content.decode()
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub("", html) == token.sub("", pages.render_plain(request, page).content.decode())
    assert HOSTILE not in html
    assert html.count(escape(HOSTILE)) == 4  # the summary (twice), the field's error, its value


def test_the_pages_kept_are_bounded(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "MAX_SKELETONS", 2)
    for language in ("en", "de", "fr", "en"):
        html = client.get("/forgot/", {"lang": language}).content.decode()
        assert f'<html lang="{language}"' in html
    assert len(pages._skeletons) == 2  # the oldest (en) went; en is back, in place of de
