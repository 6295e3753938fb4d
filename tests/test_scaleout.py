"""Two instances behind nginx, sharing one Redis: the site scales out.

Real parts only: two production gunicorn servers configured from the
environment (same DJANGO_SECRET_KEY, CACHE_URL at one real redis-server,
TRUSTED_PROXIES=127.0.0.1/32), a real nginx balancing round-robin in front,
moto behind the fault proxy (which records what reaches Cognito). The browser
connects from 127.0.0.2, 127.0.0.3, ... so its address differs from nginx's.

Which backend served a response is read from nginx's X-Upstream header. The
Redis test kills Redis, so it comes last.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from emulator import Pool, create_pool

from tests.conftest import NEW_PASSWORD, OLD_PASSWORD
from tests.faultproxy import FaultProxy
from tests.nginx import Nginx
from tests.redis_server import RedisServer
from tests.servers import Browser, Instance, launch, wait_healthy

USER_IP_LIMIT = 3  # RATELIMIT_CONFIRM_USER_IP for these instances
USER_LIMIT = 6  # RATELIMIT_CONFIRM_USER: the ceiling across addresses
IP_LIMIT = 5  # RATELIMIT_CONFIRM_IP
WINDOW = 15 * 60


@dataclass
class Cluster:
    pool: Pool
    fault: FaultProxy
    redis: RedisServer
    instances: list[Instance]  # the two behind nginx
    fail_closed: Instance  # a third, RATELIMIT_FAIL_OPEN=false, same Redis, not balanced
    nginx: Nginx

    def backend(self, address: str) -> Instance:
        return next(i for i in [*self.instances, self.fail_closed] if i.address == address)


@pytest.fixture(scope="module")
def cluster(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("scaleout")
    pool = create_pool(moto_url, name="scale-out")
    fault = FaultProxy(moto_url).start()
    redis: RedisServer | None = None
    started: list[Instance] = []
    nginx: Nginx | None = None
    try:
        redis = RedisServer(workdir)  # fails here, clearly, if redis-server is missing
        redis.start()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            **pool.env(),
            "COGNITO_ENDPOINT_URL": fault.url,
            "DJANGO_SECRET_KEY": "scale-out-" + "Vq3rT8mZ" * 6,
            "CACHE_URL": redis.url,
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "RATELIMIT_CONFIRM_USER_IP": f"{USER_IP_LIMIT}/15m",
            "RATELIMIT_CONFIRM_USER": f"{USER_LIMIT}/15m",
            "PWNED_PASSWORDS_URL": "",
            "RATELIMIT_CONFIRM_IP": f"{IP_LIMIT}/15m",
            "COGNITO_READ_TIMEOUT": "5",
        }
        for name, extra in (
            ("a", {}),
            ("b", {}),
            ("fail-closed", {"RATELIMIT_FAIL_OPEN": "false"}),
        ):
            started.append(launch(name, workdir, {**env, **extra}))
        for instance in started:
            wait_healthy(instance)
        nginx = Nginx(workdir / "nginx", [i.address for i in started[:2]])
        nginx.start()
        yield Cluster(pool, fault, redis, started[:2], started[2], nginx)
    finally:
        if nginx is not None:
            nginx.stop()
        for instance in started:
            instance.stop()
        if redis is not None:
            redis.stop()
        fault.stop()


def _form(token: str, username: str, code: str) -> dict[str, str]:
    return {
        "csrfmiddlewaretoken": token,
        "username": username,
        "code": code,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }


def _confirm_calls(fault: FaultProxy, username: str) -> list[dict[str, Any]]:
    return [c for c in fault.calls("ConfirmForgotPassword") if c.get("Username") == username]


def _not_at_a_window_edge() -> None:
    """Rate windows are aligned to the clock: start a counting test well inside one."""
    left = math.ceil(time.time() / WINDOW) * WINDOW - time.time()
    if left < 10:
        time.sleep(left + 0.5)


def test_form_from_one_instance_is_accepted_by_the_other(cluster: Cluster) -> None:
    user = "carol@example.com"
    cluster.pool.create_user(user, OLD_PASSWORD)
    code = cluster.pool.request_code(user)
    browser = Browser(cluster.nginx.url, "127.0.0.2")

    link = browser.get("/reset/?" + urlencode({"username": user, "code": code}))
    assert link.status == HTTPStatus.FOUND
    page = browser.get("/reset/")
    assert page.status == HTTPStatus.OK
    # The other instance read the session the first one signed: the form is filled in.
    assert page.upstream != link.upstream
    assert f'value="{user}"' in page.body

    done = browser.post("/reset/", _form(browser.csrf_token(page), user, code))
    assert done.status == HTTPStatus.FOUND, done.body[:2000]
    assert urlsplit(done.headers["location"]).path == "/reset/done/"
    # The CSRF cookie and token came from one backend, and the other accepted them.
    assert done.upstream != page.upstream
    assert {page.upstream, done.upstream} == {i.address for i in cluster.instances}

    confirmation = browser.get("/reset/done/")
    assert confirmation.status == HTTPStatus.OK  # not bounced: the session says done
    assert confirmation.upstream != done.upstream

    assert cluster.pool.can_sign_in(user, NEW_PASSWORD)
    assert not cluster.pool.can_sign_in(user, OLD_PASSWORD)
    # Cognito saw the browser's address, not nginx's.
    (call,) = _confirm_calls(cluster.fault, user)
    assert call["UserContextData"]["IpAddress"] == "127.0.0.2"


def test_a_forged_forwarded_for_is_not_believed(cluster: Cluster) -> None:
    user = "dave@example.com"
    cluster.pool.create_user(user, OLD_PASSWORD)
    code = cluster.pool.request_code(user)
    browser = Browser(cluster.nginx.url, "127.0.0.5")
    page = browser.get("/reset/")
    # nginx appends the real peer: "198.51.100.7, 127.0.0.5"; only nginx is trusted.
    done = browser.post(
        "/reset/",
        _form(browser.csrf_token(page), user, code),
        **{"X-Forwarded-For": "198.51.100.7"},
    )
    assert done.status == HTTPStatus.FOUND
    (call,) = _confirm_calls(cluster.fault, user)
    assert call["UserContextData"]["IpAddress"] == "127.0.0.5"


def test_username_and_address_limit_holds_across_both_instances(cluster: Cluster) -> None:
    # The tight limit is per username and address (it was per username alone).
    user = "erin@example.com"
    cluster.pool.create_user(user, OLD_PASSWORD)
    cluster.pool.request_code(user)
    browser = Browser(cluster.nginx.url, "127.0.0.3")
    token = browser.csrf_token(browser.get("/reset/"))
    _not_at_a_window_edge()
    answers = [
        # A wrong code: Cognito refuses it (400) until our own limit steps in.
        browser.post("/reset/", _form(token, user, "moto-confirmation-code:000000"))
        for _ in range(USER_IP_LIMIT + 1)
    ]
    assert [a.status for a in answers] == [HTTPStatus.BAD_REQUEST] * USER_IP_LIMIT + [
        HTTPStatus.TOO_MANY_REQUESTS
    ]
    # The attempts alternated between the instances, so only a shared count stops the last.
    assert {a.upstream for a in answers} == {i.address for i in cluster.instances}
    assert int(answers[-1].headers["retry-after"]) > 0
    assert len(_confirm_calls(cluster.fault, user)) == USER_IP_LIMIT  # the 4th never reached it
    # The letter case of the username does not open a new count.
    again = browser.post("/reset/", _form(token, user.upper(), "moto-confirmation-code:000000"))
    assert again.status == HTTPStatus.TOO_MANY_REQUESTS
    # The same user from another address is not locked out by this one.
    other = Browser(cluster.nginx.url, "127.0.0.8")
    elsewhere = other.post(
        "/reset/",
        _form(other.csrf_token(other.get("/reset/")), user, "moto-confirmation-code:000000"),
    )
    assert elsewhere.status == HTTPStatus.BAD_REQUEST  # Cognito's answer: wrong code


def test_username_ceiling_holds_across_both_instances(cluster: Cluster) -> None:
    user = "hank@example.com"
    cluster.pool.create_user(user, OLD_PASSWORD)
    cluster.pool.request_code(user)
    _not_at_a_window_edge()
    answers = []
    for index in range(USER_LIMIT + 1):  # one guess from each of seven addresses
        browser = Browser(cluster.nginx.url, f"127.0.0.{20 + index}")
        token = browser.csrf_token(browser.get("/reset/"))
        if index % 2:  # round robin: one request more, so the guesses alternate
            browser.get("/reset/")
        answers.append(browser.post("/reset/", _form(token, user, "moto-confirmation-code:000000")))
    assert [a.status for a in answers] == [HTTPStatus.BAD_REQUEST] * USER_LIMIT + [
        HTTPStatus.TOO_MANY_REQUESTS
    ]
    assert {a.upstream for a in answers} == {i.address for i in cluster.instances}
    assert len(_confirm_calls(cluster.fault, user)) == USER_LIMIT


def test_address_limit_holds_across_both_instances(cluster: Cluster) -> None:
    browser = Browser(cluster.nginx.url, "127.0.0.4")
    token = browser.csrf_token(browser.get("/reset/"))
    _not_at_a_window_edge()
    answers = [
        browser.post("/reset/", _form(token, f"nobody{i}@example.com", "123456"))
        for i in range(IP_LIMIT + 1)
    ]
    assert all(a.status != HTTPStatus.TOO_MANY_REQUESTS for a in answers[:-1])
    assert answers[-1].status == HTTPStatus.TOO_MANY_REQUESTS
    assert {a.upstream for a in answers} == {i.address for i in cluster.instances}
    # Another address is not affected.
    other = Browser(cluster.nginx.url, "127.0.0.6")
    fresh = other.post(
        "/reset/", _form(other.csrf_token(other.get("/reset/")), "x@example.com", "1")
    )
    assert fresh.status != HTTPStatus.TOO_MANY_REQUESTS


def test_redis_down_fail_open_keeps_working_and_fail_closed_refuses(cluster: Cluster) -> None:
    """Last in this module: it kills the shared Redis."""
    user = "frank@example.com"
    cluster.pool.create_user(user, OLD_PASSWORD)
    code = cluster.pool.request_code(user)
    cluster.redis.stop()

    browser = Browser(cluster.nginx.url, "127.0.0.7")
    pages = [browser.get("/reset/") for _ in range(2)]
    assert [p.status for p in pages] == [HTTPStatus.OK, HTTPStatus.OK]
    assert {p.upstream for p in pages} == {i.address for i in cluster.instances}
    started = time.monotonic()
    done = browser.post("/reset/", _form(browser.csrf_token(pages[-1]), user, code))
    assert done.status == HTTPStatus.FOUND  # RATELIMIT_FAIL_OPEN (the default) lets it through
    assert time.monotonic() - started < 5  # a dead Redis costs little
    assert cluster.pool.can_sign_in(user, NEW_PASSWORD)
    # Both instances keep answering forms with the usual friendly page, never a 500.
    # (From a new session: this one knows the reset is done, and says so instead.)
    other = Browser(cluster.nginx.url, "127.0.0.7")
    token = other.csrf_token(other.get("/reset/"))
    wrong = [
        other.post("/reset/", _form(token, user, "moto-confirmation-code:000000")) for _ in range(2)
    ]
    assert [w.status for w in wrong] == [HTTPStatus.BAD_REQUEST] * 2
    assert all("<form" in w.body for w in wrong)
    assert {w.upstream for w in wrong} == {i.address for i in cluster.instances}
    for instance in cluster.instances:
        assert "ratelimit_cache_unavailable" in instance.log_text()

    # A fail-closed instance refuses instead, with the rate-limit page, and never asks Cognito.
    direct = Browser(f"http://{cluster.fail_closed.address}", "127.0.0.1")
    page = direct.get("/reset/")
    assert page.status == HTTPStatus.OK
    calls_before = len(cluster.fault.calls("ConfirmForgotPassword"))
    refused = direct.post("/reset/", _form(direct.csrf_token(page), "gina@example.com", "123456"))
    assert refused.status == HTTPStatus.TOO_MANY_REQUESTS
    assert int(refused.headers["retry-after"]) > 0
    assert "<form" in refused.body
    assert len(cluster.fault.calls("ConfirmForgotPassword")) == calls_before

    for instance in [*cluster.instances, cluster.fail_closed]:
        log = instance.log_text()
        assert '"status": 500' not in log
        assert "Traceback" not in log
