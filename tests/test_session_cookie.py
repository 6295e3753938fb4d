"""The session cookie can't be read: no code, no username, whatever one decodes.

It is still read by the site: with the current key, with a key being rotated out
(SECRET_KEY_FALLBACKS), and in the signed-only form of earlier releases, once.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import time
import zlib
from http import HTTPStatus
from urllib.parse import urlencode

from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.sessions.serializers import JSONSerializer
from django.core import signing
from django.test import override_settings

from resetsite import sessions
from tests.conftest import FormClient

USERNAME = "carol.reader@example.com"
CODE = "730912"
OLD_KEY = "an-earlier-secret-key-" + "Pz4wQ8rT" * 5
LEGACY_SALT = "django.contrib.sessions.backends.signed_cookies"


def _open_link(client: FormClient) -> str:
    response = client.get("/reset/?" + urlencode({"username": USERNAME, "code": CODE}))
    assert response.status_code == HTTPStatus.FOUND
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


def _form_is_filled(client: FormClient) -> bool:
    html = client.get("/reset/").content.decode()
    return f'value="{USERNAME}"' in html and f'value="{CODE}"' in html


def _every_reading(value: str) -> list[bytes]:
    """The cookie as it is, and each part of it base64-decoded, inflated where it inflates."""
    readings = [value.encode()]
    for part in re.split(r"[:.]", value):
        for candidate in (part, part.lstrip(".")):
            try:
                raw = base64.urlsafe_b64decode(candidate + "=" * (-len(candidate) % 4))
            except (binascii.Error, ValueError):
                continue
            readings.append(raw)
            with contextlib.suppress(zlib.error):
                readings.append(zlib.decompress(raw))
    return readings


def _readable(value: str) -> bool:
    return any(
        secret.encode() in reading
        for reading in _every_reading(value)
        for secret in (USERNAME, CODE, "carol")
    )


def test_the_cookie_holds_neither_code_nor_username_and_the_site_reads_it(
    client: FormClient,
) -> None:
    cookie = _open_link(client)
    assert not _readable(cookie), cookie
    # The helper can see a signed-only cookie's contents: it is a real check.
    assert _readable(signing.dumps({"reset_code": CODE}, salt=LEGACY_SALT, compress=True))
    assert _form_is_filled(client)


def test_a_signed_only_cookie_from_before_the_upgrade_is_read_and_replaced(
    client: FormClient,
) -> None:
    legacy = signing.dumps(
        {"reset_username": USERNAME, "reset_code": CODE},
        salt=LEGACY_SALT,
        serializer=JSONSerializer,
        compress=True,
    )
    client.cookies[settings.SESSION_COOKIE_NAME] = legacy
    response = client.get("/reset/")
    html = response.content.decode()
    assert f'value="{USERNAME}"' in html
    assert f'value="{CODE}"' in html
    replaced = response.cookies[settings.SESSION_COOKIE_NAME].value
    assert replaced != legacy
    assert not _readable(replaced)
    assert _form_is_filled(client)


def test_a_key_being_rotated_out_still_reads_its_cookies(client: FormClient) -> None:
    with override_settings(SECRET_KEY=OLD_KEY):
        _open_link(client)
    with override_settings(SECRET_KEY_FALLBACKS=[OLD_KEY]):
        assert _form_is_filled(client)
        # The next cookie is made with the new key: readable once the old one is gone.
        client.get("/reset/?" + urlencode({"username": USERNAME, "code": CODE}))
    assert _form_is_filled(client)
    # A cookie made with a key that is no longer listed is not read: a fresh session.
    with override_settings(SECRET_KEY=OLD_KEY):
        _open_link(client)
    assert not _form_is_filled(client)


def test_tampered_expired_or_foreign_cookies_start_a_fresh_session(client: FormClient) -> None:
    data = JSONSerializer().dumps({"reset_username": USERNAME, "reset_code": CODE})
    ours = Fernet(sessions.fernet_key(settings.SECRET_KEY))
    age = settings.SESSION_COOKIE_AGE
    fresh = ours.encrypt(data).decode()
    tampered = fresh[:-6] + ("A" if fresh[-6] != "A" else "B") + fresh[-5:]
    expired = ours.encrypt_at_time(data, int(time.time()) - age - 5).decode()
    foreign = Fernet(Fernet.generate_key()).encrypt(data).decode()
    # The key is derived, not the secret itself: the secret as a Fernet key fails.
    naive_key = base64.urlsafe_b64encode(settings.SECRET_KEY.encode()[:32].ljust(32, b"0"))
    naive = Fernet(naive_key).encrypt(data).decode()

    client.cookies[settings.SESSION_COOKIE_NAME] = fresh
    assert _form_is_filled(client)
    for bad in (tampered, expired, foreign, naive, "garbage", ""):
        client.cookies[settings.SESSION_COOKIE_NAME] = bad
        response = client.get("/reset/")
        assert response.status_code == HTTPStatus.OK
        assert USERNAME not in response.content.decode(), bad
