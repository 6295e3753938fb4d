from __future__ import annotations

import io
import json
import logging
import socket
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.test import Client

from accounts import cognito

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from emulator import Pool, create_pool
from pwned_standin import RangeStandIn

from tests.faultproxy import FaultProxy
from tests.reach import Reach

logging.getLogger("werkzeug").setLevel(logging.ERROR)


class FormClient(Client):
    """Posts urlencoded forms, as browsers do for the site's forms."""

    def post(  # type: ignore[override]
        self,
        path: str,
        data: Any = None,
        content_type: str = "application/x-www-form-urlencoded",
        **extra: Any,
    ) -> Any:
        if isinstance(data, dict):
            data = urlencode(data, doseq=True)
        return super().post(path, data or "", content_type=content_type, **extra)


@pytest.fixture
def client() -> FormClient:
    return FormClient()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit counters must not leak from one test into the next."""
    from django.core.cache import cache

    from accounts import breach, pages

    cache.clear()
    pages.clear()  # pages rendered once: tests change templates and settings
    breach._client.cache_clear()  # and the breach check's breaker
    yield
    cache.clear()
    pages.clear()


@pytest.fixture
def reach(request: pytest.FixtureRequest) -> Reach:
    """Counts a property test's examples that reached its target (see tests/reach.py)."""
    marker = request.node.get_closest_marker("reaches")
    return Reach(*marker.args, **marker.kwargs) if marker else Reach("its target", {})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After a Hypothesis test ran: fail it unless its examples reached what it tests."""
    result = yield
    if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
        reach = getattr(item, "funcargs", {}).get("reach")
        assert isinstance(reach, Reach), (
            "a property test must show its examples reached the code under test:"
            " take the reach fixture and call reach.record() for each example"
        )
        problems = reach.shortfalls()
        assert not problems, f"{reach.summary()}: " + "; ".join(problems)
    return result


@receiver(setting_changed)
def _reset_cognito(**kwargs: Any) -> None:
    cognito.reset_clients()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    # Port 0: the server binds a port of its own choosing (a port found free and then
    # bound could be taken in between; moto's start() would then wait forever).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    server.stop()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections for the whole test: bound here, so
    that no other process can take it meanwhile (as it could a port found free), but
    never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def pool(moto_url: str) -> Pool:
    return create_pool(moto_url)


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    fault = FaultProxy(moto_url).start()
    yield fault
    fault.stop()


@pytest.fixture(scope="session")
def pwned_server() -> Iterator[RangeStandIn]:
    """The Pwned Passwords range API's stand-in, on loopback, for the whole session."""
    server = RangeStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def pwned(pwned_server: RangeStandIn) -> Iterator[RangeStandIn]:
    pwned_server.set("ok")
    pwned_server.requests.clear()
    yield pwned_server
    pwned_server.set("ok")


USERNAME = "alice@example.com"
OLD_PASSWORD = "Old-Password-1"
NEW_PASSWORD = "Fresh-Horse-Battery-42"


@pytest.fixture
def user(pool: Pool) -> str:
    pool.create_user(USERNAME, OLD_PASSWORD)
    return USERNAME


@pytest.fixture
def site(settings: Any, pool: Pool, proxy: FaultProxy, pwned: RangeStandIn) -> Pool:
    """The site configured against the demo pool, through the fault proxy, checking
    new passwords against the stand-in breach list."""
    settings.PWNED_PASSWORDS_URL = pwned.url
    return use_pool(settings, pool, proxy)


def use_pool(settings: Any, pool: Pool, proxy: FaultProxy) -> Pool:
    """Point the site at ``pool``, through the fault proxy."""
    settings.COGNITO_REGION = pool.region
    settings.COGNITO_USER_POOL_ID = pool.user_pool_id
    settings.COGNITO_CLIENT_ID = pool.client_id
    settings.COGNITO_CLIENT_SECRET = pool.client_secret
    settings.COGNITO_ENDPOINT_URL = proxy.url
    settings.COGNITO_READ_POLICY = "true"
    settings.COGNITO_READ_TIMEOUT = 1.0
    settings.COGNITO_CONNECT_TIMEOUT = 1.0
    cognito.reset_clients()
    from accounts import logs

    logs.add_static_secret(pool.client_secret)
    return pool


def body_of(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(params["body"])  # type: ignore[no-any-return]


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every record at DEBUG, botocore's and urllib3's wire lines included, as the
    production handler writes it (redacted, JSON)."""
    from accounts import logs

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RedactFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    names = ("botocore", "urllib3", "django", "accounts")
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)
    for name in names:
        logging.getLogger(name).setLevel(logging.NOTSET)
