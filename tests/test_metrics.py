"""Prometheus metrics: who may read /metrics, what is counted, and that labels stay closed.

The site runs in one process here, so values are read from the default
registry; tests/test_metrics_gunicorn.py covers several real worker processes.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import botocore.session
import pytest
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from accounts import cognito, metrics
from accounts.clientip import parse_networks
from accounts.cognito import Kind, Outcome
from tests.conftest import NEW_PASSWORD, FormClient
from tests.faultproxy import FaultProxy

LOCAL = parse_networks(["127.0.0.1/32"])


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: Client, **extra: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics and parse it with prometheus-client's own parser."""
    response = client.get("/metrics", **extra)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/plain; version=")
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values


def value(scraped: dict[Any, float], name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


# --- who may read it -------------------------------------------------------------


def test_metrics_is_not_found_unless_allowed_ips_are_set(client: Client) -> None:
    response = client.get("/metrics")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert b"resetsite_" not in response.content


def test_metrics_is_not_found_for_an_address_outside_the_list(
    client: Client, settings: Any
) -> None:
    settings.METRICS_ALLOWED_IPS = parse_networks(["10.0.0.0/8"])
    response = client.get("/metrics")  # from 127.0.0.1
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert b"resetsite_" not in response.content


def test_metrics_for_an_allowed_address_whatever_the_host(client: Client, settings: Any) -> None:
    settings.METRICS_ALLOWED_IPS = LOCAL
    settings.SECURE_SSL_REDIRECT = True
    # Prometheus scrapes a pod by its IP, over plain HTTP: no Host check, no redirect.
    response = client.get("/metrics", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == "no-store"
    assert b"resetsite_attempts_total" in response.content
    assert client.head("/metrics").status_code == HTTPStatus.OK


def test_only_get_serves_metrics(client: Client, settings: Any) -> None:
    settings.METRICS_ALLOWED_IPS = LOCAL
    response = client.post("/metrics", {})
    assert b"resetsite_" not in response.content
    assert response.status_code == HTTPStatus.NOT_FOUND  # for any other method, not there


def test_forwarded_for_counts_only_from_a_trusted_proxy(client: Client, settings: Any) -> None:
    settings.METRICS_ALLOWED_IPS = parse_networks(["198.51.100.0/24"])
    forged = "198.51.100.7"
    response = client.get("/metrics", HTTP_X_FORWARDED_FOR=forged)
    assert response.status_code == HTTPStatus.NOT_FOUND
    settings.TRUSTED_PROXIES = LOCAL
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR=forged).status_code == HTTPStatus.OK


def test_the_proxy_address_does_not_open_metrics_to_its_clients(
    client: Client, settings: Any
) -> None:
    # The ingress is trusted and even allowed; a visitor through it is neither.
    settings.TRUSTED_PROXIES = LOCAL
    settings.METRICS_ALLOWED_IPS = LOCAL
    response = client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == HTTPStatus.NOT_FOUND


# --- the functions the code calls --------------------------------------------------


def test_breaker_state_sets_one_state_and_clears_the_others() -> None:
    name = "resetsite_cognito_breaker_state"
    metrics.breaker_state("open")
    assert [sample(name, state=s) for s in metrics.BREAKER_STATES] == [0, 1, 0]
    metrics.breaker_state("half_open")
    assert [sample(name, state=s) for s in metrics.BREAKER_STATES] == [0, 0, 1]
    metrics.breaker_state("closed")
    assert [sample(name, state=s) for s in metrics.BREAKER_STATES] == [1, 0, 0]


def test_in_flight_counts_the_block_and_recovers_from_an_error() -> None:
    name = "resetsite_cognito_in_flight"
    before = sample(name)
    with metrics.in_flight():
        assert sample(name) == before + 1
        with metrics.in_flight():
            assert sample(name) == before + 2
    assert sample(name) == before
    with pytest.raises(RuntimeError), metrics.in_flight():
        raise RuntimeError
    assert sample(name) == before


def test_breach_check_outcomes() -> None:
    name = "resetsite_breach_checks_total"
    before = {o: sample(name, outcome=o) for o in [*metrics.BREACH_OUTCOMES, "other"]}
    for outcome in ("clean", "clean", "breached", "failed", "Hunter2!"):
        metrics.breach_check(outcome)
    after = {o: sample(name, outcome=o) for o in before}
    assert {o: after[o] - before[o] for o in before} == {
        "clean": 2,
        "breached": 1,
        "failed": 1,
        "other": 1,
    }


def test_values_outside_the_closed_sets_become_other() -> None:
    # Earlier tests raise the same process-wide counters: count this test's own steps.
    counters = [
        ("resetsite_attempts_total", {"action": "confirm", "outcome": "other"}),
        ("resetsite_attempts_total", {"action": "other", "outcome": "success"}),
        (
            "resetsite_cognito_errors_total",
            {"operation": "ConfirmForgotPassword", "error_code": "other"},
        ),
        ("resetsite_cognito_request_duration_seconds_count", {"operation": "other"}),
        ("resetsite_ratelimit_refusals_total", {"action": "forgot", "scope": "other"}),
    ]
    before = [sample(name, **labels) for name, labels in counters]
    metrics.attempt("confirm", "alice@example.com")
    metrics.attempt("198.51.100.7", "success")
    metrics.observe_call("ConfirmForgotPassword", 0.1, "moto-confirmation-code:123456")
    metrics.observe_call("AdminDeleteUser", 0.1)
    metrics.ratelimit_refused("forgot", "alice@example.com")
    after = [sample(name, **labels) for name, labels in counters]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1, 1]
    text = metrics.exposition().decode()
    for raw in ("alice@example.com", "198.51.100.7", "moto-confirmation-code", "AdminDeleteUser"):
        assert raw not in text


def test_closed_sets_cover_everything_the_code_reports(settings: Any) -> None:
    assert {k.value for k in Kind} | {"success", "invalid_input"} <= metrics.OUTCOMES
    assert {o.value for o in Outcome} <= metrics.OUTCOMES
    assert set(settings.RATELIMITS) == metrics.ACTIONS
    scopes = {scope for limits in settings.RATELIMITS.values() for scope in limits}
    assert scopes | {"flood"} == metrics.RATELIMIT_SCOPES
    model = botocore.session.get_session().get_service_model("cognito-idp")
    listed = {
        error.name
        for operation in metrics.OPERATIONS
        for error in model.operation_model(operation).error_shapes
    }
    transport = {e.__name__ for e in (*cognito._NOT_SENT, *cognito._UNKNOWN_OUTCOME)}
    tables = set(cognito.CONFIRM_ERRORS) | set(cognito.FORGOT_ERRORS)
    assert listed | transport | tables <= metrics.ERROR_CODES


# --- what a real request path counts (over HTTP to moto) --------------------------


def _closed_labels(scraped: dict[Any, float]) -> None:
    """Every label value of ours comes from its closed set: no name, address or code."""
    allowed = {
        "action": metrics.ACTIONS,
        "outcome": metrics.OUTCOMES | metrics.BREACH_OUTCOMES,
        "operation": metrics.OPERATIONS,
        "error_code": metrics.ERROR_CODES,
        "scope": metrics.RATELIMIT_SCOPES,
        "state": frozenset(metrics.BREAKER_STATES),
        "reason": metrics.BUSY_REASONS,
    }
    for name, labels in scraped:
        if not name.startswith("resetsite_"):
            continue
        for key, label in labels:
            if key != "le":
                assert label in allowed[key] | {metrics.OTHER}, (name, key, label)


@pytest.mark.e2e
def test_attempts_calls_and_errors_are_counted(
    client: FormClient, site: Any, user: str, settings: Any
) -> None:
    settings.METRICS_ALLOWED_IPS = LOCAL
    before = scrape(client)
    code = site.request_code(user)
    form = {"username": user, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    wrong = client.post("/reset/", {**form, "code": "moto-confirmation-code:000000"})
    assert wrong.status_code == HTTPStatus.BAD_REQUEST
    assert client.post("/reset/", {**form, "code": code}).status_code == HTTPStatus.FOUND
    assert client.post("/forgot/", {"username": user}).status_code == HTTPStatus.FOUND
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    attempts = "resetsite_attempts_total"
    assert delta(attempts, action="confirm", outcome="code_invalid") == 1
    assert delta(attempts, action="confirm", outcome="success") == 1
    assert delta(attempts, action="forgot", outcome="sent") == 1
    calls = "resetsite_cognito_request_duration_seconds_count"
    assert delta(calls, operation="ConfirmForgotPassword") == 2
    assert delta(calls, operation="ForgotPassword") == 1
    # moto answers a wrong code with ExpiredCodeException (Cognito: CodeMismatchException).
    errors = "resetsite_cognito_errors_total"
    assert delta(errors, operation="ConfirmForgotPassword", error_code="ExpiredCodeException") == 1
    seconds = "resetsite_cognito_request_duration_seconds_sum"
    assert 0 < delta(seconds, operation="ConfirmForgotPassword") < 5

    _closed_labels(after)
    text = client.get("/metrics").content.decode()
    for secret in (user, code, NEW_PASSWORD, site.client_secret, "127.0.0.1"):
        assert secret not in text


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("mode", "error_code", "calls"),
    [
        ("throttle", "TooManyRequestsException", 2),  # retried once
        ("unknown_error", "other", 1),  # a code outside the set: no new label value
        ("reset", "ConnectionClosedError", 1),
    ],
)
def test_cognito_failures_are_counted_by_code(
    client: FormClient,
    site: Any,
    user: str,
    proxy: FaultProxy,
    settings: Any,
    mode: str,
    error_code: str,
    calls: int,
) -> None:
    settings.METRICS_ALLOWED_IPS = LOCAL
    client.get("/reset/")  # the policy is read before the fault
    before = scrape(client)
    proxy.set(mode)
    client.post(
        "/reset/",
        {
            "username": user,
            "code": "123456",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    proxy.set("pass")
    after = scrape(client)
    name, labels = "resetsite_cognito_errors_total", {"operation": "ConfirmForgotPassword"}
    assert (
        value(after, name, **labels, error_code=error_code)
        - value(before, name, **labels, error_code=error_code)
        == calls
    )
    _closed_labels(after)
    assert "SomethingNewException" not in client.get("/metrics").content.decode()


@pytest.mark.e2e
def test_our_rate_limit_refusals_are_counted_by_limit(
    client: FormClient, site: Any, user: str, proxy: FaultProxy, settings: Any
) -> None:
    from accounts.rates import Rate

    settings.METRICS_ALLOWED_IPS = LOCAL
    settings.RATELIMITS = {
        **settings.RATELIMITS,
        "forgot": {"user": Rate.parse("1/h"), "ip": Rate.parse("100/h")},
    }
    before = scrape(client)
    for _ in range(3):
        client.post("/forgot/", {"username": user})
    after = scrape(client)
    name = "resetsite_ratelimit_refusals_total"
    labels = {"action": "forgot", "scope": "user"}
    assert value(after, name, **labels) - value(before, name, **labels) == 2
    assert value(after, name, action="forgot", scope="ip") == value(
        before, name, action="forgot", scope="ip"
    )
    attempts = {"action": "forgot", "outcome": "rate_limited"}
    assert (
        value(after, "resetsite_attempts_total", **attempts)
        - value(before, "resetsite_attempts_total", **attempts)
        == 2
    )
    assert len(proxy.calls("ForgotPassword")) == 1


# --- a metric never fails a request ------------------------------------------------


class Broken:
    def labels(self, *args: Any) -> Any:
        raise OSError("no space left on device")

    def inc(self, amount: float = 1) -> None:
        raise OSError("no space left on device")


@pytest.mark.e2e
def test_a_failing_metric_does_not_fail_the_request(
    client: FormClient,
    site: Any,
    user: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in ("ATTEMPTS", "COGNITO_SECONDS", "COGNITO_ERRORS", "IN_FLIGHT"):
        monkeypatch.setattr(metrics, name, Broken())
    code = site.request_code(user)
    form = {"username": user, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    with caplog.at_level("ERROR", logger="accounts.metrics"):
        assert client.post("/reset/", {**form, "code": code}).status_code == HTTPStatus.FOUND
    assert site.can_sign_in(user, NEW_PASSWORD)
    failed = {r.metric for r in caplog.records if r.getMessage() == "metrics_failed"}  # type: ignore[attr-defined]
    assert failed == {"attempt", "observe_call", "_in_flight_add"}


def test_metrics_that_cannot_be_read_answer_503_not_500(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.METRICS_ALLOWED_IPS = LOCAL

    def damaged() -> bytes:
        raise ValueError("a damaged file")

    monkeypatch.setattr(metrics, "exposition", damaged)
    response = client.get("/metrics")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
