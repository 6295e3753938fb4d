"""Cognito's password policy and the request limits of its model.

Pure: no Django, no boto3. The limits mirror botocore's service model for
cognito-idp (ConfirmForgotPassword/ForgotPassword); botocore's client checks
only the minimum lengths, so these are enforced here before any call.
"""

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

USERNAME_MAX = 128
CODE_MAX = 2048
PASSWORD_MAX = 256
CONTEXT_DATA_MAX = 131072

# Cognito's own list of characters that count as symbols (so does an inner space).
SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-")


def is_valid_username(value: str) -> bool:
    """UsernameType: 1-128 chars of [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+."""
    return 1 <= len(value) <= USERNAME_MAX and all(
        unicodedata.category(ch)[0] in "LMSNP" for ch in value
    )


def is_valid_code(value: str) -> bool:
    """ConfirmationCodeType: 1-2048 non-whitespace characters."""
    return 1 <= len(value) <= CODE_MAX and not any(ch.isspace() for ch in value)


def has_whitespace(value: str) -> bool:
    # botocore's [\S]+ follows Java's \s, but any Unicode space is refused here:
    # a user can't see the difference, so none may slip through.
    return any(_is_space(ch) for ch in value)


def _is_space(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Zs"


# What Cognito checks for a Password: ^[\S]+.*[\S]+$ (botocore's model still says [\S]+).
EDGE_SPACE = "edge_space"
OTHER_SPACE = "other_space"


def password_space_problem(password: str) -> str | None:
    """Why the spaces in ``password`` can't be sent, or None.

    Cognito refuses whitespace at the start or the end (EDGE_SPACE) and accepts
    it inside. Inside, only the ordinary space (U+0020) is accepted here
    (OTHER_SPACE for tabs, line breaks and other kinds of space), so that what
    the user typed is what they will type when they sign in.
    """
    if not password:
        return None
    if _is_space(password[0]) or _is_space(password[-1]):
        return EDGE_SPACE
    if any(ch != " " and _is_space(ch) for ch in password):
        return OTHER_SPACE
    return None


def has_symbol(password: str) -> bool:
    """Cognito's RequireSymbols: one of SYMBOLS, or a space that is neither first nor last."""
    return any(ch in SYMBOLS for ch in password) or " " in password[1:-1]


def normalize_code(value: str) -> str:
    """Strip what pasting adds: whitespace anywhere, and dashes in digit-only codes."""
    compact = "".join(ch for ch in value if not ch.isspace())
    if compact and all(ch.isdigit() or ch == "-" for ch in compact):
        compact = compact.replace("-", "")
    return compact


@dataclass(frozen=True)
class PasswordPolicy:
    """UserPool.Policies.PasswordPolicy. The defaults are Cognito's own."""

    minimum_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True

    @classmethod
    def from_cognito(cls, policy: Mapping[str, Any] | None) -> "PasswordPolicy":
        """Build from DescribeUserPool's PasswordPolicy; missing keys keep defaults."""
        if not policy:
            return cls()
        default = cls()
        minimum = policy.get("MinimumLength", default.minimum_length)
        if not isinstance(minimum, int) or isinstance(minimum, bool):
            raise ValueError("MinimumLength must be an integer")
        return cls(
            minimum_length=max(6, min(99, minimum)),
            require_uppercase=bool(policy.get("RequireUppercase", default.require_uppercase)),
            require_lowercase=bool(policy.get("RequireLowercase", default.require_lowercase)),
            require_numbers=bool(policy.get("RequireNumbers", default.require_numbers)),
            require_symbols=bool(policy.get("RequireSymbols", default.require_symbols)),
        )

    def rules(self) -> list[str]:
        """The rule ids this policy enforces, in display order."""
        rules = ["length"]
        if self.require_lowercase:
            rules.append("lowercase")
        if self.require_uppercase:
            rules.append("uppercase")
        if self.require_numbers:
            rules.append("number")
        if self.require_symbols:
            rules.append("symbol")
        return rules

    def unmet(self, password: str) -> list[str]:
        """The rule ids that ``password`` does not meet."""
        checks = {
            "length": len(password) >= self.minimum_length,
            "lowercase": any("a" <= ch <= "z" for ch in password),
            "uppercase": any("A" <= ch <= "Z" for ch in password),
            "number": any("0" <= ch <= "9" for ch in password),
            "symbol": has_symbol(password),
        }
        return [rule for rule in self.rules() if not checks[rule]]


def _exceeds_length_ratio(password: str, value: str, max_similarity: float) -> bool:
    # As Django's UserAttributeSimilarityValidator: skip values that cannot be similar.
    pwd_len = len(password)
    bound = max_similarity / 2 * pwd_len
    return pwd_len >= 10 * len(value) and len(value) < bound


def too_similar(password: str, username: str, max_similarity: float = 0.7) -> bool:
    """True if the password is too much like the username or a part of it."""
    if not password or not username:
        return False
    lowered = password.lower()
    parts = [*re.split(r"\W+", username), username]
    for part in parts:
        if not part or _exceeds_length_ratio(lowered, part, max_similarity):
            continue
        other = part.lower()
        # SequenceMatcher's real_quick_ratio() (an upper bound of ratio(), from the
        # lengths alone): most parts of a username are too short to be similar.
        if 2.0 * min(len(lowered), len(other)) / (len(lowered) + len(other)) < max_similarity:
            continue
        matcher = SequenceMatcher(a=lowered, b=other)
        if matcher.quick_ratio() >= max_similarity and matcher.ratio() >= max_similarity:
            return True
    return False


def could_meet(policy: PasswordPolicy, word: str) -> bool:
    """Whether some casing of a lowercase ``word`` meets ``policy`` (for the live
    checklist's common-password tick: Django compares passwords lowercased)."""
    variant = re.sub("[a-z]", lambda m: m[0].upper(), word, count=1)
    return password_space_problem(word) is None and not policy.unmet(variant)
