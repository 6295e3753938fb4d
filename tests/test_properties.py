"""Property-based tests: whatever arrives, never a 5xx and never an invalid Cognito request.

Each example starts with no cookies, so a success in one example (the session then
says "done", and later POSTs are sent to the done page) cannot stop the next from
reaching the form and Cognito. Each test says how many of its examples got there
(``reach``, see tests/reach.py); most well-formed ones must.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
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
from tests.reach import Reach

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

# Well-formed values, written from Cognito's model and the pool's default policy rather
# than from the site's own checks. Not one of them may be refused by the site.
visible = st.characters(exclude_categories=["Cs", "Cc", "Z"])  # no space of any kind
usernames = st.text(st.characters(categories=["L", "M", "N", "P", "S"]), min_size=1, max_size=128)
codes = st.one_of(
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.sampled_from(["123 456", "123-456", " 123456 "]),  # as pasted
    st.text(visible, min_size=1, max_size=64),
)
passwords = st.builds(
    lambda first, inner, last: "".join(first) + inner + last,
    st.permutations(["A", "z", "7", "#"]),  # upper, lower, number, symbol
    st.text(
        st.characters(exclude_categories=["Cs", "Cc", "Z"], include_characters=" "),
        min_size=3,
        max_size=60,
    ),
    visible,
)
# Harmless company for a valid form: fields the site does not read.
unread = st.lists(
    st.tuples(st.sampled_from(["extra", "", "csrfmiddlewaretoken"]), values), max_size=3
)
VALID, OTHER = "valid", "other"


def _tagged(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
    """(True, a well-formed value) three times in four, else (False, any value)."""
    good = valid.map(lambda value: (True, value))
    bad = other.map(lambda value: (False, value))
    return st.integers(0, 3).flatmap(lambda n: good if n else bad)


def _unlike(username: str, password: str) -> bool:
    # The site refuses a password too like the username (as Django's similarity
    # validator): Hypothesis likes to draw the same text twice, so rule out the
    # plain case, and leave the floor to allow for the rest.
    return username.lower() not in password.lower()


def _shuffled(fields: list[tuple[str, str]], extra: list[tuple[str, str]]) -> Any:
    return st.permutations(fields + extra)


valid_reset_fields = st.builds(
    lambda u, c, p: [("username", u), ("code", c), ("new_password1", p), ("new_password2", p)],
    usernames,
    codes,
    passwords,
)
reset_fields = _tagged(
    st.tuples(valid_reset_fields, unread).flatmap(lambda t: _shuffled(*t)), pairs
)
forgot_fields = _tagged(
    st.tuples(usernames.map(lambda u: [("username", u)]), unread).flatmap(lambda t: _shuffled(*t)),
    pairs,
)
FORM_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "Application/X-WWW-Form-Urlencoded;charset=UTF-8",
    "",  # no type: parsed as an empty form
]
content_types = st.sampled_from(
    [
        *FORM_TYPES,
        "multipart/form-data; boundary=x",
        "application/json",
        "text/plain",
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
    settings.RATELIMIT_FLOOD = {"ip": big}  # every example comes from the same address
    settings.COGNITO_QUOTA_RPS = 0  # no pacing: hundreds of examples a second
    return proxy


@pytest.fixture
def attempts() -> Iterator[list[logging.LogRecord]]:
    """The attempt log's lines: one for each submission the view took in."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger = logging.getLogger("accounts.attempts")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def _post(client: Client, path: str, body: bytes | str, content_type: str) -> Any:
    client.cookies.clear()  # a new session: nothing carried over from the last example
    return client.generic("POST", path, body, content_type=content_type)


def _sent(proxy: FaultProxy, response: Any, operation: str) -> bool:
    """Whether this example reached Cognito, after checking that what it sent was valid."""
    assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
    sent = [r for r in proxy.requests if r["operation"] == operation]
    for request in sent:
        assert_valid_request(operation, request["body"])
    assert len(sent) <= 1, sent  # one attempt, one call: "ok" needs no retry
    proxy.requests.clear()
    return bool(sent)


@pytest.mark.reaches("Cognito", {VALID: 0.9})
@PROFILE
@given(fields=reset_fields)
def test_reset_any_fields(
    client: Client, stand_in: FaultProxy, reach: Reach, fields: tuple[bool, list[tuple[str, str]]]
) -> None:
    valid, pairs = fields
    response = _post(client, "/reset/", urlencode(pairs), "application/x-www-form-urlencoded")
    form = dict(pairs)
    well_formed = valid and _unlike(form["username"], form["new_password1"])
    reach.record(
        VALID if well_formed else OTHER,
        reached=_sent(stand_in, response, "ConfirmForgotPassword"),
    )


@pytest.mark.reaches("Cognito", {VALID: 0.9})
@PROFILE
@given(
    username=_tagged(usernames, values),
    code=_tagged(codes, values),
    password=_tagged(passwords, values),
)
def test_reset_well_formed_forms(
    client: Client,
    stand_in: FaultProxy,
    reach: Reach,
    username: tuple[bool, str],
    code: tuple[bool, str],
    password: tuple[bool, str],
) -> None:
    data = {
        "username": username[1],
        "code": code[1],
        "new_password1": password[1],
        "new_password2": password[1],
    }
    response = _post(client, "/reset/", urlencode(data), "application/x-www-form-urlencoded")
    well_formed = username[0] and code[0] and password[0] and _unlike(username[1], password[1])
    kind = VALID if well_formed else OTHER
    reach.record(kind, reached=_sent(stand_in, response, "ConfirmForgotPassword"))


@pytest.mark.reaches("Cognito", {VALID: 0.9})
@PROFILE
@given(fields=forgot_fields)
def test_forgot_any_fields(
    client: Client, stand_in: FaultProxy, reach: Reach, fields: tuple[bool, list[tuple[str, str]]]
) -> None:
    valid, pairs = fields
    response = _post(client, "/forgot/", urlencode(pairs), "application/x-www-form-urlencoded")
    reach.record(VALID if valid else OTHER, reached=_sent(stand_in, response, "ForgotPassword"))


@pytest.mark.reaches("the view's form", {"/reset/ form": 0.9, "/forgot/ form": 0.9})
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
    client: Client,
    stand_in: FaultProxy,
    attempts: list[logging.LogRecord],
    reach: Reach,
    body: bytes,
    content_type: str,
    padding: int,
    path: str,
) -> None:
    data = body + b"a" * padding
    response = _post(client, path, data, content_type)
    operation = "ConfirmForgotPassword" if path == "/reset/" else "ForgotPassword"
    sent = _sent(stand_in, response, operation)
    # Other types are refused (415) before the view, as are bodies over the size limit.
    # With no body, the client sends no type.
    kind = "form" if (content_type if data else "") in FORM_TYPES else "other type"
    kind = f"{path} {'padded ' if padding else ''}{kind}"
    reach.record(kind, reached=sent or len(attempts) == 1)
    attempts.clear()


@pytest.mark.reaches("the session", {"link with values": 0.9})
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
def test_any_link(
    client: Client, stand_in: FaultProxy, reach: Reach, query: list[tuple[str, str]]
) -> None:
    client.cookies.clear()
    first = client.get("/reset/?" + urlencode(query))
    assert first.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
    second = client.get("/reset/")
    assert second.status_code == HTTPStatus.OK
    # What the view keeps of the link (the last of repeated keys, as Django reads them).
    last = dict(query)
    username = last.get("username", "").strip()[:128]
    code = last.get("code", "")[:256]
    if username or code:
        kept = client.session
        stored = (kept.get("reset_username", ""), kept.get("reset_code", ""))
        reach.record("link with values", reached=stored == (username, code))
    else:
        reach.record("link without values", reached=first.status_code < HTTPStatus.BAD_REQUEST)


def test_reach_fails_a_test_whose_examples_stop_short() -> None:
    reach = Reach("Cognito", {VALID: 0.9})
    reach.tried.update({VALID: 221, OTHER: 679})
    reach.reached.update({VALID: 1})  # what a session carried over from a success gave
    assert reach.shortfalls() == ["1 of 221 'valid' examples reached Cognito (at least 90% must)"]
    reach.reached.update({VALID: 199})
    assert reach.shortfalls() == []
    assert Reach("Cognito", {"rare": 0.5}).shortfalls() == [
        "only 0 'rare' examples ran (at least 20)"
    ]
    assert Reach("Cognito", {}).shortfalls()  # no floor: nothing shown
