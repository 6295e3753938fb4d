"""Every request the site can send is valid under botocore's model.

That is why the client skips botocore's own parameter validation
(``parameter_validation=False`` in accounts/cognito.py): whatever passes our
forms (accounts/forms.py, the limits of accounts/policy.py) goes to
accounts.cognito as flows.py passes it, with every optional part on (a client
secret, client metadata, context data, the client's address), and the request
is checked against the model, lengths and patterns included
(tests/cognito_model.py), and by botocore's validator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts import cognito
from accounts.forms import ForgotForm, ResetForm
from accounts.policy import CODE_MAX, CONTEXT_DATA_MAX, PASSWORD_MAX, USERNAME_MAX, PasswordPolicy
from tests.cognito_model import SHAPES, assert_valid_request
from tests.reach import ANY, Reach

# Cognito's most lenient policy: as many passwords as possible pass the form.
LENIENT = PasswordPolicy(6, False, False, False, False)
PROFILE = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
# Mostly what a form accepts (letters, marks, numbers, punctuation, symbols), some anything.
visible = st.text(st.characters(categories=["L", "M", "N", "P", "S"]), min_size=1, max_size=40)
text = st.one_of(visible, visible, visible, text)
usernames = st.one_of(
    text,
    st.sampled_from(["名前", "a@b.c", " alice ", "a" * USERNAME_MAX, "a" * (USERNAME_MAX + 1)]),
)
codes = st.one_of(text, st.sampled_from(["1", "١٢٣", "x" * CODE_MAX, "x" * (CODE_MAX + 1)]))
passwords = st.one_of(
    st.text(st.characters(categories=["L", "M", "N", "P", "S"]), min_size=6, max_size=60),
    text,
    st.sampled_from(["Tiny Green Frog 42", "Ωmega-Lock", "P" * PASSWORD_MAX, "P" * 257]),
)
addresses = st.one_of(st.none(), st.ip_addresses().map(str))


@pytest.fixture
def sent(settings: Any) -> Iterator[tuple[Stubber, list[tuple[str, dict[str, Any]]]]]:
    settings.COGNITO_CLIENT_METADATA = {"source": "reset-site", "lang": "ja"}
    settings.COGNITO_CONTEXT_DATA = True
    cognito.reset_clients()
    client = cognito.public_client()
    captured: list[tuple[str, dict[str, Any]]] = []

    def capture(params: dict[str, Any], model: Any, **_: Any) -> None:
        captured.append((model.name, dict(params)))

    client.meta.events.register("before-parameter-build.cognito-idp.*", capture)
    with Stubber(client) as stub:
        yield stub, captured
    cognito.reset_clients()


def _check(captured: list[tuple[str, dict[str, Any]]]) -> None:
    (operation, params) = captured.pop()
    assert_valid_request(operation, params)
    shape = SHAPES.operation_model(operation).input_shape
    assert shape is not None
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


# About a fifth of the random forms are ones the site accepts (the rest: a password
# too short, a code with letters...); those are the examples that test something.
@pytest.mark.reaches("botocore's model", {ANY: 0.1})
@PROFILE
@given(username=usernames, code=codes, password=passwords, data=text, ip=addresses)
@example("a" * USERNAME_MAX, "x" * CODE_MAX, "P" * PASSWORD_MAX, "", "::1")
def test_every_reset_the_form_accepts_is_valid(
    sent: Any, reach: Reach, username: str, code: str, password: str, data: str, ip: str | None
) -> None:
    reach.record(ANY, reached=_reset(sent, username, code, password, data, ip))


@pytest.mark.parametrize("size", [CONTEXT_DATA_MAX, CONTEXT_DATA_MAX + 1])
def test_context_data_at_its_limit(sent: Any, size: int) -> None:
    accepted = _reset(sent, "alice", "123456", "Tiny-Green-Frog-42", "e" * size, "203.0.113.9")
    assert accepted == (size <= CONTEXT_DATA_MAX)  # one byte more: the form refuses it


def _reset(sent: Any, username: str, code: str, password: str, data: str, ip: str | None) -> bool:
    """Whether the form took it, and so Cognito's model was checked against it."""
    stub, captured = sent
    fields = {"username": username, "code": code, "cognito_context_data": data}
    form = ResetForm(
        {**fields, "new_password1": password, "new_password2": password}, policy=LENIENT
    )
    if not form.is_valid():
        return False
    stub.add_response("confirm_forgot_password", {})
    cognito.confirm_forgot_password(
        username=form.cleaned_data["username"],
        code=form.cleaned_data["code"],
        password=form.cleaned_data["new_password1"],
        ip_address=ip,
        encoded_data=form.cleaned_data["cognito_context_data"] or None,
    )
    _check(captured)
    return True


@pytest.mark.reaches("botocore's model", {ANY: 0.5})
@PROFILE
@given(username=usernames, ip=addresses)
@example("a" * USERNAME_MAX, "203.0.113.9")
def test_every_code_request_the_form_accepts_is_valid(
    sent: Any, reach: Reach, username: str, ip: str | None
) -> None:
    stub, captured = sent
    form = ForgotForm({"username": username})
    reach.record(ANY, reached=form.is_valid())
    if not form.is_valid():
        return
    stub.add_response("forgot_password", {})
    cognito.forgot_password(username=form.cleaned_data["username"], ip_address=ip)
    _check(captured)


def test_the_client_leaves_validation_to_us(sent: Any) -> None:
    stub, _ = sent
    stub.add_response("forgot_password", {})
    # botocore would refuse an empty Username (ParamValidationError) before sending.
    cognito.public_client().forgot_password(ClientId="c", Username="")
