"""No timing oracle on /forgot/: known and unknown accounts take the same time.

Cognito answers ForgotPassword more slowly for an account that exists, because
it sends a message. The stand-in here is moto behind a proxy that makes the
difference plain: 200 ms more for a known user. The site answers every request
that reached Cognito after FORGOT_MIN_DURATION, so the medians agree.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from accounts.rates import Rate
from tests.conftest import FormClient
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.e2e

KNOWN_EXTRA = 0.2  # seconds Cognito's stand-in adds for an account that exists
UNKNOWN = "nobody-here@example.com"


class SlowerForKnownUsers(FaultProxy):
    """Forwards to moto; ForgotPassword for a known user answers KNOWN_EXTRA later."""

    def __init__(self, upstream: str, known: set[str]) -> None:
        super().__init__(upstream)
        self.known = known

    def handle(self, handler: BaseHTTPRequestHandler, target: str, body: bytes) -> None:
        if target.endswith(".ForgotPassword"):
            username = json.loads(body or b"{}").get("Username", "")
            if username in self.known:
                time.sleep(KNOWN_EXTRA)
        super().handle(handler, target, body)


@pytest.fixture
def slow_cognito(moto_url: str, site: Any, user: str, settings: Any) -> Iterator[FaultProxy]:
    proxy = SlowerForKnownUsers(moto_url, {user}).start()
    settings.COGNITO_ENDPOINT_URL = proxy.url
    big = Rate(10_000, 3600)
    settings.RATELIMITS = {**settings.RATELIMITS, "forgot": {"user": big, "ip": big}}
    yield proxy
    proxy.stop()


def _timed_forgot(client: FormClient, username: str) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.post("/forgot/", {"username": username})
    return time.perf_counter() - started, response


def _medians(user: str, rounds: int) -> tuple[float, float, list[Any]]:
    known: list[float] = []
    unknown: list[float] = []
    responses: list[Any] = []
    clients = {user: FormClient(), UNKNOWN: FormClient()}
    _timed_forgot(clients[user], user)  # warm up connections and caches
    _timed_forgot(clients[UNKNOWN], UNKNOWN)
    for _ in range(rounds):  # interleaved, so that load on the machine hits both alike
        for name, times in ((user, known), (UNKNOWN, unknown)):
            elapsed, response = _timed_forgot(clients[name], name)
            times.append(elapsed)
            responses.append(response)
    return statistics.median(known), statistics.median(unknown), responses


def test_known_and_unknown_accounts_answer_alike(
    slow_cognito: FaultProxy, user: str, settings: Any
) -> None:
    settings.FORGOT_MIN_DURATION = 0.6
    known, unknown, responses = _medians(user, rounds=9)
    assert abs(known - unknown) < 0.050, (known, unknown)
    assert known >= 0.6
    assert unknown >= 0.6
    # The same answer, too: a redirect to the same page.
    assert {(r.status_code, r["Location"]) for r in responses} == {
        (HTTPStatus.FOUND, "/forgot/sent/")
    }
    both = [client.get("/forgot/sent/").content for client in (FormClient(), FormClient())]
    assert both[0] == both[1]
    # Both reached Cognito: the floor does not come from skipping the call.
    names = [call["Username"] for call in slow_cognito.calls("ForgotPassword")]
    assert names.count(user) == names.count(UNKNOWN) == 10


def test_without_the_floor_the_stand_in_shows_the_difference(
    slow_cognito: FaultProxy, user: str, settings: Any
) -> None:
    """The control: the test above would fail if the floor stopped working."""
    settings.FORGOT_MIN_DURATION = 0
    known, unknown, _ = _medians(user, rounds=5)
    assert known - unknown > 0.150, (known, unknown)


def test_our_own_refusals_do_not_wait(slow_cognito: FaultProxy, user: str, settings: Any) -> None:
    """Over our own limit Cognito isn't asked and nothing about the account shows: no floor,
    so a flood of refused requests holds nothing up."""
    settings.FORGOT_MIN_DURATION = 1.0
    settings.RATELIMITS = {
        **settings.RATELIMITS,
        "forgot": {"user": Rate(1, 3600), "ip": Rate(100, 3600)},
    }
    client = FormClient()
    first, _ = _timed_forgot(client, user)
    second, refused = _timed_forgot(client, user)
    assert first >= 1.0
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert second < 0.5


def test_a_call_slower_than_the_floor_is_logged(
    slow_cognito: FaultProxy, user: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.FORGOT_MIN_DURATION = 0.05  # below the known user's 200 ms
    with caplog.at_level(logging.WARNING):
        _timed_forgot(FormClient(), user)
    assert [r.getMessage() for r in caplog.records] == ["response_floor_exceeded"]
