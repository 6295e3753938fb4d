"""CACHE_URL in the form deploy/aws/cache.yaml stores (rediss:// with an AUTH token)
works with the site's settings: django-environ picks Django's RedisCache, and redis-py
speaks TLS, checks the server's certificate and authenticates. Against a real
redis-server that listens with TLS only and requires the token, as ElastiCache does
with TransitEncryptionEnabled and an AuthToken.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import environ
import pytest
import redis
import trustme
from django.core.cache.backends.redis import RedisCache
from emulator import free_port

from tests.aws_templates import load, resources

ROOT = Path(__file__).resolve().parent.parent


def _url(token: str, port: int) -> str:
    """The template's own CACHE_URL, with ElastiCache's part played by the test server."""
    template = load("cache.yaml")
    secret = resources(template, "AWS::SecretsManager::Secret")["CacheUrl"]["Properties"]
    text: str = secret["SecretString"]["Fn::Sub"]
    filled = {
        "{{resolve:secretsmanager:${AuthToken}:SecretString:token}}": token,
        "${Cache.PrimaryEndPoint.Address}": "localhost",
        "${Cache.PrimaryEndPoint.Port}": str(port),
    }
    for placeholder, value in filled.items():
        assert placeholder in text
        text = text.replace(placeholder, value)
    return text


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `make system-deps`")
    workdir = tmp_path_factory.mktemp("tls-redis")
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(workdir / "ca.pem"))
    leaf = authority.issue_cert("localhost")
    leaf.cert_chain_pems[0].write_to_path(str(workdir / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(workdir / "key.pem"))
    token = secrets.token_hex(32)  # 64 letters and digits, like the generated token
    port = free_port()
    pidfile = workdir / "redis.pid"
    tls = ["--tls-port", str(port), "--tls-auth-clients", "no"]
    for option, name in (("cert", "cert.pem"), ("key", "key.pem"), ("ca-cert", "ca.pem")):
        tls += [f"--tls-{option}-file", str(workdir / name)]
    quiet = ["--save", "", "--appendonly", "no", "--daemonize", "yes", "--pidfile", str(pidfile)]
    subprocess.run(
        [binary, "--bind", "127.0.0.1", "--port", "0", *tls, "--requirepass", token, *quiet],
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield {"token": token, "port": port, "ca": workdir / "ca.pem"}
    os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_site_settings_use_the_cache_over_tls_with_auth(tls_redis: dict[str, Any]) -> None:
    url = _url(tls_redis["token"], tls_redis["port"])
    assert url.startswith(f"rediss://:{tls_redis['token']}@localhost:")
    script = (
        "from django.conf import settings; from django.core.cache import cache\n"
        "print(settings.CACHES['default']['BACKEND'])\n"
        "cache.set('probe', 'over-tls', 30); print(cache.get('probe'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "resetsite.settings",
            "DJANGO_SECRET_KEY": "x" * 50,
            "COGNITO_USER_POOL_ID": "eu-west-1_abc",
            "COGNITO_CLIENT_ID": "client",
            "COGNITO_READ_POLICY": "false",
            "CACHE_URL": url,
            # In AWS the system's CA bundle holds ElastiCache's issuer; here, the test CA.
            "SSL_CERT_FILE": str(tls_redis["ca"]),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["django.core.cache.backends.redis.RedisCache", "over-tls"]


def _cache(url: str, ca: Path | None) -> RedisCache:
    config = environ.Env.cache_url_config(url)
    options: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 2}
    if ca is not None:
        options["ssl_ca_certs"] = str(ca)
    return RedisCache(config["LOCATION"], {"OPTIONS": options})


def test_the_token_is_required(tls_redis: dict[str, Any]) -> None:
    good = _url(tls_redis["token"], tls_redis["port"])
    _cache(good, tls_redis["ca"]).set("probe", "ok", 30)
    wrong = _url("0" * 64, tls_redis["port"])
    with pytest.raises(redis.exceptions.AuthenticationError):
        _cache(wrong, tls_redis["ca"]).get("probe")


def test_the_server_certificate_is_checked(tls_redis: dict[str, Any]) -> None:
    """An impostor's certificate (here: one from an authority the client does not
    trust) ends the connection before the token is sent."""
    with pytest.raises(redis.exceptions.ConnectionError) as caught:
        _cache(_url(tls_redis["token"], tls_redis["port"]), None).get("probe")
    assert "certificate verify failed" in str(caught.value), caught.value
