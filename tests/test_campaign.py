"""A reset campaign against Cognito's account-wide quota, with real servers.

A few hundred people open the emailed link at once and set a new password, each
sending again after Retry-After, as the page does (scripts/campaign.py drives
them). Cognito is moto behind scripts/latency_stub.py in a process of its own,
which enforces a token-bucket quota of 30 calls a second, burst 30, answers after
80 ms and counts the calls of each second where Cognito would. The site is production
gunicorn: two instances sharing one real redis-server, then one alone on its own
in-memory cache. Both pace to the default share, COGNITO_QUOTA_RPS=20.

Generous bounds, as the machine is shared: nobody throttled, no second over the
quota, everyone done, the sampled people sign in with their new password, and no
5xx but a 503 with Retry-After.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from campaign import PASSWORD, Person, addresses, run, summary
from emulator import Pool, create_pool
from latency_stub import StubProcess

from tests.conftest import OLD_PASSWORD
from tests.redis_server import RedisServer
from tests.servers import Instance, launch, wait_healthy

QUOTA = 30  # Cognito's, per account and region
SHARE = 20  # COGNITO_QUOTA_RPS's default


@dataclass
class Cognito:
    pool: Pool
    stub: StubProcess
    workdir: Path

    def people(self, prefix: str, count: int) -> list[Person]:
        # moto checks only codes that start with its own prefix: "123456" is good.
        found = [
            Person(f"{prefix}{n}@example.com", "123456", address)
            for n, address in enumerate(addresses(count))
        ]
        with ThreadPoolExecutor(8) as workers:
            list(workers.map(lambda p: self.pool.create_user(p.username, OLD_PASSWORD), found))
        return found


@pytest.fixture(scope="module")
def pool(moto_url: str) -> Pool:
    return create_pool(moto_url, name="campaign")


@pytest.fixture
def cognito(moto_url: str, pool: Pool, tmp_path: Path) -> Iterator[Cognito]:
    """A fresh quota (a full bucket) for each campaign."""
    with StubProcess(latency_ms=80, quota_rps=QUOTA, upstream=moto_url) as stub:
        yield Cognito(pool, stub, tmp_path)


def _instances(cognito: Cognito, names: list[str], extra: dict[str, str]) -> list[Instance]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        **cognito.pool.env(),
        "COGNITO_ENDPOINT_URL": cognito.stub.url,
        "DJANGO_SECRET_KEY": "campaign-" + "Wq4nR7xZ" * 6,
        "PWNED_PASSWORDS_URL": "",
        "WEB_ACCESS_LOG": "",
        **extra,
    }
    started = [launch(name, cognito.workdir, env) for name in names]
    for instance in started:
        wait_healthy(instance)
    return started


def _campaign(cognito: Cognito, instances: list[Instance], people: list[Person]) -> dict[str, Any]:
    started = time.monotonic()
    run([f"http://{i.address}" for i in instances], people, spread=1.0, limit=120)
    stats = cognito.stub.stats()
    result = summary(people, SHARE, stats["per_second"])
    result["throttled"] = stats["counts"].get("throttled", 0)
    result["took_s"] = round(time.monotonic() - started, 1)
    print(result)  # the figures, for the record (pytest -s)
    return result


def _check(cognito: Cognito, instances: list[Instance], people: list[Person], result: Any) -> None:
    assert result["throttled"] == 0  # nobody was throttled
    assert result["max_calls_in_a_second"] <= QUOTA, result["calls_per_second"]
    assert result["unexpected"] == []  # no 5xx but a 503 with Retry-After, every answer came
    assert result["finished"] == len(people), result
    # Generous: the ideal is len(people) / SHARE seconds; the machine is shared.
    assert result["slowest_s"] < 4 * result["ideal_s"] + 10, result
    for person in people[:: max(1, len(people) // 8)]:  # a sample signs in
        assert cognito.pool.can_sign_in(person.username, PASSWORD)
        assert not cognito.pool.can_sign_in(person.username, OLD_PASSWORD)
    for instance in instances:
        log = instance.log_text()
        assert "Traceback" not in log
        assert '"level": "error"' not in log


def test_two_instances_sharing_redis_pace_a_crowd_under_the_quota(
    cognito: Cognito, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path).start()
    instances: list[Instance] = []
    try:
        instances = _instances(cognito, ["a", "b"], {"CACHE_URL": redis.url})
        people = cognito.people("two", 200)
        result = _campaign(cognito, instances, people)
        _check(cognito, instances, people, result)
        # Both instances sent, from one shared queue: the quota held for the pair.
        for instance in instances:
            assert '"outcome": "success"' in instance.log_text()
            assert "pacing_shared_unavailable" not in instance.log_text()
    finally:
        for instance in instances:
            instance.stop()
        redis.stop()


def test_one_instance_on_its_own_cache_paces_alone(cognito: Cognito) -> None:
    (instance,) = _instances(cognito, ["alone"], {})
    try:
        people = cognito.people("one", 100)
        result = _campaign(cognito, [instance], people)
        _check(cognito, [instance], people, result)
    finally:
        instance.stop()
