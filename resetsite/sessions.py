"""Sessions in an encrypted cookie: nothing in it can be read without the server's key.

The session holds the reset code and the username between the emailed link and
the form. Django's signed-cookie sessions only sign: anyone who sees the Cookie
header (a proxy, a WAF or an APM agent that logs headers) could read the code.
This store encrypts and authenticates the same data with Fernet (AES-128-CBC and
HMAC-SHA256, with a timestamp checked against SESSION_COOKIE_AGE), keyed by
HKDF-SHA256 from SECRET_KEY. It stays a cookie, so every instance reads any
session without a shared store (docs/security.md says why).

- Key rotation: a cookie made with a key in SECRET_KEY_FALLBACKS is still read;
  new cookies always use SECRET_KEY.
- Upgrades: a signed-only cookie made before this store existed is read once (it
  is at most SESSION_COOKIE_AGE old) and written back encrypted in the same
  response.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.sessions.backends import signed_cookies

# Binds the derived key to this one use: the same SECRET_KEY signs other things.
KEY_INFO = b"cognito-reset-site session cookie v1"


def fernet_key(secret: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO).derive(
        secret.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


@functools.lru_cache(maxsize=4)
def _keys(secret: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    # The first key encrypts; every key decrypts.
    return MultiFernet([Fernet(fernet_key(key)) for key in (secret, *fallbacks)])


def keys() -> MultiFernet:
    return _keys(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


class SessionStore(signed_cookies.SessionStore):
    def load(self) -> dict[str, Any]:
        data = self._decrypt(self.session_key or "")
        if data is not None:
            return data
        # A signed-only cookie from before the upgrade: read it (Django resets the
        # session if it is not valid either) and replace it at once.
        data = super().load()
        if data:
            self.modified = True
        return data

    def _decrypt(self, token: str) -> dict[str, Any] | None:
        try:
            plain = keys().decrypt(token.encode("ascii"), ttl=self.get_session_cookie_age())
            data = self.serializer().loads(plain)
        except Exception:  # not ours, expired, garbled: like Django, a fresh session
            return None
        return data if isinstance(data, dict) else None

    def _get_session_key(self) -> str:
        plain = self.serializer().dumps(dict(self.items()))
        return keys().encrypt(plain).decode("ascii")
