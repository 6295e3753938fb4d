"""`manage.py doctor` against moto: a good set-up passes, each bad one is named.

moto keeps what it is given and returns it, so these tests set each field with
UpdateUserPool and UpdateUserPoolClient as an operator would. The one case moto
cannot produce (credentials without the IAM permission) uses botocore's Stubber.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from django.core.management import call_command
from django.core.management.base import CommandError
from emulator import DEMO_POLICY, Pool

from accounts import cognito, cognito_pool

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TRIGGER = "arn:aws:lambda:us-east-1:123456789012:function:reset-custom-message"
WRONG_SECRET = "not-the-secret-" + "x" * 30


def healthy(pool: Pool) -> Pool:
    """The set-up docs/cognito-setup.md describes."""
    idp = pool.client()
    idp.update_user_pool(
        UserPoolId=pool.user_pool_id,
        # UpdateUserPool resets what it is not given (moto and Cognito alike).
        Policies={"PasswordPolicy": DEMO_POLICY},
        AutoVerifiedAttributes=["email"],
        LambdaConfig={"CustomMessage": TRIGGER},
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
    )
    set_client(pool, PreventUserExistenceErrors="ENABLED")
    return pool


def set_client(pool: Pool, **fields: Any) -> None:
    settings = {
        "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        "PreventUserExistenceErrors": "ENABLED",
        "EnablePropagateAdditionalUserContextData": True,
        **fields,
    }
    pool.client().update_user_pool_client(
        UserPoolId=pool.user_pool_id, ClientId=pool.client_id, **settings
    )


@pytest.fixture
def configured(settings: Any, pool: Pool) -> Pool:
    settings.COGNITO_REGION = pool.region
    settings.COGNITO_USER_POOL_ID = pool.user_pool_id
    settings.COGNITO_CLIENT_ID = pool.client_id
    settings.COGNITO_CLIENT_SECRET = pool.client_secret
    settings.COGNITO_ENDPOINT_URL = pool.endpoint_url
    settings.COGNITO_READ_POLICY = "true"
    cognito.reset_clients()
    return healthy(pool)


def doctor() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("doctor", stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def lines(output: str, status: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(status.upper())]


def assert_no_secret(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output
        assert secret[:12] not in output


def test_a_good_set_up_passes(configured: Pool) -> None:
    status, output = doctor()
    assert status == 0, output
    assert lines(output, "problem") == []
    assert lines(output, "skipped") == []
    checks = [line.split(":", 1)[0].split(None, 1)[1] for line in lines(output, "ok")]
    assert checks == [
        "endpoint",
        "app client",
        "client secret",
        "PreventUserExistenceErrors",
        "EnablePropagateAdditionalUserContextData",
        "CustomMessage trigger",
        "AccountRecoverySetting",
        "password policy",
    ]
    assert_no_secret(output, configured.client_secret)


def test_a_wrong_secret_is_named_and_neither_secret_is_shown(
    configured: Pool, settings: Any
) -> None:
    settings.COGNITO_CLIENT_SECRET = WRONG_SECRET
    status, output = doctor()
    assert status == 1
    (problem,) = lines(output, "problem")
    assert problem.startswith("PROBLEM  client secret: COGNITO_CLIENT_SECRET does not match")
    assert_no_secret(output, configured.client_secret, WRONG_SECRET)


def test_legacy_existence_errors_are_named(configured: Pool) -> None:
    set_client(configured, PreventUserExistenceErrors="LEGACY")
    status, output = doctor()
    assert status == 1
    (problem,) = lines(output, "problem")
    assert problem.startswith("PROBLEM  PreventUserExistenceErrors: is LEGACY")
    assert "Set it to ENABLED" in problem


def test_a_missing_trigger_is_named(configured: Pool) -> None:
    configured.client().update_user_pool(
        UserPoolId=configured.user_pool_id,
        Policies={"PasswordPolicy": DEMO_POLICY},
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
    )
    status, output = doctor()
    assert status == 1
    (problem,) = lines(output, "problem")
    assert problem.startswith("PROBLEM  CustomMessage trigger: none attached")


def test_context_data_off_and_sms_first_recovery_are_named(configured: Pool) -> None:
    set_client(configured, EnablePropagateAdditionalUserContextData=False)
    configured.client().update_user_pool(
        UserPoolId=configured.user_pool_id,
        Policies={"PasswordPolicy": DEMO_POLICY},
        LambdaConfig={"CustomMessage": TRIGGER},
        AccountRecoverySetting={
            "RecoveryMechanisms": [
                {"Name": "verified_email", "Priority": 2},
                {"Name": "verified_phone_number", "Priority": 1},
            ]
        },
    )
    status, output = doctor()
    assert status == 1
    problems = [line.split(":", 1)[0] for line in lines(output, "problem")]
    assert problems == [
        "PROBLEM  EnablePropagateAdditionalUserContextData",
        "PROBLEM  AccountRecoverySetting",
    ]
    assert "verified_phone_number, verified_email" in output


def test_a_secret_configured_for_a_client_without_one(configured: Pool, settings: Any) -> None:
    app = configured.client().create_user_pool_client(
        UserPoolId=configured.user_pool_id,
        ClientName="public",
        GenerateSecret=False,
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]
    settings.COGNITO_CLIENT_ID = app["ClientId"]
    status, output = doctor()
    assert status == 1
    (problem,) = lines(output, "problem")
    assert "a secret is configured but the app client has none" in problem
    assert lines(output, "warning")[0].startswith(
        "WARNING  EnablePropagateAdditionalUserContextData: the app client has no secret"
    )
    # And the other way round: a client with a secret, none configured.
    settings.COGNITO_CLIENT_ID = configured.client_id
    settings.COGNITO_CLIENT_SECRET = ""
    status, output = doctor()
    assert status == 1
    assert "the app client has a secret but none is configured" in output


def test_a_policy_the_site_shows_wrongly_is_named(configured: Pool, settings: Any) -> None:
    settings.COGNITO_PASSWORD_POLICY = {"MinimumLength": 8}
    status, output = doctor()
    assert status == 1
    (problem,) = lines(output, "problem")
    assert "the site shows COGNITO_PASSWORD_POLICY's, at least 8 characters" in problem
    assert "the pool asks for at least 10 characters" in problem
    settings.COGNITO_PASSWORD_POLICY = dict(DEMO_POLICY)
    assert doctor()[0] == 0


def test_an_unknown_app_client_is_named(configured: Pool, settings: Any) -> None:
    settings.COGNITO_CLIENT_ID = "doesnotexist123"
    status, output = doctor()
    assert status == 1
    (problem,) = lines(output, "problem")
    assert problem.startswith("PROBLEM  app client: doesnotexist123 is not an app client")
    assert len(lines(output, "skipped")) == 3


def test_an_unreachable_endpoint_skips_the_rest(
    configured: Pool, settings: Any, closed_port: int
) -> None:
    settings.COGNITO_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
    settings.COGNITO_CONNECT_TIMEOUT = 0.5
    status, output = doctor()
    assert status == 1
    (problem,) = lines(output, "problem")
    assert problem.startswith("PROBLEM  endpoint: http://127.0.0.1:")
    assert len(lines(output, "skipped")) == 7


def test_without_credentials_it_names_what_it_skipped(
    configured: Pool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    status, output = doctor()
    assert status == 0, output
    skipped = lines(output, "skipped")
    assert [line.split(":", 1)[0].split(None, 1)[1] for line in skipped] == [
        "app client",
        "client secret",
        "PreventUserExistenceErrors",
        "EnablePropagateAdditionalUserContextData",
        "CustomMessage trigger",
        "AccountRecoverySetting",
        "password policy",
    ]
    assert all("no AWS credentials" in line for line in skipped)
    assert output.rstrip().endswith("0 problem(s), 7 check(s) skipped.")


def test_credentials_without_permission_skip_the_client_checks(configured: Pool) -> None:
    """moto allows every call; Cognito answers AccessDeniedException without the permission."""
    client = cognito_pool._admin_client(cognito.config())
    with Stubber(client) as stub:
        pool = configured.client().describe_user_pool(UserPoolId=configured.user_pool_id)
        stub.add_response("describe_user_pool", {"UserPool": pool["UserPool"]})
        stub.add_client_error(
            "describe_user_pool_client", "AccessDeniedException", http_status_code=400
        )
        status, output = doctor()
        stub.assert_no_pending_responses()
    assert status == 0, output
    skipped = lines(output, "skipped")
    assert len(skipped) == 4
    assert all("may not DescribeUserPoolClient" in line for line in skipped)


def test_the_exit_status_of_the_real_command(configured: Pool) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        **configured.env(),
        "DJANGO_SECRET_KEY": "doctor-" + "Zk4mNq7R" * 6,
    }
    command = [sys.executable, "manage.py", "doctor"]
    good = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = subprocess.run(
        command,
        cwd=ROOT,
        env={**env, "COGNITO_CLIENT_SECRET": WRONG_SECRET},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "client secret: COGNITO_CLIENT_SECRET does not match" in bad.stdout
    assert "1 problem(s)" in bad.stderr
    assert_no_secret(good.stdout + good.stderr + bad.stdout + bad.stderr, configured.client_secret)
    assert WRONG_SECRET not in bad.stdout + bad.stderr
