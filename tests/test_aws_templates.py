"""deploy/aws/: every template passes cfn-lint and checkov, and agrees with the app.

The CloudFormation templates are read as data (tests/aws_templates.py); nothing is
deployed here (tests/test_aws_smoke.py creates what moto can).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from cfnlint.api import ManualArgs, lint, lint_by_config
from django.test import Client

from accounts.clientip import client_ip, parse_networks
from tests.aws_templates import AWS_DIR, ROOT, TEMPLATES, default, load, one, resources

CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"
# Each with its reason beside it in the template (Metadata: checkov: skip).
KNOWN_EXCEPTIONS = {
    ("CKV_AWS_91", "AWS::ElasticLoadBalancingV2::LoadBalancer.LoadBalancer"),  # query = code
    ("CKV_AWS_260", "AWS::EC2::SecurityGroup.LoadBalancerSecurityGroup"),  # 80 redirects
    ("CKV_AWS_158", "AWS::Logs::LogGroup.FlowLogGroup"),  # refused packets only
}
# No calls home to the vendor's platform for guidelines (unreachable here anyway).
OFFLINE_JSON = ["--skip-download", "--output", "json"]
SECRET_NAMES = {"DJANGO_SECRET_KEY", "COGNITO_CLIENT_ID", "COGNITO_CLIENT_SECRET", "CACHE_URL"}


def _site() -> dict[str, Any]:
    return load("reset-site.yaml")


def _container() -> dict[str, Any]:
    (container,) = one(_site(), "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    result: dict[str, Any] = container
    return result


def _environment() -> dict[str, Any]:
    return {item["Name"]: item["Value"] for item in _container()["Environment"]}


def _attributes(properties: dict[str, Any], key: str) -> dict[str, Any]:
    return {item["Key"]: item["Value"] for item in properties[key]}


# --- the checkers -------------------------------------------------------------------


def test_every_template_is_checked() -> None:
    assert TEMPLATES == ["alarms.yaml", "cache.yaml", "network.yaml", "reset-site.yaml", "waf.yaml"]


@pytest.fixture(scope="module")
def lint_problems() -> dict[str, list[str]]:
    """cfn-lint over every template in one run (its rules and schemas load once)."""
    matches = lint_by_config(ManualArgs(templates=[str(AWS_DIR / name) for name in TEMPLATES]))
    problems: dict[str, list[str]] = {name: [] for name in TEMPLATES}
    for match in matches:
        problems[Path(match.filename).name].append(str(match))
    return problems


@pytest.mark.parametrize("name", TEMPLATES)
def test_cfn_lint(name: str, lint_problems: dict[str, list[str]]) -> None:
    assert not lint_problems[name], "\n".join(lint_problems[name])


def test_cfn_lint_of_the_user_pool_template_in_the_docs() -> None:
    text = (ROOT / "docs" / "cognito-setup.md").read_text(encoding="utf-8")
    (template,) = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "Resources:" in b]
    problems = lint(template)
    assert not problems, "\n".join(str(problem) for problem in problems)


@pytest.fixture(scope="module", autouse=True)
def checkov_run() -> Iterator[tuple[subprocess.Popen[bytes], IO[bytes]]]:
    """One checkov run over the folder, started before this module's first test so that
    it works while the others run (it spends seconds importing itself)."""
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make checkov` (make test does)")
    with tempfile.TemporaryFile() as output:
        command = [str(CHECKOV), "--directory", str(AWS_DIR), "--framework", "cloudformation"]
        process = subprocess.Popen([*command, *OFFLINE_JSON], stdout=output, stderr=subprocess.PIPE)
        yield process, output
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture
def checkov_report(
    checkov_run: tuple[subprocess.Popen[bytes], IO[bytes]],
) -> list[dict[str, Any]]:
    process, output = checkov_run
    _, errors = process.communicate(timeout=300)
    assert process.returncode in (0, 1), errors.decode()[-2000:]
    output.seek(0)
    report = json.loads(output.read())
    return report if isinstance(report, list) else [report]


# --- shutdown, health checks and connections --------------------------------------------


def test_deregistration_delay_is_the_graceful_timeout() -> None:
    site = _site()
    group = one(site, "AWS::ElasticLoadBalancingV2::TargetGroup")
    delay = _attributes(group, "TargetGroupAttributes")["deregistration_delay.timeout_seconds"]
    assert delay == {"Ref": "GracefulTimeout"}
    assert _environment()["WEB_GRACEFUL_TIMEOUT"] == {"Ref": "GracefulTimeout"}
    gunicorn = (ROOT / "gunicorn.conf.py").read_text(encoding="utf-8")
    (gunicorn_default,) = re.findall(r"WEB_GRACEFUL_TIMEOUT[\"'],\s*[\"']?(\d+)", gunicorn)
    assert default(site, "GracefulTimeout") == int(gunicorn_default)
    # ECS kills the container only after gunicorn has had its whole graceful timeout.
    assert _container()["StopTimeout"] > site["Parameters"]["GracefulTimeout"]["MaxValue"]


def test_target_group_checks_readiness_on_the_container_port() -> None:
    group = one(_site(), "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group["HealthCheckPath"] == "/readyz"
    assert group["Matcher"] == {"HttpCode": "200"}
    assert group["TargetType"] == "ip"
    (mapping,) = _container()["PortMappings"]
    assert group["Port"] == mapping["ContainerPort"] == 8000
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^EXPOSE 8000$", dockerfile, re.M)


def test_readyz_answers_the_balancers_host_header(client: Client) -> None:
    # The ALB's health checks name the task's own address as Host, never allowed.
    response = client.get("/readyz", HTTP_HOST="10.0.1.23:8000")
    assert response.status_code in (200, 503)
    assert client.get("/reset/", HTTP_HOST="10.0.1.23:8000").status_code == 400


def test_container_health_check_is_the_images() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    (healthcheck,) = re.findall(r"^HEALTHCHECK .*? CMD (\[.*\])$", dockerfile, re.M)
    assert _container()["HealthCheck"]["Command"] == ["CMD", *json.loads(healthcheck)]


def test_tasks_keep_idle_connections_longer_than_the_balancer() -> None:
    """Otherwise the ALB may send a request down a connection gunicorn is closing: a 502."""
    balancer = one(_site(), "AWS::ElasticLoadBalancingV2::LoadBalancer")
    idle = int(_attributes(balancer, "LoadBalancerAttributes")["idle_timeout.timeout_seconds"])
    assert int(_environment()["WEB_KEEPALIVE"]) > idle


def test_https_with_http_redirected_and_only_the_sites_host_forwarded() -> None:
    site = _site()
    listeners = {
        props["Port"]: props
        for props in (
            res["Properties"]
            for res in resources(site, "AWS::ElasticLoadBalancingV2::Listener").values()
        )
    }
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert "TLS13" in default(site, "SslPolicy")
    assert https["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"] == {
        "Protocol": "HTTPS",
        "Port": "443",
        "StatusCode": "HTTP_301",
    }
    rule = one(site, "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert rule["Conditions"] == [
        {"Field": "host-header", "HostHeaderConfig": {"Values": [{"Ref": "DomainName"}]}}
    ]
    assert rule["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}]
    assert _environment()["DJANGO_ALLOWED_HOSTS"] == {"Ref": "DomainName"}


# --- TRUSTED_PROXIES behind the ALB ---------------------------------------------------


def test_only_the_balancer_reaches_the_tasks() -> None:
    """What makes the VPC's CIDR a safe TRUSTED_PROXIES: no other peer can connect."""
    site = _site()
    task_group = resources(site, "AWS::EC2::SecurityGroup")["TaskSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in task_group
    ingress = [
        res["Properties"]
        for res in resources(site, "AWS::EC2::SecurityGroupIngress").values()
        if res["Properties"]["GroupId"] == {"Ref": "TaskSecurityGroup"}
    ]
    assert ingress == [
        {
            "GroupId": {"Ref": "TaskSecurityGroup"},
            "IpProtocol": "tcp",
            "FromPort": 8000,
            "ToPort": 8000,
            "SourceSecurityGroupId": {"Ref": "LoadBalancerSecurityGroup"},
            "Description": "The load balancer",
        }
    ]
    service = one(site, "AWS::ECS::Service")["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert service["AssignPublicIp"] == "DISABLED"
    assert _environment()["TRUSTED_PROXIES"] == {"Ref": "VpcCidr"}
    balancer = one(site, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = _attributes(balancer, "LoadBalancerAttributes")
    assert attributes["routing.http.xff_header_processing.mode"] == "append"


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # The ALB node (an address in the VPC) appends the address it saw.
        ("10.0.0.37", "198.51.100.23", "198.51.100.23"),
        # Whatever the client wrote itself stays to the left of that, unread.
        ("10.0.1.5", "10.0.0.9, 203.0.113.9, 198.51.100.23", "198.51.100.23"),
        ("10.0.1.5", "garbage, 198.51.100.23", "198.51.100.23"),
        # IPv6 clients of a dual-stack ALB, and the client's port if the ALB adds it.
        ("10.0.0.37", "2001:db8::7", "2001:db8::7"),
        ("10.0.0.37", "198.51.100.23:50123", "198.51.100.23"),
    ],
)
def test_client_address_behind_the_balancer(peer: str, forwarded_for: str, expected: str) -> None:
    trusted = parse_networks([default(load("network.yaml"), "VpcCidr")])
    assert client_ip(remote_addr=peer, forwarded_for=forwarded_for, trusted=trusted) == expected


# --- the container, its secrets and its identities -------------------------------------


def test_secrets_come_from_secrets_manager_and_nothing_secret_is_plain() -> None:
    container = _container()
    secrets = {item["Name"]: item["ValueFrom"] for item in container["Secrets"]}
    assert set(secrets) == SECRET_NAMES
    assert secrets["COGNITO_CLIENT_ID"] == {"Fn::Sub": "${ClientSecretArn}:client_id::"}
    assert secrets["COGNITO_CLIENT_SECRET"] == {"Fn::Sub": "${ClientSecretArn}:client_secret::"}
    assert not SECRET_NAMES & set(_environment())
    assert not any("SECRET" in name for name in _environment())
    # Every variable is one the site reads (docs/configuration.md lists them all).
    documented = set(
        re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", (ROOT / "docs/configuration.md").read_text(), re.M)
    )
    assert set(_environment()) | set(secrets) <= documented


def test_container_is_locked_down() -> None:
    container = _container()
    assert container["User"] == "10001:10001"
    assert container["ReadonlyRootFilesystem"] is True
    assert container["LinuxParameters"]["Capabilities"]["Drop"] == ["ALL"]
    # Writable by 10001: tmpfs is 1777 (a Fargate bind mount would be root's 0755).
    (tmpfs,) = container["LinuxParameters"]["Tmpfs"]
    assert tmpfs["ContainerPath"] == "/tmp"
    assert not [option for option in tmpfs["MountOptions"] if option.startswith("mode=")]
    assert "MountPoints" not in container
    assert _environment()["WEB_TMP_DIR"] == "/tmp"
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for policy in role["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    ]


def test_task_role_may_only_describe_the_user_pool() -> None:
    roles = resources(_site(), "AWS::IAM::Role")
    (statement,) = _statements(roles["TaskRole"])
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "cognito-idp:DescribeUserPool"
    arn, variables = statement["Resource"]["Fn::Sub"]
    assert arn.endswith(":userpool/${UserPoolId}")
    assert variables == {
        "PoolRegion": {"Fn::Select": [0, {"Fn::Split": ["_", {"Ref": "UserPoolId"}]}]}
    }
    for role in roles.values():
        (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        }


def test_execution_role_reads_exactly_the_sites_secrets() -> None:
    statements = {
        s["Sid"]: s for s in _statements(resources(_site(), "AWS::IAM::Role")["ExecutionRole"])
    }
    wanted = [{"Ref": "DjangoSecretKey"}, {"Ref": "ClientSecretArn"}, {"Ref": "CacheUrlSecretArn"}]
    assert statements["ReadTheSecrets"]["Resource"] == wanted
    decrypt = statements["DecryptTheSecrets"]["Condition"]["StringEquals"]
    assert decrypt["kms:EncryptionContext:SecretARN"] == wanted
    assert "kms:ViaService" in decrypt
    # The one wildcard: ECR's login names no resource.
    wildcards = [s["Sid"] for s in statements.values() if s["Resource"] == "*"]
    assert wildcards == ["EcrLogin"]
    assert statements["EcrLogin"]["Action"] == "ecr:GetAuthorizationToken"


def test_cache_url_is_tls_with_the_auth_token() -> None:
    cache = load("cache.yaml")
    group = one(cache, "AWS::ElastiCache::ReplicationGroup")
    assert group["TransitEncryptionEnabled"] is True
    assert group["AtRestEncryptionEnabled"] is True
    token = "{{resolve:secretsmanager:${AuthToken}:SecretString:token}}"
    assert group["AuthToken"] == {"Fn::Sub": token}
    url = resources(cache, "AWS::SecretsManager::Secret")["CacheUrl"]["Properties"]["SecretString"]
    assert url == {
        "Fn::Sub": f"rediss://:{token}@${{Cache.PrimaryEndPoint.Address}}:${{Cache.PrimaryEndPoint.Port}}/0"
    }


def test_stacks_fit_together() -> None:
    """Each stack's outputs are the next one's parameters; imports name real exports."""
    site, network, cache = _site(), load("network.yaml"), load("cache.yaml")
    network_inputs = {"VpcId", "VpcCidr", "PublicSubnetIds", "PrivateSubnetIds"}
    assert network_inputs <= set(network["Outputs"]) & set(site["Parameters"])
    assert {"VpcId", "PrivateSubnetIds"} <= set(cache["Parameters"])
    assert set(cache["Outputs"]) == {"CacheUrlSecretArn", "ClientSecurityGroupId"}
    assert {"CacheUrlSecretArn", "CacheClientSecurityGroupId"} <= set(site["Parameters"])
    exports = {
        output["Export"]["Name"]["Fn::Sub"].replace("${AWS::StackName}", "${SiteStackName}")
        for output in site["Outputs"].values()
        if "Export" in output
    }
    for name in ("alarms.yaml", "waf.yaml"):
        imports = re.findall(r'"Fn::ImportValue": \{"Fn::Sub": "([^"]+)"\}', json.dumps(load(name)))
        assert imports
        assert set(imports) <= exports, name


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_deploy_guide_links_resolve() -> None:
    docs = ROOT / "docs"
    text = (docs / "deploy-aws.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert len(links) > 10
    for link in links:
        if link.startswith("https://"):
            continue
        target, _, anchor = link.partition("#")
        path = (docs / target) if target else docs / "deploy-aws.md"
        assert path.exists(), link
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)
            assert anchor in {_slug(h) for h in headings}, link
    for name in TEMPLATES:
        assert f"deploy/aws/{name}" in text


def test_deploy_guide_reads_outputs_that_exist() -> None:
    text = (ROOT / "docs" / "deploy-aws.md").read_text(encoding="utf-8")
    stacks = dict(
        re.findall(r"--stack-name (reset-\w+)[\s\\]+--template-file deploy/aws/(\S+)", text)
    )
    assert sorted(stacks.values()) == TEMPLATES
    reads = re.findall(r"\bout (reset-\w+) (\w+)", text)
    assert len(reads) > 10
    for stack, output in reads:
        assert output in load(stacks[stack])["Outputs"], (stack, output)
    for output in re.findall(r"\(output\s+`(\w+)`\)", text):
        assert output in load("reset-site.yaml")["Outputs"], output
    # Every Parameter=value it passes is a parameter of one of the templates.
    parameters = {name for t in TEMPLATES for name in load(t)["Parameters"]}
    passed = set(re.findall(r"\b([A-Z][a-z]+[A-Za-z]*)=", text)) - {"Name", "Value", "OutputKey"}
    assert len(passed) > 10
    assert passed <= parameters, passed - parameters


# Last, so that checkov has worked while the tests above ran.
def test_checkov_finds_nothing_but_the_known_exceptions(
    checkov_report: list[dict[str, Any]],
) -> None:
    results = [report["results"] for report in checkov_report]
    failed = [
        (c["check_id"], c["resource"], c["file_path"]) for r in results for c in r["failed_checks"]
    ]
    assert not failed
    skipped = {(c["check_id"], c["resource"]) for r in results for c in r["skipped_checks"]}
    assert skipped == KNOWN_EXCEPTIONS
    assert all(
        c["check_result"].get("suppress_comment") for r in results for c in r["skipped_checks"]
    )
    files = {Path(c["file_path"]).name for r in results for c in r["passed_checks"]}
    assert files == set(TEMPLATES)
