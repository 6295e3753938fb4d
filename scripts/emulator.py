"""A local Cognito emulator (moto in server mode) with a demo pool, for the demo and tests.

This is development tooling, not part of the site: the site itself talks to
Cognito only through accounts/cognito.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

import boto3
from botocore.config import Config

DEMO_POLICY: dict[str, Any] = {
    "MinimumLength": 10,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
}
CODE_HEADER = "x-moto-forgot-password-confirmation-code"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hash(username: str, client_id: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class Pool:
    endpoint_url: str
    region: str
    user_pool_id: str
    client_id: str
    client_secret: str

    def client(self) -> Any:
        return boto3.client(
            "cognito-idp",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )

    def env(self) -> dict[str, str]:
        return {
            "COGNITO_REGION": self.region,
            "COGNITO_USER_POOL_ID": self.user_pool_id,
            "COGNITO_CLIENT_ID": self.client_id,
            "COGNITO_CLIENT_SECRET": self.client_secret,
            "COGNITO_ENDPOINT_URL": self.endpoint_url,
            "COGNITO_READ_POLICY": "true",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def secret_hash(self, username: str) -> str:
        return _hash(username, self.client_id, self.client_secret)

    def create_user(self, username: str, password: str, email: str | None = None) -> None:
        idp = self.client()
        idp.admin_create_user(
            UserPoolId=self.user_pool_id,
            Username=username,
            UserAttributes=[
                {"Name": "email", "Value": email or f"{username.split('@')[0]}@example.com"},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=self.user_pool_id, Username=username, Password=password, Permanent=True
        )

    def request_code(self, username: str) -> str:
        """ForgotPassword; moto hands back the code in a response header."""
        response = self.client().forgot_password(
            ClientId=self.client_id, Username=username, SecretHash=self.secret_hash(username)
        )
        return str(response["ResponseMetadata"]["HTTPHeaders"][CODE_HEADER])

    def can_sign_in(self, username: str, password: str) -> bool:
        idp = self.client()
        try:
            idp.admin_initiate_auth(
                UserPoolId=self.user_pool_id,
                ClientId=self.client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={
                    "USERNAME": username,
                    "PASSWORD": password,
                    "SECRET_HASH": self.secret_hash(username),
                },
            )
        except idp.exceptions.NotAuthorizedException:
            return False
        return True


def create_pool(
    endpoint_url: str,
    *,
    region: str = "us-east-1",
    policy: dict[str, Any] | None = None,
    name: str = "reset-demo",
    username_attributes: list[str] | None = None,
) -> Pool:
    idp = boto3.client(
        "cognito-idp",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    options: dict[str, Any] = {}
    if username_attributes:
        # ["email"]: people sign in with their email address; the username is a UUID.
        options["UsernameAttributes"] = username_attributes
    pool = idp.create_user_pool(
        PoolName=name,
        Policies={"PasswordPolicy": policy or DEMO_POLICY},  # type: ignore[misc,arg-type]
        AutoVerifiedAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
        **options,
    )["UserPool"]
    app = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="reset-site",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]
    return Pool(endpoint_url, region, pool["Id"], app["ClientId"], app["ClientSecret"])


def wait_until_up(url: str, timeout: float = 10.0, process: Any = None) -> None:
    """Poll ``url`` until it answers; fail early if ``process`` (a Popen) exits."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
