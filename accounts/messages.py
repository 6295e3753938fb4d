"""Every user-facing error text, in one catalogue."""

from dataclasses import dataclass
from http import HTTPStatus

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from .cognito import Kind


@dataclass(frozen=True)
class Problem:
    message: str | Promise
    field: str | None  # None: about the whole form
    status: HTTPStatus


FIELD = {
    "username_required": _("Enter your username."),
    "username_invalid": _(
        "Enter the username from your email. It can't contain spaces or control characters."
    ),
    "code_required": _("Enter the code from your email."),
    "code_invalid": _("This code doesn't look right. Copy it again from your email."),
    "password_required": _("Enter a new password."),
    "password_edge_space": _("Your password can't start or end with a space."),
    "password_whitespace": _(
        "Your password can contain ordinary spaces, but no tabs, line breaks or other "
        "kinds of space."
    ),
    "password_too_long": _("Your password can be at most %(max)d characters."),
    "password_common": _("This password is too common. Choose one that's harder to guess."),
    "password_similar": _("Your password is too similar to your username."),
    # Translators: Security text: say exactly this, no more and no less. "Data breach": the
    # password was found in a list of leaked passwords.
    "password_breached": _(
        "This password has appeared in a data breach, so attackers may already know it. "
        "Choose a different one."
    ),
    "password_breach_unchecked": _(
        "We couldn't check this password against known data breaches just now. "
        "Try again in a minute."
    ),
    "password2_required": _("Enter your new password again."),
    "password_mismatch": _("The two passwords don't match."),
    "context_data_invalid": _("Your browser sent invalid data. Reload the page and try again."),
}

# The checklist under the password field: each item completes "Your password needs:".
RULES = {
    # Translators: An item of the checklist "Your password needs:", shown as a list.
    "length": _("At least %(min)d characters"),
    "lowercase": _("A lowercase letter (a–z)"),
    "uppercase": _("An uppercase letter (A–Z)"),
    "number": _("A number (0–9)"),
    "symbol": _("A symbol (such as ! @ # $ & *) or a space between words"),
}

# The same items inside the sentence "Your password needs: %(rules)s." (forms.py).
RULES_IN_SENTENCE = {
    # Translators: Inside the sentence "Your password needs: …", after the colon; write it
    # as it reads there (lower case where your language would).
    "length": pgettext_lazy("inside a sentence", "at least %(min)d characters"),
    "lowercase": pgettext_lazy("inside a sentence", "a lowercase letter (a–z)"),
    "uppercase": pgettext_lazy("inside a sentence", "an uppercase letter (A–Z)"),
    "number": pgettext_lazy("inside a sentence", "a number (0–9)"),
    "symbol": pgettext_lazy(
        "inside a sentence", "a symbol (such as ! @ # $ & *) or a space between words"
    ),
}

COGNITO = {
    Kind.CODE_INVALID: Problem(
        # Translators: Security text: try again with the latest code. Say exactly this.
        _("This code is wrong or has expired. Check your latest email, or get a new code."),
        "code",
        HTTPStatus.BAD_REQUEST,
    ),
    Kind.PASSWORD_REJECTED: Problem(
        _("This password doesn't meet the requirements. Choose another."),
        "new_password1",
        HTTPStatus.BAD_REQUEST,
    ),
    Kind.PASSWORD_REUSED: Problem(
        _("You've used this password before. Choose a new one."),
        "new_password1",
        HTTPStatus.BAD_REQUEST,
    ),
    Kind.INVALID_REQUEST: Problem(
        _("We couldn't reset the password with these details. Check them, or contact support."),
        None,
        HTTPStatus.BAD_REQUEST,
    ),
    Kind.RULE_REJECTED: Problem(
        _("Your organisation's rules refused this request. Contact support."),
        None,
        HTTPStatus.BAD_REQUEST,
    ),
    Kind.RATE_LIMITED: Problem(
        # Translators: Security text (locked out for a while): say exactly this.
        _("Too many attempts. Wait a while and try again."),
        None,
        HTTPStatus.TOO_MANY_REQUESTS,
    ),
    Kind.BLOCKED: Problem(
        _(
            "This request was blocked. If you use a VPN or proxy, try without it, "
            "or contact support."
        ),
        None,
        HTTPStatus.FORBIDDEN,
    ),
    Kind.DELIVERY_FAILED: Problem(
        _("We couldn't send a code right now. Try again in a minute."),
        None,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
    Kind.UNAVAILABLE: Problem(
        _("The sign-in service isn't answering right now. Try again in a minute."),
        None,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
    Kind.OUTCOME_UNKNOWN: Problem(
        # Translators: Security text: we do not know whether the password changed.
        # Say exactly that; do not reassure.
        _(
            "The sign-in service took too long to answer, so we can't tell whether your "
            "password changed. Try signing in with the new password first; if that fails, "
            "try again."
        ),
        None,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
    # Busy for everyone (our pacing, or Cognito's quota): said with when it will be
    # sent again (press_again, or the page's own countdown).
    Kind.BUSY: Problem(
        _("A lot of people are resetting their password right now. Nothing was changed."),
        None,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
    Kind.THROTTLED: Problem(
        _("A lot of people are resetting their password right now. Nothing was changed."),
        None,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
    Kind.CIRCUIT_OPEN: Problem(
        # Translators: Security text: "your request" (not your password) was not
        # sent, and nothing was changed. Say exactly that.
        _(
            "The sign-in service isn't answering, so we didn't send your request and "
            "nothing was changed. Try again in a minute."
        ),
        None,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
}

# The answers the page sends again by itself, after Retry-After (reset.js).
AUTO_RETRY = frozenset({Kind.BUSY, Kind.THROTTLED})

# /forgot/ says what did not happen in its own words: no code was sent.
FORGOT = {
    Kind.UNAVAILABLE: Problem(
        _("The sign-in service isn't answering right now. Try again in a minute."),
        None,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
    Kind.BUSY: Problem(
        _("A lot of people are asking for a code right now, so we haven't sent yours yet."),
        None,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
    Kind.THROTTLED: Problem(
        _("A lot of people are asking for a code right now, so we haven't sent yours yet."),
        None,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
    Kind.CIRCUIT_OPEN: Problem(
        # Translators: Security text: no code was sent. Say exactly that.
        _(
            "The sign-in service isn't answering, so we couldn't send a code. "
            "Try again in a minute."
        ),
        None,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
}


def press_again(seconds: int, button: str | Promise) -> str:
    """Under a busy answer, without JavaScript: when to press the form's button again."""
    return ngettext(
        # Translators: %(button)s is the form's button, such as "Set new password".
        "Wait %(n)d second, then press “%(button)s” again.",
        "Wait %(n)d seconds, then press “%(button)s” again.",
        seconds,
    ) % {"n": seconds, "button": button}


# With JavaScript the page counts down and sends again by itself.
# Translators: %(when)s is the browser's own relative time in the page's language,
# such as "in 7 seconds" (Intl.RelativeTimeFormat); "we" is this site.
COUNTDOWN = _("We'll try again %(when)s.")
BUTTONS = {"confirm": _("Set new password"), "forgot": _("Send code")}


def retry_text(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return ngettext("Try again in %(n)d minute.", "Try again in %(n)d minutes.", minutes) % {
        "n": minutes
    }
