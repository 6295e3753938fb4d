"""deploy/aws/alarms.yaml counts the lines the site really logs; waf.yaml limits its POSTs.

The log lines come from the site's own code and formatter (accounts.flows,
accounts.cognito, the gunicorn access logger), and each metric filter's pattern is
evaluated on them as CloudWatch Logs would (tests/cwl_filter.py).
"""

from __future__ import annotations

import datetime
import functools
import io
import logging
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.urls import resolve
from gunicorn.config import Config

from accounts import cognito, flows, views
from accounts.logs import JsonFormatter, RedactFilter
from accounts.resilience import State
from resetsite.gunicorn_logging import JsonAccessLogger
from tests.aws_templates import default, load, resources
from tests.cwl_filter import compile_pattern, matches

Emit = Callable[[], None]


@pytest.fixture
def lines() -> Iterator[Callable[[Emit], list[str]]]:
    """Run a function; return the JSON lines the app's loggers wrote meanwhile."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactFilter())  # as the console handler in settings.LOGGING
    names = ("accounts.attempts", "accounts.cognito", "django.request")
    for name in names:
        logging.getLogger(name).addHandler(handler)

    def collect(emit: Emit) -> list[str]:
        stream.seek(0)
        stream.truncate()
        emit()
        return stream.getvalue().splitlines()

    yield collect
    for name in names:
        logging.getLogger(name).removeHandler(handler)


def _attempt(outcome: str, error_code: str | None = None) -> Emit:
    return lambda: flows.log_attempt(
        action="forgot",
        outcome=outcome,
        username="alice",
        client_ip="198.51.100.23",
        started=time.perf_counter(),
        error_code=error_code,
    )


def _access_line(status: int, path: str = "/reset/") -> str:
    config = Config()
    config.set("accesslog", "-")
    access = JsonAccessLogger(config)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.access_log.handlers = [handler]
    response = SimpleNamespace(status=f"{status} X", headers=[("X-Request-ID", "r1")], sent=9)
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "REMOTE_ADDR": "10.0.0.5"}
    access.access(response, None, environ, datetime.timedelta(milliseconds=40))
    return stream.getvalue().strip()


def _filters() -> dict[str, dict[str, Any]]:
    alarms = load("alarms.yaml")
    return {
        props["MetricTransformations"][0]["MetricName"]: props
        for props in (
            r["Properties"] for r in resources(alarms, "AWS::Logs::MetricFilter").values()
        )
    }


def _pattern(metric: str) -> str:
    pattern: str = _filters()[metric]["FilterPattern"]
    compile_pattern(pattern)  # readable as CloudWatch reads it
    return pattern


def test_server_errors_count_5xx_but_the_planned_503s() -> None:
    pattern = _pattern("ServerErrors")
    assert matches(pattern, _access_line(500))
    assert matches(pattern, _access_line(504))
    assert not matches(pattern, _access_line(503))  # busy, Cognito down, /readyz warming up
    assert not matches(pattern, _access_line(503, "/readyz"))
    assert not matches(pattern, _access_line(429))
    assert not matches(pattern, _access_line(200))


def test_error_records_count_every_error_line(lines: Callable[[Emit], list[str]]) -> None:
    pattern = _pattern("ErrorRecords")
    (error,) = lines(lambda: logging.getLogger("django.request").error("Internal Server Error"))
    assert matches(pattern, error)
    (info,) = lines(_attempt("sent"))
    assert not matches(pattern, info)
    assert not matches(pattern, _access_line(500))  # an info line; ServerErrors counts it


def test_breaker_opened_counts_openings_only(lines: Callable[[Emit], list[str]]) -> None:
    pattern = _pattern("BreakerOpened")
    transitions = [
        (State.CLOSED, State.OPEN, True),
        (State.HALF_OPEN, State.OPEN, True),  # the probe failed: still open
        (State.OPEN, State.HALF_OPEN, False),
        (State.HALF_OPEN, State.CLOSED, False),
    ]
    for old, new, counted in transitions:
        (line,) = lines(functools.partial(cognito._log_breaker, old, new, 5))
        assert matches(pattern, line) is counted, (old, new)


def test_throttled_counts_cognitos_quota_only(lines: Callable[[Emit], list[str]]) -> None:
    pattern = _pattern("Throttled")
    (throttled,) = lines(_attempt("throttled", "TooManyRequestsException"))
    assert matches(pattern, throttled)
    # The outcome the site gave it before "throttled" existed: the error code tells.
    (older,) = lines(_attempt("rate_limited", "TooManyRequestsException"))
    assert matches(pattern, older)
    for outcome, code in [
        ("rate_limited", "LimitExceededException"),
        ("busy", None),
        ("sent", None),
    ]:
        (line,) = lines(_attempt(outcome, code))
        assert not matches(pattern, line), outcome


def test_busy_counts_refusals_without_sending(lines: Callable[[Emit], list[str]]) -> None:
    pattern = _pattern("Busy")
    (busy,) = lines(_attempt("busy"))
    assert matches(pattern, busy)
    for outcome in ("throttled", "circuit_open", "rate_limited", "sent"):
        (line,) = lines(_attempt(outcome))
        assert not matches(pattern, line), outcome


def test_every_filter_has_an_alarm_that_notifies() -> None:
    alarms = load("alarms.yaml")
    filters = _filters()
    namespaces = {
        f["MetricTransformations"][0]["MetricNamespace"]["Fn::Sub"] for f in filters.values()
    }
    assert namespaces == {"ResetSite/${SiteStackName}"}
    watched = {}
    for alarm in (r["Properties"] for r in resources(alarms, "AWS::CloudWatch::Alarm").values()):
        assert alarm["AlarmActions"] == [{"Ref": "Topic"}]
        assert alarm["OKActions"] == [{"Ref": "Topic"}]
        watched[alarm["MetricName"]] = alarm["Namespace"]
    for metric in filters:
        assert watched.get(metric) == {"Fn::Sub": "ResetSite/${SiteStackName}"}, metric
        transformation = filters[metric]["MetricTransformations"][0]
        assert transformation["DefaultValue"] == 0  # quiet minutes count zero, not missing
    # What no task can log: the balancer's own 5xx, and no task passing /readyz.
    assert {"HTTPCode_ELB_5XX_Count", "HealthyHostCount"} <= set(watched)


# --- the web ACL ------------------------------------------------------------------------


def _rate_rules() -> dict[str, dict[str, Any]]:
    acl = load("waf.yaml")["Resources"]["WebAcl"]["Properties"]
    found = {}
    for rule in acl["Rules"]:
        statement = rule["Statement"].get("RateBasedStatement")
        if statement:
            method, path = statement["ScopeDownStatement"]["AndStatement"]["Statements"]
            assert method["ByteMatchStatement"]["FieldToMatch"] == {"Method": {}}
            assert method["ByteMatchStatement"]["SearchString"] == "POST"
            match = path["ByteMatchStatement"]
            assert match["FieldToMatch"] == {"UriPath": {}}
            assert match["PositionalConstraint"] == "EXACTLY"
            kinds = [t["Type"] for t in match["TextTransformations"]]
            assert kinds == ["URL_DECODE", "NORMALIZE_PATH"]
            assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
            found[match["SearchString"]] = statement
    return found


def test_waf_limits_posts_to_the_two_forms() -> None:
    rules = _rate_rules()
    assert set(rules) == {"/reset/", "/forgot/"}
    assert resolve("/reset/").func is views.reset
    assert resolve("/forgot/").func is views.forgot
    for statement in rules.values():
        assert statement["AggregateKeyType"] == "IP"  # the ALB is the first hop


@pytest.mark.parametrize(
    ("path", "action", "parameter"),
    [
        ("/reset/", "confirm", "ResetPostLimit"),
        ("/forgot/", "forgot", "ForgotPostLimit"),
    ],
)
def test_waf_blocks_only_what_the_site_already_refuses(
    path: str, action: str, parameter: str
) -> None:
    """Within WAF's window, the site itself lets an address through at most its own
    per-address limit; WAF's default must lie above that, or it blocks honest offices."""
    statement = _rate_rules()[path]
    assert statement["Limit"] == {"Ref": parameter}
    site_limit = settings.RATELIMITS[action]["ip"]
    window = statement["EvaluationWindowSec"]
    most_the_site_allows = site_limit.limit * max(1, -(-window // site_limit.period))
    assert default(load("waf.yaml"), parameter) > most_the_site_allows


def test_waf_log_never_holds_the_code() -> None:
    logging_config = load("waf.yaml")["Resources"]["Logging"]["Properties"]
    redacted = logging_config["RedactedFields"]
    assert {"QueryString": {}} in redacted  # the emailed link's ?code=
    assert {"SingleHeader": {"Name": "cookie"}} in redacted  # the session cookie
    assert logging_config["LoggingFilter"]["DefaultBehavior"] == "DROP"
