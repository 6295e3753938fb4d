"""The stacks of deploy/aws/, created in moto's CloudFormation as far as it can.

network.yaml whole, then cache.yaml and reset-site.yaml fed its outputs, as an
operator would. moto lacks some resource types (Secrets Manager secrets, ElastiCache,
security-group egress rules, Application Auto Scaling, CloudWatch alarms, log metric
filters, WAF), so those are left out and references to them become placeholders
(tests/aws_templates.py); test_what_moto_leaves_out lists them. Of what it creates,
moto also ignores some properties (a task definition's launch type and roles, a
service's network configuration, target-group and load-balancer attributes); those
are checked on the template itself (tests/test_aws_templates.py). What moto does
model is read back here through the AWS APIs: the stacks fit together, and the
resources are wired as meant.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.cloudformation.parsing import get_model_map

from tests.aws_templates import for_moto

REGION = "eu-west-1"
SECRETS = f"arn:aws:secretsmanager:{REGION}:123456789012:secret"
SUPPORTED = set(get_model_map())


def _create(cloudformation: Any, stack: str, template: str, parameters: dict[str, str]) -> Any:
    body, _ = for_moto(template, parameters, SUPPORTED)
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    (description,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    assert description["StackStatus"] == "CREATE_COMPLETE", description.get("StackStatusReason")
    return {out["OutputKey"]: out["OutputValue"] for out in description.get("Outputs", [])}


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    saved = {k: os.environ.get(k) for k in ("AWS_DEFAULT_REGION",)}
    os.environ["AWS_DEFAULT_REGION"] = REGION
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        cloudformation = session.client("cloudformation")
        network = _create(cloudformation, "net", "network.yaml", {"NatGatewayPerZone": "true"})
        cache = _create(
            cloudformation,
            "cache",
            "cache.yaml",
            {"VpcId": network["VpcId"], "PrivateSubnetIds": network["PrivateSubnetIds"]},
        )
        certificate = session.client("acm").request_certificate(DomainName="reset.example.com")
        zone = session.client("route53").create_hosted_zone(Name="example.com", CallerReference="1")
        parameters = {
            **{k: network[k] for k in ("VpcId", "VpcCidr", "PublicSubnetIds", "PrivateSubnetIds")},
            "DomainName": "reset.example.com",
            "CertificateArn": certificate["CertificateArn"],
            "HostedZoneId": zone["HostedZone"]["Id"].rsplit("/", 1)[-1],
            "UserPoolId": "eu-west-1_AbCdEfGhI",
            "ClientSecretArn": f"{SECRETS}:site/app-AbCdEf",
            "CacheUrlSecretArn": f"{SECRETS}:site/cache-GhIjKl",
            "CacheClientSecurityGroupId": cache["ClientSecurityGroupId"],
            "ImageTag": "0.1.0",
        }
        site = _create(cloudformation, "site", "reset-site.yaml", parameters)
        yield {"session": session, "network": network, "site": site, "parameters": parameters}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _physical(aws: dict[str, Any], logical: str) -> str:
    cloudformation = aws["session"].client("cloudformation")
    found = cloudformation.describe_stack_resource(StackName="site", LogicalResourceId=logical)
    physical: str = found["StackResourceDetail"]["PhysicalResourceId"]
    return physical


def test_what_moto_leaves_out() -> None:
    """Which resources this smoke test cannot cover (checked statically elsewhere)."""
    left_out = {
        name: for_moto(name, {}, SUPPORTED)[1]
        for name in ("network.yaml", "cache.yaml", "reset-site.yaml")
    }
    assert left_out == {
        "network.yaml": set(),
        "cache.yaml": {"AuthToken", "SubnetGroup", "ClientEgressToCache", "Cache", "CacheUrl"},
        "reset-site.yaml": {"DjangoSecretKey", "TaskEgressToRedis", "ScalableTarget", "CpuScaling"},
    }
    assert not SUPPORTED & {
        "AWS::CloudWatch::Alarm",
        "AWS::Logs::MetricFilter",
        "AWS::WAFv2::WebACL",
    }


def test_network_has_public_and_private_subnets_in_two_zones(aws: dict[str, Any]) -> None:
    ec2 = aws["session"].client("ec2")
    network = aws["network"]
    public = network["PublicSubnetIds"].split(",")
    private = network["PrivateSubnetIds"].split(",")
    subnets = {
        s["SubnetId"]: s for s in ec2.describe_subnets(SubnetIds=public + private)["Subnets"]
    }
    for group in (public, private):
        assert len({subnets[s]["AvailabilityZone"] for s in group}) == 2
    cidrs = sorted(s["CidrBlock"] for s in subnets.values())
    assert cidrs == ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [network["VpcId"]]}])[
        "RouteTables"
    ]
    default_routes = [
        route
        for table in tables
        for route in table["Routes"]
        if route.get("DestinationCidrBlock") == "0.0.0.0/0"
    ]
    gateways = sorted(r.get("NatGatewayId") or r["GatewayId"] for r in default_routes)
    assert [g.split("-")[0] for g in gateways] == ["igw", "nat", "nat"]
    assert len(set(gateways)) == 3  # NatGatewayPerZone=true: a NAT in each zone
    # Image layers from S3 go through the gateway endpoint, in both private tables.
    endpoints = [
        r for t in tables for r in t["Routes"] if r.get("GatewayId", "").startswith("vpce-")
    ]
    assert len(endpoints) == 2


def test_only_the_balancer_may_reach_the_tasks(aws: dict[str, Any]) -> None:
    ec2 = aws["session"].client("ec2")
    elbv2 = aws["session"].client("elbv2")
    task_group = _physical(aws, "TaskSecurityGroup")
    client_group = aws["parameters"]["CacheClientSecurityGroupId"]
    (balancer,) = elbv2.describe_load_balancers(LoadBalancerArns=[aws["site"]["LoadBalancerArn"]])[
        "LoadBalancers"
    ]
    groups = ec2.describe_security_groups(GroupIds=[task_group, client_group])["SecurityGroups"]
    ingress = [p for g in groups for p in g["IpPermissions"]]
    assert len(ingress) == 1
    assert (ingress[0]["FromPort"], ingress[0]["ToPort"]) == (8000, 8000)
    assert not ingress[0]["IpRanges"]
    assert [pair["GroupId"] for pair in ingress[0]["UserIdGroupPairs"]] == balancer[
        "SecurityGroups"
    ]


def test_balancer_listeners_and_target_group(aws: dict[str, Any]) -> None:
    elbv2 = aws["session"].client("elbv2")
    arn = aws["site"]["LoadBalancerArn"]
    listeners = {x["Port"]: x for x in elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]}
    https = listeners[443]
    assert https["Certificates"][0]["CertificateArn"] == aws["parameters"]["CertificateArn"]
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    (rule,) = [
        r
        for r in elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"]
        if not r["IsDefault"]
    ]
    assert rule["Conditions"][0]["HostHeaderConfig"]["Values"] == ["reset.example.com"]
    (group,) = elbv2.describe_target_groups(LoadBalancerArn=arn)["TargetGroups"]
    assert rule["Actions"][0]["TargetGroupArn"] == group["TargetGroupArn"]
    assert (group["HealthCheckPath"], group["Port"], group["TargetType"]) == ("/readyz", 8000, "ip")
    (balancer,) = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert balancer["Scheme"] == "internet-facing"
    zones = {zone["SubnetId"] for zone in balancer["AvailabilityZones"]}
    assert zones == set(aws["network"]["PublicSubnetIds"].split(","))


def test_task_definition_as_ecs_sees_it(aws: dict[str, Any]) -> None:
    ecs = aws["session"].client("ecs")
    (service,) = ecs.describe_services(
        cluster=aws["site"]["ClusterName"], services=[aws["site"]["ServiceName"]]
    )["services"]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
        "taskDefinition"
    ]
    (container,) = definition["containerDefinitions"]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["TRUSTED_PROXIES"] == "10.0.0.0/16"  # the network stack's VPC
    assert environment["WEB_GRACEFUL_TIMEOUT"] == "20"
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    client = aws["parameters"]["ClientSecretArn"]
    assert secrets["COGNITO_CLIENT_ID"] == f"{client}:client_id::"
    assert secrets["CACHE_URL"] == aws["parameters"]["CacheUrlSecretArn"]
    assert container["image"].endswith(".amazonaws.com/cognito-reset-site:0.1.0")


def test_task_role_allows_one_call_on_one_pool(aws: dict[str, Any]) -> None:
    iam = aws["session"].client("iam")
    role = _physical(aws, "TaskRole")
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    if isinstance(document, str):  # moto hands back the template's mapping as its repr
        document = ast.literal_eval(document)
    (statement,) = document["Statement"]
    assert statement["Action"] == "cognito-idp:DescribeUserPool"
    assert (
        statement["Resource"]
        == "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEfGhI"
    )
    assert not iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]


def test_dns_name_points_at_the_balancer(aws: dict[str, Any]) -> None:
    route53 = aws["session"].client("route53")
    records = route53.list_resource_record_sets(HostedZoneId=aws["parameters"]["HostedZoneId"])
    (record,) = [r for r in records["ResourceRecordSets"] if r["Type"] == "A"]
    assert record["Name"].rstrip(".") == "reset.example.com"
    assert record["AliasTarget"]["DNSName"].rstrip(".") == aws["site"]["LoadBalancerDnsName"]
