"""Validate captured requests against botocore's model: lengths and patterns included.

botocore's client checks only minimum lengths, so the site must keep to the
rest itself; tests check what actually reached the Cognito stand-in.

Where the service checks differently from the model, the service wins: for a
Password, botocore's pattern is ``[\\S]+`` but Cognito checks ``^[\\S]+.*[\\S]+$``
(its validation errors quote it), so inner spaces are allowed.
"""

from __future__ import annotations

from typing import Any

import botocore.session
import regex  # supports \p{L} and friends, as the model's patterns use

SHAPES = botocore.session.get_session().get_service_model("cognito-idp")
# Shape name → the pattern the service itself applies.
SERVICE_PATTERNS = {"PasswordType": r"^[\S]+.*[\S]+$"}


def _check(shape: Any, value: Any, path: str) -> None:
    if shape.type_name == "structure":
        assert isinstance(value, dict), path
        for name in shape.required_members:
            assert name in value, f"{path}.{name} missing"
        for name, item in value.items():
            assert name in shape.members, f"{path}.{name} is not in the model"
            _check(shape.members[name], item, f"{path}.{name}")
    elif shape.type_name == "map":
        assert isinstance(value, dict), path
        for key, item in value.items():
            _check(shape.key, key, f"{path} key")
            _check(shape.value, item, f"{path}[{key}]")
    elif shape.type_name == "string":
        assert isinstance(value, str), path
        meta = shape.metadata
        assert meta.get("min", 0) <= len(value) <= meta.get("max", 10**9), (path, len(value))
        pattern = SERVICE_PATTERNS.get(shape.name, meta.get("pattern"))
        if pattern:
            assert regex.fullmatch(pattern, value), (path, value)


def assert_valid_request(operation: str, body: dict[str, Any]) -> None:
    """Fail unless ``body`` is a valid ``operation`` request under botocore's model."""
    shape = SHAPES.operation_model(operation).input_shape
    assert shape is not None
    _check(shape, body, operation)
