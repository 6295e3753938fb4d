"""What Cognito's answers mean for the user: the kinds of failure, ForgotPassword's
neutral outcomes, and the tables that map each error code to one of them.

Pure: no Django, no boto3. cognito.py applies the tables to each call (and
re-exports everything here, so ``cognito.Kind`` is the name the site uses).
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass


class Kind(enum.StrEnum):
    """What a failed call means for the user."""

    CODE_INVALID = "code_invalid"
    PASSWORD_REJECTED = "password_rejected"  # noqa: S105 - an outcome name
    PASSWORD_REUSED = "password_reused"  # noqa: S105 - an outcome name
    INVALID_REQUEST = "invalid_request"
    RULE_REJECTED = "rule_rejected"
    RATE_LIMITED = "rate_limited"  # one person's own limit (Cognito's or ours): a long wait
    BLOCKED = "blocked"
    DELIVERY_FAILED = "delivery_failed"
    UNAVAILABLE = "unavailable"
    OUTCOME_UNKNOWN = "outcome_unknown"
    # Refused before sending: nothing reached Cognito, so nothing changed.
    BUSY = "busy"  # the bulkhead is full, or the wait for a turn would be too long
    CIRCUIT_OPEN = "circuit_open"
    # Cognito's account-wide quota refused it (TooManyRequestsException): busy for everyone.
    THROTTLED = "throttled"


# Refusals that never reached Cognito (or that it refused unread): never counted
# toward anyone's own limits.
NOT_COUNTED = frozenset({Kind.BUSY, Kind.THROTTLED, Kind.CIRCUIT_OPEN})


class Outcome(enum.StrEnum):
    """What a ForgotPassword call that the user sees as "sent" really did.

    The answer is the same for all of them, so that nobody can learn from it
    whether an account exists or can reset; the attempt log tells them apart.
    """

    SENT = "sent"  # Cognito accepted it (with PreventUserExistenceErrors, unknown users too)
    UNKNOWN_USER = "unknown_user"  # UserNotFoundException (PreventUserExistenceErrors=LEGACY)
    NOT_RESETTABLE = "not_resettable"  # an invited user, or no verified email or phone
    NOT_SENT = "not_sent"  # refused for a reason the operator must fix (logged as an error)


@dataclass(frozen=True)
class Neutral:
    """A ForgotPassword outcome that looks like success; ``code`` is Cognito's error, if any."""

    outcome: Outcome
    code: str | None = None


LOCKED_RETRY_AFTER = 900
# Busy for everyone: try again in a few seconds, not all at the same moment.
BUSY_RETRY_AFTER = 4  # the bulkhead: a place frees as soon as a call ends
THROTTLED_RETRY_AFTER = 2  # Cognito's quota refills every second
RETRY_JITTER = 3.0


def soon(seconds: float) -> int:
    """A short Retry-After: ``seconds`` plus up to RETRY_JITTER, in whole seconds."""
    return max(1, math.ceil(seconds + random.uniform(0, RETRY_JITTER)))  # noqa: S311


CONFIRM_ERRORS: dict[str, Kind] = {
    "CodeMismatchException": Kind.CODE_INVALID,
    "ExpiredCodeException": Kind.CODE_INVALID,
    # Unknown, unconfirmed or disabled users look exactly like a wrong code.
    "UserNotFoundException": Kind.CODE_INVALID,
    "UserNotConfirmedException": Kind.CODE_INVALID,
    "NotAuthorizedException": Kind.CODE_INVALID,
    # moto raises this for an unknown user; real Cognito for a missing pool.
    # Either way the user must not learn which: it is logged as an error.
    "ResourceNotFoundException": Kind.CODE_INVALID,
    "InvalidPasswordException": Kind.PASSWORD_REJECTED,
    "PasswordHistoryPolicyViolationException": Kind.PASSWORD_REUSED,
    "InvalidParameterException": Kind.INVALID_REQUEST,
    "UserLambdaValidationException": Kind.RULE_REJECTED,
    "UnexpectedLambdaException": Kind.UNAVAILABLE,
    "InvalidLambdaResponseException": Kind.UNAVAILABLE,
    "TooManyFailedAttemptsException": Kind.RATE_LIMITED,
    "TooManyRequestsException": Kind.THROTTLED,
    "LimitExceededException": Kind.RATE_LIMITED,
    "OperationNotEnabledException": Kind.UNAVAILABLE,
    # Cognito failed inside: the password may or may not have changed.
    "InternalErrorException": Kind.OUTCOME_UNKNOWN,
    "ForbiddenException": Kind.BLOCKED,
}

FORGOT_ERRORS: dict[str, Kind | Outcome] = {
    "UserNotFoundException": Outcome.UNKNOWN_USER,
    # An invited user who never set a password (FORCE_CHANGE_PASSWORD): "User
    # password cannot be reset in the current state". The same code also means a
    # wrong SecretHash; _is_account_state tells them apart by the message.
    "NotAuthorizedException": Outcome.NOT_RESETTABLE,
    "ResourceNotFoundException": Kind.UNAVAILABLE,
    # The account has no verified email or phone number to send a code to.
    "InvalidParameterException": Outcome.NOT_RESETTABLE,
    "UserLambdaValidationException": Kind.RULE_REJECTED,
    "UnexpectedLambdaException": Kind.UNAVAILABLE,
    "InvalidLambdaResponseException": Kind.UNAVAILABLE,
    "TooManyRequestsException": Kind.THROTTLED,
    "LimitExceededException": Kind.RATE_LIMITED,
    "InvalidSmsRoleAccessPolicyException": Kind.DELIVERY_FAILED,
    "InvalidSmsRoleTrustRelationshipException": Kind.DELIVERY_FAILED,
    "InvalidEmailRoleAccessPolicyException": Kind.DELIVERY_FAILED,
    "CodeDeliveryFailureException": Kind.DELIVERY_FAILED,
    "OperationNotEnabledException": Kind.UNAVAILABLE,
    "InternalErrorException": Kind.UNAVAILABLE,
    "ForbiddenException": Kind.BLOCKED,
}

# Error codes that mean the operator must act (misconfiguration), not the user.
OPERATOR_ERRORS = frozenset(
    {
        "NotAuthorizedException",
        "ResourceNotFoundException",
        "OperationNotEnabledException",
        "InvalidSmsRoleAccessPolicyException",
        "InvalidSmsRoleTrustRelationshipException",
        "InvalidEmailRoleAccessPolicyException",
        "UnexpectedLambdaException",
        "InvalidLambdaResponseException",
    }
)


# NotAuthorizedException's message when the account, not the app client, is the reason.
_ACCOUNT_STATE_MESSAGE = "cannot be reset in the current state"


def _is_account_state(code: str, message: str) -> bool:
    return code == "NotAuthorizedException" and _ACCOUNT_STATE_MESSAGE in message.lower()


@dataclass
class CognitoError(Exception):
    """A call failed; ``kind`` says what it means for the user. ``fault``: the
    service's fault (a timeout, a 5xx, no connection), which the breaker counts."""

    kind: Kind
    code: str
    retry_after: int | None = None
    fault: bool = False

    def __str__(self) -> str:
        return f"{self.kind}: {self.code}"
