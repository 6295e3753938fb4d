"""A reset campaign: many people open the emailed link at once and set a new password,
each sending the form again after Retry-After, as the page does by itself.

It reports how long each person took (first press to the done page), every answer's
status, and the calls a second that Cognito saw. tests/test_campaign.py drives it
against moto behind a quota-enforcing proxy; standalone (a `make bench` scenario) it
starts its own Cognito stand-in with a 30/s quota (latency_stub.py), a redis-server
and gunicorn instances, and prints JSON:

    python scripts/campaign.py --people 240 --instances 2 --quota 30 --share 20
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from tests.servers import Browser  # noqa: E402 - after the path

PASSWORD = "Campaign-Horse-Battery-42"


@dataclass
class Person:
    username: str
    code: str
    address: str  # a loopback address of its own: its own per-IP limits, as in life
    seconds: float | None = None  # first press to the done page
    presses: int = 0
    answers: list[tuple[int, bool]] = field(default_factory=list)  # (status, Retry-After?)


def addresses(count: int) -> list[str]:
    return [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(count)]


def reset(person: Person, base: str, give_up: float) -> None:
    """One person: the link, the form, then presses until done (or ``give_up``)."""
    browser = Browser(base, person.address, timeout=60)
    link = {"username": person.username, "code": person.code}
    try:
        browser.get("/reset/?" + urlencode(link))
        form = {"csrfmiddlewaretoken": browser.csrf_token(browser.get("/reset/")), **link}
        form |= {"new_password1": PASSWORD, "new_password2": PASSWORD}
        started = time.monotonic()
        while time.monotonic() < give_up:
            person.presses += 1
            answer = browser.post("/reset/", form)
            retry_after = answer.headers.get("retry-after")
            person.answers.append((answer.status, retry_after is not None))
            if answer.status == 302 and answer.headers["location"].endswith("/reset/done/"):
                person.seconds = time.monotonic() - started
                return
            if answer.status != 503 or retry_after is None:
                return  # a real answer: the page would show it and stop
            time.sleep(int(retry_after))
    except (OSError, AssertionError):  # no answer, or no form: counted as unexpected
        person.answers.append((0, False))


def run(bases: list[str], people: list[Person], spread: float = 1.0, limit: float = 120) -> None:
    """Everyone starts within ``spread`` seconds, spread over the instances in turn."""
    give_up = time.monotonic() + limit

    def start(index: int, person: Person) -> None:
        time.sleep(random.uniform(0, spread))
        reset(person, bases[index % len(bases)], give_up)

    threads = [threading.Thread(target=start, args=item) for item in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def summary(people: list[Person], share: float, per_second: list[int]) -> dict[str, Any]:
    done = sorted(p.seconds for p in people if p.seconds is not None)
    statuses = Counter(status for p in people for status, _ in p.answers)
    unexpected = [
        (p.username, status)
        for p in people
        for status, retry_after in p.answers
        if status == 0 or (status >= 500 and not (status == 503 and retry_after))
    ]
    return {
        "people": len(people),
        "finished": len(done),
        "ideal_s": round(len(people) / share, 1),
        "slowest_s": round(done[-1], 2) if done else None,
        "median_s": round(statistics.median(done), 2) if done else None,
        "p90_s": round(done[int(0.9 * (len(done) - 1))], 2) if done else None,
        "presses": sum(p.presses for p in people),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "unexpected": unexpected[:20],
        "calls_per_second": per_second,
        "max_calls_in_a_second": max(per_second, default=0),
    }


def standalone(args: argparse.Namespace) -> dict[str, Any]:
    from latency_stub import StubProcess

    from tests.redis_server import RedisServer
    from tests.servers import launch, wait_healthy

    workdir = Path(tempfile.mkdtemp(prefix="campaign-"))
    stub = StubProcess(args.latency_ms, quota_rps=args.quota).start()
    redis = RedisServer(workdir).start() if args.instances > 1 else None
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SECRET_KEY": "campaign-" + "x7Kq" * 12,
        "COGNITO_USER_POOL_ID": "us-east-1_campaign",
        "COGNITO_CLIENT_ID": "campaignclient",
        "COGNITO_CLIENT_SECRET": "campaign-secret",
        "COGNITO_ENDPOINT_URL": stub.url,
        "COGNITO_READ_POLICY": "true",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PWNED_PASSWORDS_URL": "",
        "WEB_ACCESS_LOG": "",
        "COGNITO_QUOTA_RPS": str(args.share),
        "COGNITO_QUOTA_MAX_WAIT": str(args.max_wait),
        **({"CACHE_URL": redis.url} if redis else {}),
    }
    instances = [launch(f"web{i}", workdir, env) for i in range(args.instances)]
    try:
        for instance in instances:
            wait_healthy(instance)
        people = [
            Person(f"person{i}@example.com", "123456", address)
            for i, address in enumerate(addresses(args.people))
        ]
        run([f"http://{i.address}" for i in instances], people, spread=args.spread)
        result = summary(people, args.share, stub.stats()["per_second"])
        result["throttled"] = stub.stats()["counts"].get("throttled", 0)
        return {"scenario": vars(args), **result}
    finally:
        for instance in instances:
            instance.stop()
        if redis:
            redis.stop()
        stub.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=240)
    parser.add_argument("--instances", type=int, default=2, help="more than 1: shared Redis")
    parser.add_argument("--quota", type=float, default=30, help="the stand-in's quota, per s")
    parser.add_argument("--share", type=float, default=20, help="COGNITO_QUOTA_RPS")
    parser.add_argument("--max-wait", type=float, default=10, help="COGNITO_QUOTA_MAX_WAIT")
    parser.add_argument("--latency-ms", type=float, default=80, help="the stand-in's latency")
    parser.add_argument("--spread", type=float, default=1.0, help="everyone within this, s")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = standalone(args)
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
