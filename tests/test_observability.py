"""The alert rules (run by promtool), the Grafana dashboard and their documentation.

promtool comes from Debian's prometheus package (scripts/system-deps.sh).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import Counter, Gauge, Histogram

from accounts import metrics

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "contrib/prometheus/alerts.yml"
RULE_TESTS = ROOT / "contrib/prometheus/alerts.test.yml"
DASHBOARD = ROOT / "contrib/grafana/resetsite.json"
OPERATIONS = ROOT / "docs/operations.md"
NAME = re.compile(r"\b((?:job:)?resetsite_[a-z_]+(?::[a-z0-9_]+)?)\b")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: run scripts/system-deps.sh (Debian package prometheus)"
    return path


def families() -> set[str]:
    """The metric families accounts/metrics.py defines."""
    return {
        value._name
        for value in vars(metrics).values()
        if isinstance(value, Counter | Gauge | Histogram)
    }


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def recorded() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def family_of(name: str) -> str:
    if name in recorded():
        return name
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in families():
            return name.removesuffix(suffix)
    return name


def dashboard_exprs() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    panels = list(board["panels"])
    for panel in board["panels"]:
        panels += panel.get("panels", [])  # panels inside collapsed rows
    return [
        (panel["title"], target["expr"]) for panel in panels for target in panel.get("targets", [])
    ]


def test_every_alert_rule_passes_its_promtool_unit_tests() -> None:
    check = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    result = subprocess.run(
        [promtool(), "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_each_alert_is_unit_tested_and_explained() -> None:
    alerts = [rule for rule in rules() if "alert" in rule]
    assert {a["alert"] for a in alerts} == {
        "ResetSiteCognitoBreakerOpen",
        "ResetSiteCognitoErrorRate",
        "ResetSiteCognitoThrottled",
        "ResetSiteRateLimitSurge",
        "ResetSiteBreachCheckFailing",
    }
    tested = RULE_TESTS.read_text()
    guide = OPERATIONS.read_text()
    for alert in alerts:
        assert f"alertname: {alert['alert']}" in tested
        assert f"### {alert['alert']}" in guide
        assert alert["labels"]["severity"] in ("page", "ticket")
        assert "docs/operations.md#alerts" in alert["annotations"]["description"]


def test_rules_and_dashboard_name_only_metrics_that_exist() -> None:
    defined = families()
    assert len(defined) == 9
    known = defined | recorded()
    exprs = [("rule " + r.get("alert", r.get("record", "")), r["expr"]) for r in rules()]
    exprs += dashboard_exprs()
    for where, expr in exprs:
        named = {family_of(name) for name in NAME.findall(expr)}
        assert named, f"{where}: names no metric"
        assert named <= known, f"{where}: unknown {sorted(named - known)}"


def test_the_dashboard_shows_every_metric_and_its_queries_parse(tmp_path: Path) -> None:
    exprs = dashboard_exprs()
    shown = {family_of(name) for _, expr in exprs for name in NAME.findall(expr)}
    assert families() <= shown
    # promtool parses PromQL in rule files: check each query as a recording rule.
    grafana = {"$__rate_interval": "5m", '=~"$job"': '=~".*"'}
    checked = []
    for i, (_, expr) in enumerate(exprs):
        for variable, value in grafana.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        checked.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": checked}]}))
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_labels_are_the_metrics_own() -> None:
    labels = {
        "job",
        "instance",
        "le",
        "action",
        "outcome",
        "operation",
        "error_code",
        "scope",
        "state",
        "reason",
    }
    for title, expr in dashboard_exprs():
        used = set(re.findall(r"by \(([^)]*)\)", expr))
        used = {name.strip() for group in used for name in group.split(",")}
        used |= set(re.findall(r"[{,]\s*([a-z_]+)\s*(?:=~|!=|=)", expr))
        assert used <= labels, f"{title}: {sorted(used - labels)}"


def test_operations_guide_explains_every_metric() -> None:
    guide = OPERATIONS.read_text()
    for family in families():
        assert f"`{family}" in guide, family
