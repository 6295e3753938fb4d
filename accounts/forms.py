"""Validation within Cognito's own limits and the pool's policy, before any call."""

from __future__ import annotations

import functools
import gzip
import re
from typing import Any

from django import forms
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from . import breach, messages
from .cognito import Kind
from .policy import (
    CONTEXT_DATA_MAX,
    EDGE_SPACE,
    PASSWORD_MAX,
    PasswordPolicy,
    could_meet,
    is_valid_code,
    is_valid_username,
    normalize_code,
    password_space_problem,
    too_similar,
)

_common = CommonPasswordValidator()

# What of the common-password list may reach the page: plain ASCII letters, digits and
# everyday symbols (no HTML-entity debris such as "&#39", no quotes, colons or
# backslashes), and nothing offensive. The form still checks the whole list.
_PLAIN = re.compile(r"[A-Za-z0-9!#$%*+,.<=>?@^_~-]+")
_OFFENSIVE = (
    "asshole", "bitch", "boob", "cock", "cunt", "dick", "fag", "fuck", "nigg",
    "penis", "porn", "pussy", "sex", "shit", "slut", "tits", "vagina", "whore",
)  # fmt: skip


def shown_in_page(word: str) -> bool:
    """Whether a common password is fit to embed in the page for the live checklist."""
    lowered = word.lower()
    return bool(_PLAIN.fullmatch(word)) and not any(bad in lowered for bad in _OFFENSIVE)


@functools.lru_cache(maxsize=8)
def common_passwords_for(policy: PasswordPolicy, limit: int = 200) -> list[str]:
    """The most common passwords a password meeting ``policy`` could still be, most
    common first, for the live checklist: only those fit to show (``shown_in_page``).
    The form itself checks the whole list."""
    found: list[str] = []
    with gzip.open(_common.DEFAULT_PASSWORD_LIST_PATH, "rt", encoding="utf-8") as lines:
        for line in lines:
            word = line.strip()
            if could_meet(policy, word) and shown_in_page(word):
                found.append(word)
                if len(found) == limit:
                    break
    return found


# Generous browser-side caps: longer input is refused server-side with a message.
# dir: in a right-to-left page, passwords and codes are still typed left to right (Latin
# passwords read that way); a username goes the way its first letter does.
_USERNAME_ATTRS = {
    "autocomplete": "username",
    "autocapitalize": "none",
    "spellcheck": "false",
    "dir": "auto",
}


class UsernameField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            strip=True,
            error_messages={"required": messages.FIELD["username_required"]},
            widget=forms.TextInput(attrs=_USERNAME_ATTRS),
            **kwargs,
        )

    def clean(self, value: Any) -> str:
        username: str = super().clean(value)
        if not is_valid_username(username):
            raise ValidationError(messages.FIELD["username_invalid"], code="username_invalid")
        return username


class AccessibleForm(forms.Form):
    """Ties each field to its message (aria-describedby) and marks bad fields invalid."""

    hints: dict[str, str] = {}
    # Shorter words for the error summary, by error code, where the field's own
    # message goes into detail (the summary links to it).
    summary_texts: dict[str, str | Promise] = {}

    def summary(self) -> list[tuple[str, str]]:
        """The error summary: (the field's id to link to, or "", text), form errors first."""
        items = [("", str(error)) for error in self.non_field_errors()]
        errors = self.errors.as_data()
        for bound in self:
            for error in errors.get(bound.name, []):
                text = self.summary_texts.get(error.code or "") or next(iter(error))
                items.append((bound.id_for_label, str(text)))
        return items

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, hint in self.hints.items():
            self.fields[name].widget.attrs["aria-describedby"] = hint

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                hint = self.hints.get(name)
                attrs["aria-describedby"] = f"{self[name].auto_id}_error" + (
                    f" {hint}" if hint else ""
                )


class ForgotForm(AccessibleForm):
    username = UsernameField(label=gettext_lazy("Username"))


class ResetForm(AccessibleForm):
    hints = {"new_password1": "password-rules"}
    summary_texts = {"policy": messages.COGNITO[Kind.PASSWORD_REJECTED].message}

    username = UsernameField(label=gettext_lazy("Username"))
    code = forms.CharField(
        label=gettext_lazy("Code from your email"),
        strip=False,
        error_messages={"required": messages.FIELD["code_required"]},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "none",
                "spellcheck": "false",
                "dir": "ltr",
            }
        ),
    )
    new_password1 = forms.CharField(
        label=gettext_lazy("New password"),
        strip=False,
        error_messages={"required": messages.FIELD["password_required"]},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "dir": "ltr"}),
    )
    new_password2 = forms.CharField(
        label=gettext_lazy("Confirm new password"),
        strip=False,
        error_messages={"required": messages.FIELD["password2_required"]},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "dir": "ltr"}),
    )
    cognito_context_data = forms.CharField(required=False, strip=True, widget=forms.HiddenInput())

    def __init__(
        self, *args: Any, policy: PasswordPolicy, retype: bool = False, **kwargs: Any
    ) -> None:
        if retype:  # the passwords sent were not kept: the field points at "type it again"
            self.hints = {**self.hints, "new_password1": "password-rules retype"}
        super().__init__(*args, **kwargs)
        self.policy = policy

    def clean_code(self) -> str:
        code = normalize_code(self.cleaned_data["code"])
        if not is_valid_code(code):
            raise ValidationError(messages.FIELD["code_invalid"], code="code_invalid")
        return code

    def clean_new_password1(self) -> str:
        password: str = self.cleaned_data["new_password1"]
        # Never trimmed: the user would not know their own password.
        space = password_space_problem(password)
        if space == EDGE_SPACE:
            raise ValidationError(messages.FIELD["password_edge_space"], code="edge_space")
        if space:
            raise ValidationError(messages.FIELD["password_whitespace"], code="whitespace")
        if len(password) > PASSWORD_MAX:
            raise ValidationError(
                messages.FIELD["password_too_long"], code="too_long", params={"max": PASSWORD_MAX}
            )
        unmet = self.policy.unmet(password)
        if unmet:
            needs = [
                str(messages.RULES_IN_SENTENCE[rule]) % {"min": self.policy.minimum_length}
                for rule in unmet
            ]
            # The list's punctuation is each language's own (Japanese: "、" and "。").
            separator = pgettext("between the items of a list", "; ")
            raise ValidationError(
                _("Your password needs: %(rules)s.") % {"rules": separator.join(needs)},
                code="policy",
            )
        try:
            _common.validate(password)
        except ValidationError:
            raise ValidationError(messages.FIELD["password_common"], code="common") from None
        outcome = breach.check(password)
        if breach.refuses(outcome):
            code = "breached" if outcome is breach.Outcome.FOUND else "breach_unchecked"
            raise ValidationError(messages.FIELD[f"password_{code}"], code=code)
        return password

    def clean_cognito_context_data(self) -> str:
        data: str = self.cleaned_data.get("cognito_context_data", "")
        if len(data) > CONTEXT_DATA_MAX or not data.isprintable():
            raise ValidationError(messages.FIELD["context_data_invalid"], code="context_data")
        return data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1 = cleaned.get("new_password1")
        password2 = self.data.get("new_password2") if self.is_bound else None
        username = cleaned.get("username")
        if password1 and username and too_similar(password1, username):
            self.add_error(
                "new_password1",
                ValidationError(messages.FIELD["password_similar"], code="similar"),
            )
        elif password1 and "new_password2" in cleaned and password1 != password2:
            self.add_error(
                "new_password2",
                ValidationError(messages.FIELD["password_mismatch"], code="mismatch"),
            )
        return cleaned
