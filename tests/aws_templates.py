"""The CloudFormation templates in deploy/aws/ as plain data, and a copy moto can create.

Templates are read with cfn-lint's own YAML decoder, so short forms (!Ref, !Sub, ...)
arrive in their long form ({"Ref": ...}, {"Fn::Sub": ...}) as CloudFormation sees them.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parent.parent
AWS_DIR = ROOT / "deploy" / "aws"
TEMPLATES = sorted(path.name for path in AWS_DIR.glob("*.yaml"))

# Attributes moto's CloudFormation does not return (it logs and leaves them out).
MOTO_MISSING_ATTRIBUTES = {"LoadBalancerFullName", "TargetGroupFullName", "CanonicalHostedZoneID"}


def load(name: str) -> dict[str, Any]:
    template, problems = decode_str((AWS_DIR / name).read_text(encoding="utf-8"))
    assert not problems, f"{name}: {problems}"
    plain: dict[str, Any] = json.loads(json.dumps(template))
    return plain


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def one(template: dict[str, Any], kind: str) -> dict[str, Any]:
    found = resources(template, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    (resource,) = found.values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def default(template: dict[str, Any], parameter: str) -> Any:
    return template["Parameters"][parameter]["Default"]


# --- what moto can create --------------------------------------------------------


def _cidr(args: list[Any], parameters: dict[str, Any]) -> list[str]:
    """Fn::Cidr, which moto lacks, computed as CloudFormation does."""
    block, count, host_bits = args
    if isinstance(block, dict):
        block = parameters[block["Ref"]]
    network = ipaddress.ip_network(block)
    subnets = network.subnets(new_prefix=network.max_prefixlen - int(host_bits))
    return [str(subnet) for _, subnet in zip(range(int(count)), subnets, strict=False)]


def _rewrite(node: Any, dropped: set[str], parameters: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, dropped, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in dropped:
        return f"placeholder-{node['Ref']}"
    if set(node) == {"Fn::GetAtt"}:
        name, attribute = node["Fn::GetAtt"]
        if name in dropped or attribute in MOTO_MISSING_ATTRIBUTES:
            return f"placeholder-{name}-{attribute}"
    if set(node) == {"Fn::Cidr"}:
        return _cidr(node["Fn::Cidr"], parameters)
    if set(node) == {"Fn::Sub"}:
        value = node["Fn::Sub"]
        text = value if isinstance(value, str) else value[0]
        text = re.sub(
            r"\$\{(\w+)(\.\w+)?\}",
            lambda m: f"placeholder-{m[1]}" if m[1] in dropped else m[0],
            text,
        )
        text = re.sub(r"\{\{resolve:[^}]*\}\}", "resolved-by-cloudformation", text)
        if isinstance(value, str):
            return {"Fn::Sub": text}
        return {"Fn::Sub": [text, _rewrite(value[1], dropped, parameters)]}
    return {key: _rewrite(value, dropped, parameters) for key, value in node.items()}


def for_moto(name: str, parameters: dict[str, str], supported: set[str]) -> tuple[str, set[str]]:
    """The template less the resource types moto cannot create, references to them
    replaced by placeholders; and the names of those left out."""
    template = load(name)
    dropped = {n for n, res in template["Resources"].items() if res["Type"] not in supported}
    for gone in dropped:
        del template["Resources"][gone]
    for res in template["Resources"].values():
        if "DependsOn" in res:
            needs = [res["DependsOn"]] if isinstance(res["DependsOn"], str) else res["DependsOn"]
            res["DependsOn"] = [need for need in needs if need not in dropped]
    known = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
    template = _rewrite(template, dropped, {**known, **parameters})
    return json.dumps(template), dropped
