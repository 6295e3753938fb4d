"""Property-based tests: whatever arrives, never a 5xx and never an invalid Cognito request."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.rates import Rate
from tests.cognito_model import assert_valid_request
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.e2e

FIELDS = [
    "username",
    "code",
    "new_password1",
    "new_password2",
    "cognito_context_data",
    "csrfmiddlewaretoken",
    "extra",
    "",
]

# Text as a form can carry it: any code point but surrogates.
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
plausible = st.sampled_from(
    [
        "alice@example.com",
        "名前",
        "123456",
        "123 456",
        "Fresh-Horse-42!",
        "Tiny Green Frog Jumps 42",
        " Leading-Space-42",
        "Trailing-Space-42 ",
        "Tab\tInside-42",
        "moto-confirmation-code:123456",
        "a" * 128,
        "a" * 129,
    ]
)
values = st.one_of(any_text, plausible, st.text(min_size=2000, max_size=3000).map(str))
pairs = st.lists(st.tuples(st.sampled_from(FIELDS), values), max_size=8)
content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "multipart/form-data; boundary=x",
        "application/json",
        "text/plain",
        "",
    ]
)
PROFILE = settings(
    max_examples=900,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture
def stand_in(site: Any, proxy: FaultProxy, settings: Any) -> FaultProxy:
    # Answer every call at once: what matters here is what was sent.
    proxy.set("ok")
    big = Rate(10**9, 60)
    settings.RATELIMITS = {"confirm": {"user": big, "ip": big}, "forgot": {"user": big, "ip": big}}
    return proxy


def _check(proxy: FaultProxy, response: Any) -> None:
    assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
    for request in proxy.requests:
        if request["operation"] in ("ConfirmForgotPassword", "ForgotPassword"):
            assert_valid_request(request["operation"], request["body"])
    proxy.requests.clear()


@PROFILE
@given(fields=pairs)
def test_reset_any_fields(
    client: Client, stand_in: FaultProxy, fields: list[tuple[str, str]]
) -> None:
    response = client.post(
        "/reset/", urlencode(fields), content_type="application/x-www-form-urlencoded"
    )
    _check(stand_in, response)


@PROFILE
@given(username=values, code=values, password=values)
def test_reset_well_formed_forms(
    client: Client, stand_in: FaultProxy, username: str, code: str, password: str
) -> None:
    data = {
        "username": username,
        "code": code,
        "new_password1": password,
        "new_password2": password,
    }
    _check(stand_in, client.post("/reset/", data))


@PROFILE
@given(fields=pairs)
def test_forgot_any_fields(
    client: Client, stand_in: FaultProxy, fields: list[tuple[str, str]]
) -> None:
    response = client.post(
        "/forgot/", urlencode(fields), content_type="application/x-www-form-urlencoded"
    )
    _check(stand_in, response)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.binary(max_size=2000),
    content_type=content_types,
    padding=st.sampled_from([0, 0, 0, 300_000]),
    path=st.sampled_from(["/reset/", "/forgot/"]),
)
def test_any_body_any_content_type(
    client: Client, stand_in: FaultProxy, body: bytes, content_type: str, padding: int, path: str
) -> None:
    response = client.generic("POST", path, body + b"a" * padding, content_type=content_type)
    _check(stand_in, response)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    query=st.lists(
        st.tuples(st.sampled_from(["username", "code", "next", "lang", "x"]), any_text), max_size=5
    )
)
def test_any_link(client: Client, stand_in: FaultProxy, query: list[tuple[str, str]]) -> None:
    first = client.get("/reset/?" + urlencode(query))
    assert first.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
    second = client.get("/reset/")
    assert second.status_code == HTTPStatus.OK
