"""Configuration: environment-only settings, optional features and the production server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from emulator import wait_until_up

from tests.conftest import NEW_PASSWORD, USERNAME
from tests.faultproxy import FaultProxy
from tests.servers import start_gunicorn

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BASE_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "DJANGO_SECRET_KEY": "x" * 50,
    "COGNITO_USER_POOL_ID": "eu-west-1_abc",
    "COGNITO_CLIENT_ID": "client",
    "COGNITO_READ_POLICY": "false",
}


def _settings_check(
    env: dict[str, str],
    expression: str = "settings.COGNITO_REGION, bool(settings.COGNITO_CLIENT_SECRET), "
    "settings.DEBUG",
) -> subprocess.CompletedProcess[str]:
    """Import the real settings in a fresh process with ``env``; print ``expression``."""
    return subprocess.run(
        [PYTHON, "-c", f"from django.conf import settings; print({expression})"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "resetsite.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID"]
)
def test_required_settings_fail_with_their_name(missing: str) -> None:
    env = {k: v for k, v in BASE_ENV.items() if k != missing}
    result = _settings_check(env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


def test_defaults_and_region_from_pool_id() -> None:
    result = _settings_check(BASE_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["eu-west-1", "False", "False"]


def test_client_secret_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    result = _settings_check({**BASE_ENV, "COGNITO_CLIENT_SECRET_FILE": str(secret)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "True"
    missing = _settings_check({**BASE_ENV, "COGNITO_CLIENT_SECRET_FILE": str(tmp_path / "no")})
    assert "COGNITO_CLIENT_SECRET_FILE" in missing.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COGNITO_CLIENT_METADATA", "not json"),
        ("COGNITO_CLIENT_METADATA", '{"a": 1}'),
        ("TRUSTED_PROXIES", "10.0.0.0/8,nonsense"),
        ("COGNITO_READ_POLICY", "maybe"),
        ("COGNITO_PASSWORD_POLICY", "[1]"),
        ("DEMO_SIGN_IN_CHECK", "true"),  # the demo's page, but no local emulator
        ("COGNITO_MAX_POOL_CONNECTIONS", "99"),  # below COGNITO_MAX_IN_FLIGHT (100)
        ("COGNITO_QUOTA_RPS", "-1"),
        ("COGNITO_QUOTA_MAX_WAIT", "600"),
        ("RATELIMIT_FLOOD_IP", "lots"),
    ],
)
def test_bad_values_fail_at_start_naming_the_variable(name: str, value: str) -> None:
    result = _settings_check({**BASE_ENV, name: value})
    assert result.returncode != 0
    assert name in result.stderr


# --- optional request parts ----------------------------------------------------


def _reset(client: Client, site: Any, user: str, **extra: str) -> Any:
    code = site.request_code(user)
    return client.post(
        "/reset/",
        {
            "username": user,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            **extra,
        },
    )


@pytest.mark.e2e
def test_context_data_sent_when_enabled(
    client: Client, site: Any, user: str, proxy: FaultProxy, settings: Any
) -> None:
    settings.COGNITO_CONTEXT_DATA = True
    page = client.get("/reset/").content.decode()
    assert "amazon-cognito-advanced-security-data.min.js" in page
    assert 'name="cognito_context_data"' in page
    response = _reset(client, site, user, cognito_context_data="eyJkZXZpY2UiOiJ4In0=")
    assert response.status_code == HTTPStatus.FOUND
    sent = proxy.calls("ConfirmForgotPassword")[0]["UserContextData"]
    assert sent == {"IpAddress": "127.0.0.1", "EncodedData": "eyJkZXZpY2UiOiJ4In0="}


@pytest.mark.e2e
def test_form_works_when_the_context_script_failed(
    client: Client, site: Any, user: str, proxy: FaultProxy, settings: Any
) -> None:
    settings.COGNITO_CONTEXT_DATA = True
    response = _reset(client, site, user)  # the hidden field stays empty
    assert response.status_code == HTTPStatus.FOUND
    assert "EncodedData" not in proxy.calls("ConfirmForgotPassword")[0]["UserContextData"]
    assert site.can_sign_in(user, NEW_PASSWORD)


@pytest.mark.e2e
def test_context_data_ignored_when_disabled(
    client: Client, site: Any, user: str, proxy: FaultProxy
) -> None:
    page = client.get("/reset/").content.decode()
    assert "amazoncognito.com" not in page
    _reset(client, site, user, cognito_context_data="abc")
    assert "EncodedData" not in proxy.calls("ConfirmForgotPassword")[0]["UserContextData"]


@pytest.mark.e2e
def test_client_metadata_is_passed(
    client: Client, site: Any, user: str, proxy: FaultProxy, settings: Any
) -> None:
    settings.COGNITO_CLIENT_METADATA = {"portal": "intranet"}
    _reset(client, site, user)
    assert proxy.calls("ConfirmForgotPassword")[0]["ClientMetadata"] == {"portal": "intranet"}


@pytest.mark.e2e
def test_app_client_without_secret_sends_no_hash(
    client: Client, moto_url: str, proxy: FaultProxy, settings: Any
) -> None:
    import boto3

    idp = boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    pool_id = idp.create_user_pool(PoolName="public")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="pub",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username=USERNAME, MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=USERNAME, Password="Old-Password-1", Permanent=True
    )
    code = idp.forgot_password(ClientId=client_id, Username=USERNAME)["ResponseMetadata"][
        "HTTPHeaders"
    ]["x-moto-forgot-password-confirmation-code"]
    settings.COGNITO_USER_POOL_ID = pool_id
    settings.COGNITO_CLIENT_ID = client_id
    settings.COGNITO_CLIENT_SECRET = ""
    settings.COGNITO_ENDPOINT_URL = proxy.url
    response = client.post(
        "/reset/",
        {
            "username": USERNAME,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    sent = proxy.calls("ConfirmForgotPassword")[0]
    assert "SecretHash" not in sent
    assert "UserContextData" not in sent  # IpAddress is accepted only with a secret
    idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": USERNAME, "PASSWORD": NEW_PASSWORD},
    )


@pytest.mark.e2e
def test_policy_override_setting_wins(
    client: Client, site: Any, user: str, proxy: FaultProxy, settings: Any
) -> None:
    settings.COGNITO_PASSWORD_POLICY = {"MinimumLength": 30}
    response = _reset(client, site, user)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "At least 30 characters" in response.content.decode()
    assert proxy.calls("DescribeUserPool") == []


# --- headers and cookies -------------------------------------------------------


def test_security_headers_and_cookies(client: Client, site: Any) -> None:
    response = client.get("/reset/", {"username": "a", "code": "1"})
    cookie = response.cookies["__Host-session"]
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["path"] == "/"
    assert not cookie["domain"]
    assert int(cookie["max-age"]) <= 3600  # never outlives the code
    page = client.get("/reset/")
    csp = page["Content-Security-Policy"]
    for directive in (
        "default-src 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"
    assert page["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in page["Permissions-Policy"]
    assert "no-store" in page["Cache-Control"]


@pytest.mark.parametrize("with_nonce", [False, True])
def test_the_policy_built_once_is_django_csps_own(settings: Any, with_nonce: bool) -> None:
    """accounts.middleware.CSPMiddleware builds each policy once per process: its
    headers are still exactly django-csp's, with the answer's own nonce, and follow
    a change of the settings."""
    from csp.utils import build_policy
    from django.http import HttpRequest, HttpResponse
    from django.test import RequestFactory

    from accounts.middleware import CSPMiddleware

    def view(request: HttpRequest) -> HttpResponse:
        if with_nonce:
            str(request.csp_nonce)  # type: ignore[attr-defined]
        return HttpResponse()

    def answer() -> tuple[Any, str | None]:
        request = RequestFactory().get("/reset/")
        response = CSPMiddleware(view)(request)
        return response, getattr(request, "_csp_nonce", None)

    for _ in range(2):  # built, then from the cache
        response, nonce = answer()
        assert (nonce is not None) == with_nonce
        assert response["Content-Security-Policy"] == build_policy(nonce=nonce)
        assert "Content-Security-Policy-Report-Only" not in response
    other, nonce = answer()
    assert nonce != answer()[1] or not with_nonce  # each answer its own nonce

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'self'"]}}
    response, nonce = answer()
    assert (
        response["Content-Security-Policy"]
        == build_policy(nonce=nonce)
        != other["Content-Security-Policy"]
    )
    assert response["Content-Security-Policy-Report-Only"] == build_policy(
        nonce=nonce, report_only=True
    )


def test_forwarded_proto_believed_only_from_trusted_proxies(
    client: Client, site: Any, settings: Any
) -> None:
    from accounts.clientip import parse_networks

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.0/8"])
    forged = client.get("/forgot/", HTTP_X_FORWARDED_PROTO="https")  # from 127.0.0.1
    assert forged.status_code == HTTPStatus.MOVED_PERMANENTLY
    trusted = client.get("/forgot/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.1.1.1")
    assert trusted.status_code == HTTPStatus.OK
    assert "Strict-Transport-Security" in trusted


# --- the production server -------------------------------------------------------


@pytest.fixture
def gunicorn(pool: Any, proxy: FaultProxy) -> Any:
    env = {
        **BASE_ENV,
        **pool.env(),
        "COGNITO_ENDPOINT_URL": proxy.url,
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    port, process = start_gunicorn(
        ["-c", "gunicorn.conf.py", "resetsite.wsgi:application"],
        env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = time.monotonic()
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", timeout=30, process=process)
        yield f"http://127.0.0.1:{port}", time.monotonic() - started, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_production_server_from_environment_only(gunicorn: Any, pool: Any) -> None:
    base, _, process = gunicorn
    with urllib.request.urlopen(f"{base}/reset/", timeout=10) as response:
        assert response.status == HTTPStatus.OK
        html = response.read().decode()
    assert "/static/accounts/site." in html  # hashed by the manifest storage
    css = html.split('href="/static/accounts/site.', 1)[1].split('"', 1)[0]
    request = urllib.request.Request(
        f"{base}/static/accounts/site.{css}",
        headers={"Accept-Encoding": "gzip"},
    )
    with urllib.request.urlopen(request, timeout=10) as static:
        assert static.headers["Content-Encoding"] == "gzip"
        assert "max-age=31536000" in static.headers["Cache-Control"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/reset/", data=b"username=x", timeout=10)
    assert refused.value.code == HTTPStatus.FORBIDDEN  # CSRF: no token
    process.terminate()
    output = process.communicate(timeout=30)[0]
    lines = [line for line in output.splitlines() if line.startswith("{")]
    assert any('"event": "http_request"' in line and '"path": "/reset/"' in line for line in lines)


def _check_deploy(**extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **BASE_ENV,
        "DJANGO_SECRET_KEY": "kq8" + "Zx9-Vb2_Lm4" * 6,
        "DJANGO_SETTINGS_MODULE": "resetsite.settings",
        **extra,
    }
    return subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = _check_deploy(DJANGO_ALLOWED_HOSTS="reset.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_catches_debug() -> None:
    result = _check_deploy(DJANGO_DEBUG="true")
    assert result.returncode != 0
    assert "DEBUG" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "http://evil.example/login", "https://", "ftp://x.example/"]
)
def test_sign_in_url_must_be_https_or_a_path(url: str) -> None:
    result = _settings_check({**BASE_ENV, "SIGN_IN_URL": url})
    assert result.returncode != 0
    assert "SIGN_IN_URL" in result.stderr


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("https://portal.example.com/home", "https://portal.example.com/home"),
        ("/local/path", "/local/path"),
        ("https://evil.example/phish", "https://signin.example.com/"),
        ("//evil.example/phish", "https://signin.example.com/"),
        ("http://portal.example.com/home", "https://signin.example.com/"),  # not HTTPS
        ("javascript:alert(1)", "https://signin.example.com/"),
        ("https://portal.example.com@evil.example/", "https://signin.example.com/"),
        ("\\\\evil.example", "https://signin.example.com/"),
    ],
)
def test_next_is_checked_against_the_allowlist(
    client: Client, site: Any, user: str, settings: Any, next_url: str, expected: str
) -> None:
    settings.SIGN_IN_URL = "https://signin.example.com/"
    settings.REDIRECT_ALLOWED_HOSTS = {"portal.example.com", "signin.example.com"}
    code = site.request_code(user)
    client.get("/reset/", {"username": user, "code": code, "next": next_url})
    response = client.post(
        "/reset/",
        {
            "username": user,
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    done = client.get("/reset/done/").content.decode()
    assert f'href="{expected}"' in done
    assert "evil.example" not in done
    assert "javascript:" not in done


def _csp(env: dict[str, str]) -> str:
    result = _settings_check(env, "settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src']")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_context_data_host_allowed_only_when_enabled() -> None:
    host = "https://amazon-cognito-assets.eu-west-1.amazoncognito.com"
    assert host not in _csp(BASE_ENV)
    assert host in _csp({**BASE_ENV, "COGNITO_CONTEXT_DATA": "true"})
