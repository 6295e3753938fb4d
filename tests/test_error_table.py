"""Every error either call can raise goes through the error table (botocore Stubber)."""

from __future__ import annotations

from collections.abc import Iterator

import botocore.session
import pytest
from botocore.stub import Stubber

from accounts import cognito
from accounts.cognito import (
    CONFIRM_ERRORS,
    FORGOT_ERRORS,
    CognitoError,
    Kind,
    Neutral,
    Outcome,
)

MODEL = botocore.session.get_session().get_service_model("cognito-idp")


def _modeled(operation: str) -> set[str]:
    return {shape.name for shape in MODEL.operation_model(operation).error_shapes}


def test_confirm_table_covers_every_modeled_error() -> None:
    assert _modeled("ConfirmForgotPassword") <= set(CONFIRM_ERRORS)
    assert len(_modeled("ConfirmForgotPassword")) == 18


def test_forgot_table_covers_every_modeled_error() -> None:
    assert _modeled("ForgotPassword") <= set(FORGOT_ERRORS)
    assert len(_modeled("ForgotPassword")) == 16


@pytest.fixture
def stubber() -> Iterator[Stubber]:
    cognito.reset_clients()
    client = cognito.public_client()
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()
    cognito.reset_clients()


EXPECTED_CONFIRM = {
    "CodeMismatchException": Kind.CODE_INVALID,
    "ExpiredCodeException": Kind.CODE_INVALID,
    "UserNotFoundException": Kind.CODE_INVALID,
    "UserNotConfirmedException": Kind.CODE_INVALID,
    "NotAuthorizedException": Kind.CODE_INVALID,
    "ResourceNotFoundException": Kind.CODE_INVALID,
    "InvalidPasswordException": Kind.PASSWORD_REJECTED,
    "PasswordHistoryPolicyViolationException": Kind.PASSWORD_REUSED,
    "InvalidParameterException": Kind.INVALID_REQUEST,
    "UserLambdaValidationException": Kind.RULE_REJECTED,
    "UnexpectedLambdaException": Kind.UNAVAILABLE,
    "InvalidLambdaResponseException": Kind.UNAVAILABLE,
    "TooManyFailedAttemptsException": Kind.RATE_LIMITED,
    "LimitExceededException": Kind.RATE_LIMITED,
    "OperationNotEnabledException": Kind.UNAVAILABLE,
    "InternalErrorException": Kind.OUTCOME_UNKNOWN,
    "ForbiddenException": Kind.BLOCKED,
}


@pytest.mark.parametrize(("code", "kind"), sorted(EXPECTED_CONFIRM.items()))
def test_confirm_error_maps(stubber: Stubber, code: str, kind: Kind) -> None:
    stubber.add_client_error(
        "confirm_forgot_password", service_error_code=code, http_status_code=400
    )
    with pytest.raises(CognitoError) as caught:
        cognito.confirm_forgot_password(username="u", code="123456", password="Pw-123456!")
    assert caught.value.kind is kind
    assert caught.value.code == code
    if kind is Kind.RATE_LIMITED:  # one person's limit: a long wait
        assert caught.value.retry_after == cognito.LOCKED_RETRY_AFTER


def test_confirm_throttling_is_retried_once_then_reported(stubber: Stubber) -> None:
    for _ in range(2):
        stubber.add_client_error(
            "confirm_forgot_password",
            service_error_code="TooManyRequestsException",
            http_status_code=400,
        )
    with pytest.raises(CognitoError) as caught:
        cognito.confirm_forgot_password(username="u", code="123456", password="Pw-123456!")
    # Busy for everyone, not the person's own limit: a few seconds, jittered.
    assert caught.value.kind is Kind.THROTTLED
    assert caught.value.retry_after is not None
    low = cognito.THROTTLED_RETRY_AFTER
    assert low <= caught.value.retry_after <= low + cognito.RETRY_JITTER + 1


def test_confirm_throttling_then_success(stubber: Stubber) -> None:
    stubber.add_client_error(
        "confirm_forgot_password",
        service_error_code="TooManyRequestsException",
        http_status_code=400,
    )
    stubber.add_response("confirm_forgot_password", {})
    cognito.confirm_forgot_password(username="u", code="123456", password="Pw-123456!")


def test_unknown_error_code_is_a_service_fault(stubber: Stubber) -> None:
    stubber.add_client_error(
        "confirm_forgot_password", service_error_code="BrandNewException", http_status_code=400
    )
    with pytest.raises(CognitoError) as caught:
        cognito.confirm_forgot_password(username="u", code="1", password="Pw-123456!")
    assert caught.value.kind is Kind.UNAVAILABLE


@pytest.mark.parametrize(
    ("code", "message", "outcome"),
    [
        ("UserNotFoundException", "User does not exist.", Outcome.UNKNOWN_USER),
        (
            "NotAuthorizedException",
            "User password cannot be reset in the current state.",
            Outcome.NOT_RESETTABLE,
        ),
        (
            "InvalidParameterException",
            "Cannot reset password for the user as there is no registered/verified email or "
            "phone_number",
            Outcome.NOT_RESETTABLE,
        ),
        # The same code for a wrong SecretHash: the operator's to fix, never "not resettable".
        (
            "NotAuthorizedException",
            "Unable to verify secret hash for client abc",
            Outcome.NOT_SENT,
        ),
    ],
)
def test_forgot_neutral_errors_look_like_success(
    stubber: Stubber, caplog: pytest.LogCaptureFixture, code: str, message: str, outcome: Outcome
) -> None:
    stubber.add_client_error(
        "forgot_password", service_error_code=code, service_message=message, http_status_code=400
    )
    # No exception: the same answer as success. What it really was comes back for the log.
    assert cognito.forgot_password(username="nobody") == Neutral(outcome, code)
    misconfigured = [r for r in caplog.records if r.getMessage() == "cognito_misconfiguration"]
    assert bool(misconfigured) is (outcome is Outcome.NOT_SENT)


def test_forgot_success_is_sent(stubber: Stubber) -> None:
    stubber.add_response("forgot_password", {})
    assert cognito.forgot_password(username="someone") == Neutral(Outcome.SENT)


def test_every_neutral_forgot_error_has_an_outcome() -> None:
    neutral = {
        code: mapped for code, mapped in FORGOT_ERRORS.items() if isinstance(mapped, Outcome)
    }
    assert neutral == {
        "UserNotFoundException": Outcome.UNKNOWN_USER,
        "NotAuthorizedException": Outcome.NOT_RESETTABLE,
        "InvalidParameterException": Outcome.NOT_RESETTABLE,
    }


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("CodeDeliveryFailureException", Kind.DELIVERY_FAILED),
        ("InvalidSmsRoleAccessPolicyException", Kind.DELIVERY_FAILED),
        ("InvalidSmsRoleTrustRelationshipException", Kind.DELIVERY_FAILED),
        ("InvalidEmailRoleAccessPolicyException", Kind.DELIVERY_FAILED),
        ("LimitExceededException", Kind.RATE_LIMITED),
        ("ResourceNotFoundException", Kind.UNAVAILABLE),
        ("InternalErrorException", Kind.UNAVAILABLE),
        ("OperationNotEnabledException", Kind.UNAVAILABLE),
        ("UserLambdaValidationException", Kind.RULE_REJECTED),
        ("UnexpectedLambdaException", Kind.UNAVAILABLE),
        ("InvalidLambdaResponseException", Kind.UNAVAILABLE),
        ("ForbiddenException", Kind.BLOCKED),
    ],
)
def test_forgot_error_maps(stubber: Stubber, code: str, kind: Kind) -> None:
    stubber.add_client_error("forgot_password", service_error_code=code, http_status_code=400)
    with pytest.raises(CognitoError) as caught:
        cognito.forgot_password(username="someone")
    assert caught.value.kind is kind


def test_every_kind_has_a_message() -> None:
    from accounts import messages

    assert set(messages.COGNITO) == set(Kind)
