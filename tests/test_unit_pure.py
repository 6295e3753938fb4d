"""Unit tests of the pure modules: SecretHash, client IP, policy and limits."""

from __future__ import annotations

import ipaddress

import pytest

from accounts.clientip import client_ip, parse_ip, parse_networks
from accounts.policy import (
    EDGE_SPACE,
    OTHER_SPACE,
    PasswordPolicy,
    could_meet,
    has_symbol,
    has_whitespace,
    is_valid_code,
    is_valid_username,
    normalize_code,
    password_space_problem,
    too_similar,
)
from accounts.secrethash import secret_hash

# Computed independently with: printf '%s' "$USERNAME$CLIENT_ID" |
#   openssl dgst -sha256 -hmac "$SECRET" -binary | base64
SECRET_HASH_VECTORS = [
    (
        "alice@example.com",
        "1example23456789",
        "secret123",
        "FVW/7Gcb6ZPx6GSRDG1O5Wage73l/t5hfIkUHL6hZ1k=",
    ),
    (
        "ñandú",
        "abcdefghijklmnopqrstuvwxyz",
        "s3cr3t/with+chars=",
        "PZRKeZwS3QbKX7LPiMh0ZYU+oQJ0oLD0zJIDTUpG9Qg=",
    ),
]


@pytest.mark.parametrize(("username", "client_id", "secret", "expected"), SECRET_HASH_VECTORS)
def test_secret_hash_known_answers(
    username: str, client_id: str, secret: str, expected: str
) -> None:
    assert secret_hash(username=username, client_id=client_id, client_secret=secret) == expected


def test_secret_hash_depends_on_exact_username() -> None:
    a = secret_hash(username="Alice", client_id="c", client_secret="s")
    b = secret_hash(username="alice", client_id="c", client_secret="s")
    assert a != b


TRUSTED = parse_networks(["10.0.0.0/8", "2001:db8:ffff::/48", "127.0.0.1"])


@pytest.mark.parametrize(
    ("remote", "xff", "trusted", "expected"),
    [
        # No trusted proxies: the peer, whatever the header claims.
        ("203.0.113.9", "198.51.100.1", (), "203.0.113.9"),
        ("203.0.113.9", None, TRUSTED, "203.0.113.9"),
        # An untrusted peer's header is ignored (spoofing).
        ("203.0.113.9", "198.51.100.1", TRUSTED, "203.0.113.9"),
        # Through one trusted proxy.
        ("10.1.2.3", "198.51.100.1", TRUSTED, "198.51.100.1"),
        # Right-most untrusted wins; left-most values can be forged by the client.
        ("10.1.2.3", "1.1.1.1, 198.51.100.1, 10.9.9.9", TRUSTED, "198.51.100.1"),
        # Every hop trusted: the left-most address.
        ("10.1.2.3", "10.0.0.7, 10.0.0.8", TRUSTED, "10.0.0.7"),
        # IPv6 client and IPv6 proxy.
        ("2001:db8:ffff::1", "2001:db8:1::42", TRUSTED, "2001:db8:1::42"),
        ("10.1.2.3", "[2001:db8:1::42]:443", TRUSTED, "2001:db8:1::42"),
        # Port on an IPv4 hop, spaces, IPv4-mapped IPv6.
        ("10.1.2.3", " 198.51.100.1:5555 ", TRUSTED, "198.51.100.1"),
        ("::ffff:10.1.2.3", "198.51.100.1", TRUSTED, "198.51.100.1"),
        # A malformed hop ends the walk at the last good address: never forwarded.
        ("10.1.2.3", "198.51.100.1, not-an-ip", TRUSTED, "10.1.2.3"),
        ("10.1.2.3", "<script>", TRUSTED, "10.1.2.3"),
        ("10.1.2.3", "", TRUSTED, "10.1.2.3"),
        ("127.0.0.1", "198.51.100.1", TRUSTED, "198.51.100.1"),
    ],
)
def test_client_ip_matrix(
    remote: str, xff: str | None, trusted: tuple[object, ...], expected: str
) -> None:
    assert client_ip(remote_addr=remote, forwarded_for=xff, trusted=trusted) == expected  # type: ignore[arg-type]


def test_client_ip_result_is_always_a_valid_ip() -> None:
    for xff in ["a,b,c", "1.2.3.4.5", "999.1.1.1", "::::", "1.2.3.4%eth0", "\x00"]:
        result = client_ip(remote_addr="10.0.0.1", forwarded_for=xff, trusted=TRUSTED)
        assert result is not None
        ipaddress.ip_address(result)


def test_parse_networks_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="bogus"):
        parse_networks(["10.0.0.0/8", "bogus"])


def test_parse_ip_handles_zone_and_brackets() -> None:
    assert str(parse_ip("[fe80::1%eth0]:80")) == "fe80::1"
    assert parse_ip("[broken") is None


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("alice@example.com", True),
        ("名前", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("", False),
        ("has space", False),
        ("tab\there", False),
        ("nul\x00", False),
        ("zero\u200bwidth", False),  # format character (Cf)
        ("emoji😀", True),  # So is a symbol
    ],
)
def test_username_limits(value: str, ok: bool) -> None:
    assert is_valid_username(value) is ok


def test_code_limits_and_normalisation() -> None:
    assert normalize_code(" 123 456\n") == "123456"
    assert normalize_code("123-456") == "123456"
    assert normalize_code("moto-confirmation-code:123456") == "moto-confirmation-code:123456"
    assert is_valid_code("1" * 2048)
    assert not is_valid_code("1" * 2049)
    assert not is_valid_code("")


def test_whitespace_detection_covers_unicode_spaces() -> None:
    assert has_whitespace("pass word")
    assert has_whitespace("pass\u00a0word")
    assert has_whitespace("pass\u3000word")
    assert not has_whitespace("Password-1!")


def test_policy_defaults_are_cognitos() -> None:
    policy = PasswordPolicy.from_cognito(None)
    assert policy == PasswordPolicy(8, True, True, True, True)
    assert policy.unmet("short") == ["length", "uppercase", "number", "symbol"]
    assert policy.unmet("Long-enough-1") == []


def test_policy_from_cognito_fields() -> None:
    policy = PasswordPolicy.from_cognito(
        {
            "MinimumLength": 12,
            "RequireUppercase": False,
            "RequireLowercase": True,
            "RequireNumbers": False,
            "RequireSymbols": False,
            "TemporaryPasswordValidityDays": 7,
        }
    )
    assert policy.rules() == ["length", "lowercase"]
    assert policy.unmet("alllowercase") == []
    assert policy.unmet("ALLUPPERCASE") == ["lowercase"]
    assert policy.unmet("short") == ["length"]


def test_policy_symbols_are_cognitos_list() -> None:
    policy = PasswordPolicy(
        minimum_length=1,
        require_uppercase=False,
        require_lowercase=False,
        require_numbers=False,
        require_symbols=True,
    )
    for symbol in "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-":
        assert policy.unmet(symbol) == [], symbol
    assert policy.unmet("é") == ["symbol"]
    assert policy.unmet("€") == ["symbol"]


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Tiny Green Frog Jumps 42", None),
        ("a b", None),
        ("no-spaces-at-all", None),
        ("", None),
        (" leading", EDGE_SPACE),
        ("trailing ", EDGE_SPACE),
        (" ", EDGE_SPACE),
        ("\u00a0nbsp-first", EDGE_SPACE),
        ("tab-last\t", EDGE_SPACE),
        ("new\nline", OTHER_SPACE),
        ("tab\tinside", OTHER_SPACE),
        ("no\u00a0break", OTHER_SPACE),
        ("ideographic\u3000space", OTHER_SPACE),
    ],
)
def test_password_spaces_follow_cognitos_pattern(password: str, problem: str | None) -> None:
    """Cognito checks ^[\\S]+.*[\\S]+$: no whitespace at either end; inside, we take
    only the ordinary space (nothing else about the check is loosened)."""
    assert password_space_problem(password) == problem


def test_an_inner_space_counts_as_a_symbol() -> None:
    policy = PasswordPolicy(minimum_length=10)  # all four classes required
    assert policy.unmet("Tiny Green Frog Jumps 42") == []
    assert policy.unmet("TinyGreenFrogJumps42") == ["symbol"]
    assert has_symbol("a b")
    # Neither first nor last: those are refused anyway, and never count.
    assert not has_symbol(" ab")
    assert not has_symbol("ab ")
    assert not has_symbol(" ")
    assert not has_symbol("a\tb")  # only the space itself
    # The live checklist's list of common passwords follows the same rules.
    assert could_meet(PasswordPolicy(minimum_length=6), "tiny green frog 42")
    assert not could_meet(PasswordPolicy(minimum_length=6), " tiny green frog 42")


def test_the_model_check_uses_the_services_password_pattern() -> None:
    from tests.cognito_model import SHAPES, assert_valid_request

    botocore_pattern = SHAPES.shape_for("PasswordType").metadata["pattern"]
    assert botocore_pattern == "[\\S]+"  # outdated: Cognito itself checks the pattern below
    base = {"ClientId": "client", "Username": "alice", "ConfirmationCode": "123456"}
    assert_valid_request("ConfirmForgotPassword", {**base, "Password": "Tiny Green Frog Jumps 42"})
    for refused in (" Tiny-Green-Frog-42", "Tiny-Green-Frog-42 ", "x", "line\nbreak"):
        with pytest.raises(AssertionError):
            assert_valid_request("ConfirmForgotPassword", {**base, "Password": refused})


def test_policy_letters_are_latin() -> None:
    policy = PasswordPolicy(minimum_length=1)
    assert "uppercase" in policy.unmet("Ébc1!")  # É is not A-Z


def test_similarity_to_username() -> None:
    assert too_similar("alice@example.com1", "alice@example.com")
    assert too_similar("Alice-123", "alice@example.com")  # like a part of it
    assert not too_similar("Fresh-Horse-Battery-42", "alice@example.com")


def test_similarity_skips_only_what_cannot_be_similar() -> None:
    """too_similar skips a part by its length alone: the same answers as comparing all."""
    import random
    import re
    from difflib import SequenceMatcher

    def every_part(password: str, username: str) -> bool:
        lowered = password.lower()
        for part in [*re.split(r"\W+", username), username]:
            if not part or (len(lowered) >= 10 * len(part) and len(part) < 0.35 * len(lowered)):
                continue
            if SequenceMatcher(a=lowered, b=part.lower()).ratio() >= 0.7:
                return True
        return False

    pick = random.Random(19)
    for _ in range(2000):
        username = "".join(pick.choices("abcAB.@-1İ", k=pick.randint(1, 24)))
        password = "".join(pick.choices("abcAB.-1İx", k=pick.randint(1, 24)))
        assert too_similar(password, username) == every_part(password, username)


def test_is_trusted_peer() -> None:
    from accounts.clientip import is_trusted_peer

    assert is_trusted_peer("10.9.8.7", TRUSTED)
    assert is_trusted_peer("::ffff:10.9.8.7", TRUSTED)
    assert not is_trusted_peer("203.0.113.1", TRUSTED)
    assert not is_trusted_peer("not-an-ip", TRUSTED)
    assert not is_trusted_peer("10.9.8.7", ())
