"""Cognito's SecretHash. Pure: no Django, no boto3."""

import base64
import hashlib
import hmac


def secret_hash(*, username: str, client_id: str, client_secret: str) -> str:
    """Base64(HMAC-SHA256(key=client_secret, msg=username + client_id)).

    ``username`` must be exactly the Username sent in the same request.
    """
    digest = hmac.new(
        client_secret.encode("utf-8"),
        (username + client_id).encode("utf-8"),
        hashlib.sha256,
    ).digest()
    return base64.b64encode(digest).decode("ascii")
