"""Rendering once what doesn't change: the same HTML as before, per language and policy.

The form renderer writes <input> widgets in Python (accounts/renderer.py); the
checklist, the common-password list and the language switcher are cached per
process ({% cache %} in the "fragments" cache).
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

import pytest
from django.forms.renderers import DjangoTemplates
from django.test import Client
from django.utils.safestring import mark_safe

from accounts.forms import ForgotForm, ResetForm
from accounts.policy import PasswordPolicy
from accounts.renderer import FormRenderer, render_input

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
