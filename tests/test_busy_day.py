"""A busy day, end to end (Django test client → fault proxy → moto): what people are
told when the service is busy for everyone, that it never counts toward their own
limits, the outage a person keeps pressing through, and imported users.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client

from accounts import cognito
from accounts.rates import Rate
from accounts.resilience import State
from tests.conftest import NEW_PASSWORD, OLD_PASSWORD, FormClient
from tests.faultproxy import FaultProxy
from tests.test_metrics import sample

pytestmark = pytest.mark.e2e

BUSY = "A lot of people are resetting their password right now. Nothing was changed."
NOT_ANSWERING = "isn&#x27;t answering, so we didn&#x27;t send your request"
WRONG_CODE = "moto-confirmation-code:000000"


def _submit(client: Client, username: str, code: str, ip: str = "198.51.100.7") -> Any:
    return client.post(
        "/reset/",
        {
            "username": username,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        REMOTE_ADDR=ip,
    )


def _retry_line(html: str) -> tuple[int, str, str] | None:
    """The busy page's line for when it is sent again: (seconds, text, JS template)."""
    found = re.search(
        r'<p id="retry-line" data-retry-after="(\d+)" data-t-retry="([^"]*)">([^<]*)</p>', html
    )
    return (int(found[1]), found[3], found[2]) if found else None


def test_throttled_is_busy_for_everyone_and_says_when_it_goes_again(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    code = site.request_code(user)
    proxy.set("throttle")
    response = _submit(client, user, code)
    html = response.content.decode()
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    wait = int(response["Retry-After"])
    assert cognito.THROTTLED_RETRY_AFTER <= wait <= 6  # a few seconds, jittered
    assert BUSY in html.replace("&#x27;", "'")
    assert "Too many attempts" not in html  # not the person's own limit
    line = _retry_line(html)
    assert line is not None
    assert line[0] == wait
    assert line[1] == f"Wait {wait} seconds, then press “Set new password” again."
    assert line[2] == "We&#x27;ll try again %(when)s."  # the page's countdown
    assert f'value="{user}"' in html
    assert f'value="{code}"' in html
    assert NEW_PASSWORD not in html
    assert site.can_sign_in(user, OLD_PASSWORD)
    # Jittered: people told at the same moment don't all come back at the same moment.
    assert len({cognito.soon(cognito.THROTTLED_RETRY_AFTER) for _ in range(50)}) > 1


def test_paced_out_is_told_busy_at_once_with_its_turn(
    client: Client, site: Any, user: str, proxy: FaultProxy, settings: Any
) -> None:
    settings.COGNITO_QUOTA_RPS = 0.2  # one call every 5 s
    settings.COGNITO_QUOTA_MAX_WAIT = 0
    busy_before = sample("resetsite_cognito_busy_total", reason="pacer")
    assert _submit(client, user, WRONG_CODE).status_code == HTTPStatus.BAD_REQUEST  # sent
    started = time.monotonic()
    response = _submit(client, user, WRONG_CODE)
    assert time.monotonic() - started < 1
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    # Its turn is in about 5 s: told so, give or take the jitter.
    assert 5 <= int(response["Retry-After"]) <= 5 + cognito.RETRY_JITTER + 1
    assert _retry_line(response.content.decode()) is not None
    assert len(proxy.calls("ConfirmForgotPassword")) == 1
    assert sample("resetsite_cognito_busy_total", reason="pacer") == busy_before + 1


def test_forgot_when_busy_has_its_own_words(
    client: Client, site: Any, proxy: FaultProxy, settings: Any
) -> None:
    settings.COGNITO_QUOTA_RPS = 0.2
    settings.COGNITO_QUOTA_MAX_WAIT = 0
    assert client.post("/forgot/", {"username": "first"}).status_code == HTTPStatus.FOUND
    response = client.post("/forgot/", {"username": "second"})
    html = response.content.decode()
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "asking for a code right now, so we haven&#x27;t sent yours yet" in html
    line = _retry_line(html)
    assert line is not None
    assert line[1].endswith("then press “Send code” again.")
    assert 'value="second"' in html


def _open_the_breaker(proxy: FaultProxy) -> None:
    proxy.set("500")
    for n in range(5):
        _submit(FormClient(), f"other{n}@example.com", "1", ip=f"192.0.2.{n + 1}")
    assert cognito.guards()[1].state is State.OPEN


@pytest.mark.parametrize("refusal", ["throttled", "paced_out", "breaker_open"])
def test_refusals_that_never_reached_cognito_count_toward_no_limit(
    client: Client, site: Any, user: str, proxy: FaultProxy, settings: Any, refusal: str
) -> None:
    settings.RATELIMITS = {
        **settings.RATELIMITS,
        "confirm": {"user_ip": Rate(3, 900), "user": Rate(3, 900), "ip": Rate(3, 900)},
    }
    code = site.request_code(user)
    if refusal == "throttled":
        proxy.set("throttle")
    elif refusal == "paced_out":
        settings.COGNITO_QUOTA_RPS = 0.01
        settings.COGNITO_QUOTA_MAX_WAIT = 0
        pacer = cognito.pacer()
        assert pacer is not None
        pacer.queue.reserve()  # someone else took the only slot for 100 s
    else:
        settings.COGNITO_BREAKER_RESET = 60
        _open_the_breaker(proxy)
    answers = [_submit(client, user, code).status_code for _ in range(6)]  # twice the limit
    assert answers == [HTTPStatus.SERVICE_UNAVAILABLE] * 6
    settings.COGNITO_QUOTA_RPS = 20
    cognito.reset_clients()  # a fresh breaker and pacer: the service is back
    proxy.set("pass")
    done = _submit(client, user, code)
    assert done.status_code == HTTPStatus.FOUND, done.content.decode()[:1500]
    assert site.can_sign_in(user, NEW_PASSWORD)


def test_a_generous_flood_bound_still_counts_every_attempt(
    client: Client, site: Any, proxy: FaultProxy, settings: Any
) -> None:
    settings.RATELIMIT_FLOOD = {"ip": Rate(5, 60)}
    proxy.set("throttle")
    before = sample("resetsite_ratelimit_refusals_total", action="confirm", scope="flood")
    answers = [_submit(client, f"p{n}@example.com", "1").status_code for n in range(6)]
    assert answers == [HTTPStatus.SERVICE_UNAVAILABLE] * 5 + [HTTPStatus.TOO_MANY_REQUESTS]
    assert sample("resetsite_ratelimit_refusals_total", action="confirm", scope="flood") == (
        before + 1
    )
    calls = len(proxy.calls("ConfirmForgotPassword"))
    assert _submit(client, "p9@example.com", "1").status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert len(proxy.calls("ConfirmForgotPassword")) == calls  # never sent
    other = _submit(client, "p9@example.com", "1", ip="203.0.113.9")  # another address
    assert other.status_code == HTTPStatus.SERVICE_UNAVAILABLE


def test_a_person_pressing_through_an_outage_resets_soon_after_recovery(
    client: Client, site: Any, user: str, proxy: FaultProxy, settings: Any
) -> None:
    """Cognito hangs until the breaker opens (others' submissions time out), then
    recovers. One person presses every 2 s all along, more often than their own
    limit allows; none of the refusals counts, so the first press after the
    breaker's probe goes through (default breaker: 5 faults, 15 s)."""
    settings.COGNITO_READ_TIMEOUT = 0.5
    code = site.request_code(user)
    proxy.set("hang")
    others = [
        threading.Thread(
            target=_submit,
            args=(FormClient(), f"other{n}@example.com", "1", f"192.0.2.{n + 1}"),
        )
        for n in range(5)
    ]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join()
    assert cognito.guards()[1].state is State.OPEN
    outage = []
    opened = time.monotonic()
    while time.monotonic() - opened < 12:  # six presses: more than RATELIMIT_CONFIRM_USER_IP
        outage.append(_submit(client, user, code))
        time.sleep(2)
    assert len(outage) > 5
    assert {a.status_code for a in outage} == {HTTPStatus.SERVICE_UNAVAILABLE}
    assert all(NOT_ANSWERING in a.content.decode() for a in outage)
    proxy.set("pass")  # Cognito is back
    recovered = time.monotonic()
    while True:
        answer = _submit(client, user, code)
        if answer.status_code != HTTPStatus.SERVICE_UNAVAILABLE:
            break
        assert time.monotonic() - recovered < 30, "still refused 30 s after recovery"
        time.sleep(2)
    assert answer.status_code == HTTPStatus.FOUND, answer.content.decode()[:1500]
    assert time.monotonic() - recovered < 30
    assert site.can_sign_in(user, NEW_PASSWORD)


def test_an_imported_user_resets_with_the_emailed_code_and_signs_in(
    client: Client, site: Any, proxy: FaultProxy
) -> None:
    """A user imported, or reset by an administrator (AdminResetUserPassword), is in
    RESET_REQUIRED and must reset before signing in: the site's ordinary flow."""
    username = "imported@example.com"
    site.create_user(username, OLD_PASSWORD)
    idp = site.client()
    idp.admin_reset_user_password(UserPoolId=site.user_pool_id, Username=username)
    status = idp.admin_get_user(UserPoolId=site.user_pool_id, Username=username)["UserStatus"]
    assert status == "RESET_REQUIRED"
    code = site.request_code(username)  # the email: Cognito sends such a user a code
    link = client.get("/reset/?" + urllib.parse.urlencode({"username": username, "code": code}))
    assert link.status_code == HTTPStatus.FOUND
    page = client.get("/reset/")
    assert f'value="{code}"' in page.content.decode()
    done = _submit(client, username, code)
    assert done.status_code == HTTPStatus.FOUND
    assert done["Location"] == "/reset/done/"
    (sent,) = proxy.calls("ConfirmForgotPassword")
    assert sent["Username"] == username
    # Signs in with the new password; the old one no longer works. (moto leaves the
    # status at RESET_REQUIRED, where Cognito makes it CONFIRMED.)
    assert site.can_sign_in(username, NEW_PASSWORD)
    assert not site.can_sign_in(username, OLD_PASSWORD)
