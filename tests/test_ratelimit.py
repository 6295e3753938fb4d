"""Our own rate limits: per IP and per username, in Django's cache, Redis included."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from accounts import ratelimit
from accounts.clientip import parse_networks
from accounts.rates import Rate, normalize_username
from tests.conftest import NEW_PASSWORD, FormClient
from tests.faultproxy import FaultProxy
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows are aligned to the clock: pin it mid-window so no test straddles two."""
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_000.0 + 450)


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("5/15m", Rate(5, 900)),
        ("30/m", Rate(30, 60)),
        ("3/h", Rate(3, 3600)),
        ("10/1h", Rate(10, 3600)),
        ("1/2d", Rate(1, 172800)),
        (" 7 / 30s ", Rate(7, 30)),
    ],
)
def test_rate_parse(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "5", "0/m", "5/0m", "5/15x", "-1/m", "a/m"])
def test_rate_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        Rate.parse(text)


def test_username_normalisation() -> None:
    assert normalize_username("  Alice@Example.COM ") == normalize_username("alice@example.com")


def test_hit_counts_to_the_limit_then_says_how_long() -> None:
    rate = Rate(3, 60)
    assert [ratelimit.hit("t", "k", rate) for _ in range(3)] == [None, None, None]
    wait = ratelimit.hit("t", "k", rate)
    assert wait is not None
    assert 1 <= wait <= 60
    assert ratelimit.hit("t", "other", rate) is None  # keys are independent


def _post(client: Client, username: str, ip: str = "203.0.113.5", **extra: str) -> Any:
    return client.post(
        "/reset/",
        {
            "username": username,
            "code": "moto-confirmation-code:000000",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            **extra,
        },
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR=ip,
    )


@pytest.fixture
def behind_proxy(settings: Any, site: Any) -> Any:
    settings.TRUSTED_PROXIES = parse_networks(["127.0.0.1"])
    return site


def test_confirm_limit_per_username_and_ip_ignores_case(
    client: Client, behind_proxy: Any, proxy: FaultProxy, user: str
) -> None:
    # The tight limit is per username *and* IP (it used to be per username from
    # anywhere, which let strangers lock a user out): five from one address.
    variants = [
        "alice@example.com",
        "ALICE@example.com",
        " Alice@Example.com",
        "alice@EXAMPLE.com",
        "aLiCe@example.com",
    ]
    for name in variants:
        assert _post(client, name, ip="198.51.100.1").status_code == HTTPStatus.BAD_REQUEST
    blocked = _post(client, "ALICE@EXAMPLE.COM", ip="198.51.100.1")
    assert blocked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 1 <= int(blocked["Retry-After"]) <= 900
    assert len(proxy.calls("ConfirmForgotPassword")) == 5  # the sixth never reached Cognito
    html = blocked.content.decode()
    assert 'value="moto-confirmation-code:000000"' in html  # kept
    assert 'value="ALICE@EXAMPLE.COM"' in html
    assert "Try again in" in html
    assert NEW_PASSWORD not in html


def test_confirm_limit_per_ip(
    client: Client, behind_proxy: Any, proxy: FaultProxy, settings: Any
) -> None:
    settings.RATELIMITS = {
        **settings.RATELIMITS,
        "confirm": {"user_ip": Rate(100, 900), "user": Rate(100, 900), "ip": Rate(4, 900)},
    }
    for index in range(4):
        assert _post(client, f"user{index}").status_code == HTTPStatus.BAD_REQUEST
    assert _post(client, "user9").status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert _post(client, "user9", ip="203.0.113.6").status_code == HTTPStatus.BAD_REQUEST
    assert len(proxy.calls("ConfirmForgotPassword")) == 5


def test_a_stranger_cannot_lock_the_user_out(
    client: Client, behind_proxy: Any, proxy: FaultProxy, user: str, site: Any
) -> None:
    """30 wrong codes from one address: refused from the 6th on; the user, elsewhere, resets."""
    code = site.request_code(user)
    attacker = [_post(client, user, ip="203.0.113.66").status_code for _ in range(30)]
    assert attacker[:5] == [HTTPStatus.BAD_REQUEST] * 5
    assert attacker[5:] == [HTTPStatus.TOO_MANY_REQUESTS] * 25
    assert len(proxy.calls("ConfirmForgotPassword")) == 5

    victim = FormClient()
    done = _post(victim, user, ip="198.51.100.23", code=code)
    assert done.status_code == HTTPStatus.FOUND, done.content.decode()[:2000]
    assert done["Location"] == "/reset/done/"
    assert site.can_sign_in(user, NEW_PASSWORD)


def test_guesses_from_many_addresses_stop_at_the_username_ceiling(
    client: Client, behind_proxy: Any, proxy: FaultProxy, user: str
) -> None:
    """One guess from each of 40 addresses: the per-username ceiling (20) still holds."""
    names = [user, user.upper(), f" {user.title()}"]
    answers = [_post(client, names[i % 3], ip=f"198.51.100.{i + 1}").status_code for i in range(40)]
    assert answers == [HTTPStatus.BAD_REQUEST] * 20 + [HTTPStatus.TOO_MANY_REQUESTS] * 20
    assert len(proxy.calls("ConfirmForgotPassword")) == 20
    # Another username is not affected by this one's ceiling.
    assert _post(client, "bob@example.com", ip="198.51.100.99").status_code == 400


def test_refused_attempts_do_not_count_toward_the_ceiling(settings: Any) -> None:
    settings.RATELIMITS = {
        **settings.RATELIMITS,
        "confirm": {"user_ip": Rate(2, 900), "user": Rate(3, 900), "ip": Rate(100, 900)},
    }
    one_ip = [ratelimit.check("confirm", username="u", client_ip="192.0.2.1") for _ in range(10)]
    assert [wait is None for wait in one_ip] == [True, True] + [False] * 8
    assert ratelimit.check("confirm", username="u", client_ip="192.0.2.2") is None  # 3rd of 3
    assert ratelimit.check("confirm", username="u", client_ip="192.0.2.3") is not None


def test_forged_forwarded_for_does_not_dodge_the_ip_limit(
    client: Client, site: Any, proxy: FaultProxy, settings: Any
) -> None:
    # No TRUSTED_PROXIES: each request claims another IP, all count against the peer.
    settings.RATELIMITS = {
        **settings.RATELIMITS,
        "confirm": {"user": Rate(100, 900), "ip": Rate(3, 900)},
    }
    codes = [_post(client, f"u{i}", ip=f"192.0.2.{i}").status_code for i in range(4)]
    assert codes == [400, 400, 400, 429]


def test_forgot_limits(client: Client, behind_proxy: Any, proxy: FaultProxy) -> None:
    def ask(name: str, ip: str) -> Any:
        return client.post(
            "/forgot/", {"username": name}, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=ip
        )

    assert [ask("Bob", f"198.51.100.{i}").status_code for i in range(3)] == [302] * 3
    over = ask("bob", "198.51.100.50")
    assert over.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(over["Retry-After"]) > 0
    assert 'value="bob"' in over.content.decode()
    assert len(proxy.calls("ForgotPassword")) == 3
    # Per IP: 10 an hour from one address, whatever the usernames.
    statuses = [ask(f"user{i}", "198.51.100.200").status_code for i in range(11)]
    assert statuses == [302] * 10 + [429]


def test_limits_are_exact_under_concurrent_threads() -> None:
    rate = Rate(20, 60)
    results: list[int | None] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            outcome = ratelimit.hit("threads", "same-key", rate)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(None) == 20


# --- Redis ------------------------------------------------------------------------


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def redis_cache(settings: Any, redis: RedisServer) -> RedisServer:
    settings.CACHES = {
        **settings.CACHES,
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    settings.RATELIMIT_CACHE = "shared"
    return redis


def test_redis_counters_are_exact_across_threads(redis_cache: RedisServer) -> None:
    test_limits_are_exact_under_concurrent_threads()
    assert any(key.startswith(b":1:rl:threads") for key in _redis_keys(redis_cache))


def _redis_keys(redis: RedisServer) -> list[Any]:
    import redis as redis_client

    return list(redis_client.Redis.from_url(redis.url).keys("*"))


HIT_SCRIPT = """
import os, sys
os.environ["CACHE_URL"] = sys.argv[1]
import django
django.setup()
from accounts import ratelimit
from accounts.rates import Rate
allowed = sum(ratelimit.hit("procs", "k", Rate(25, 86400)) is None for _ in range(20))
print(allowed)
"""


def test_redis_counters_are_shared_across_processes(redis: RedisServer) -> None:
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HIT_SCRIPT, redis.url],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    allowed = [int(p.communicate(timeout=60)[0].strip()) for p in procs]
    assert sum(allowed) == 25  # 60 attempts across 3 processes, one shared limit


@pytest.mark.parametrize(
    ("fail_open", "status"), [(True, HTTPStatus.BAD_REQUEST), (False, HTTPStatus.TOO_MANY_REQUESTS)]
)
def test_redis_down_fails_open_or_closed_never_500(
    client: Client,
    behind_proxy: Any,
    redis_cache: RedisServer,
    settings: Any,
    fail_open: bool,
    status: int,
) -> None:
    settings.RATELIMIT_FAIL_OPEN = fail_open
    assert _post(client, "carol").status_code == HTTPStatus.BAD_REQUEST
    redis_cache.stop()
    caches["shared"].close()
    response = _post(client, "carol")
    assert response.status_code == status
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        assert int(response["Retry-After"]) > 0


def test_a_flood_of_other_keys_cannot_evict_a_counter(settings: Any) -> None:
    """With the default in-process cache, a flood that fills it (and makes it cull its
    least recently used third) must not lift a username's limit: the counter in use is
    touched at each guess, and evicting it would take two thirds of MAX_ENTRIES new keys
    between two guesses."""
    cache = caches["default"]
    entries = settings.CACHES["default"]["OPTIONS"]["MAX_ENTRIES"]
    assert entries >= 100_000
    rate = Rate(5, 900)
    first = ratelimit._cache_key("confirm:user", "decoy-0-0", int(ratelimit._now() // 900))
    guesses, decoys = 20, 5_500  # 110,000 keys in all: more than the cache holds
    outcomes = []
    for guess in range(guesses):
        outcomes.append(ratelimit.hit("confirm:user", "victim", rate))
        for other in range(decoys):  # an attacker's decoys between guesses
            ratelimit.hit("confirm:user", f"decoy-{guess}-{other}", rate)
    assert not cache.has_key(first)  # the cache was full, and culled
    assert outcomes.count(None) == 5
