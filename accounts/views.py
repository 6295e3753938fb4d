"""Thin views: validate, call a flow, then redirect or re-render."""

from __future__ import annotations

import dataclasses
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from . import cognito_pool, flows, messages
from .cognito import CognitoError, Kind
from .colors import Palette
from .forms import ForgotForm, ResetForm, common_passwords_for
from .middleware import page_headers
from .policy import CODE_MAX, PASSWORD_MAX, USERNAME_MAX, PasswordPolicy, is_valid_username

SESSION_USERNAME = "reset_username"
SESSION_CODE = "reset_code"
SESSION_DONE = "reset_done"
SESSION_NEXT = "reset_next"
# Codes are short; a longer value in a link is not a code and must not bloat the cookie.
LINK_CODE_MAX = 256
# Failures the person can't fix in the form: the page shows SUPPORT_URL or SUPPORT_EMAIL.
# (Not for busy answers: they go through by themselves.)
SUPPORT_KINDS = (
    frozenset(Kind)
    - {Kind.CODE_INVALID, Kind.PASSWORD_REJECTED, Kind.PASSWORD_REUSED}
    - messages.AUTO_RETRY
)


def _safe_next(url: str) -> str:
    """A link's next= target, if it stays on an allowed host over HTTPS; else ''."""
    if not url or len(url) > 2048:
        return ""
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts=settings.REDIRECT_ALLOWED_HOSTS, require_https=not settings.DEBUG
    )
    return url if allowed else ""


def _client_ip(request: HttpRequest) -> str | None:
    return getattr(request, "client_ip", None)


def _policy_rules(policy: PasswordPolicy) -> list[tuple[str, str]]:
    return [
        (rule, str(messages.RULES[rule]) % {"min": policy.minimum_length})
        for rule in policy.rules()
    ]


def _render_reset(
    request: HttpRequest,
    form: ResetForm,
    *,
    status: int = HTTPStatus.OK,
    problem: CognitoError | None = None,
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        # Read only when their {% cache %} fragment is rendered: once per language and policy.
        "rules": partial(_policy_rules, form.policy),
        "min_length": form.policy.minimum_length,
        "checklist_met": form.checklist_met() if form.errors else [],
        "common_passwords": partial(common_passwords_for, form.policy),
        "problem_kind": problem.kind if problem else "",
        "show_support": bool(problem and problem.kind in SUPPORT_KINDS),
        "user_pool_id": settings.COGNITO_USER_POOL_ID,
        "client_id": settings.COGNITO_CLIENT_ID,
        **_retry_context(problem, "confirm"),
    }
    response = render(request, "accounts/reset.html", context, status=status)
    return _with_retry_after(response, problem)


def _add_failure(
    form: ResetForm | ForgotForm,
    error: CognitoError,
    field: str | None,
    message: str | Promise | None = None,
) -> None:
    """Put the failure's message on its field (or the form), and when to try again."""
    form.add_error(field, str(message or messages.COGNITO[error.kind].message))
    if error.retry_after and error.kind is Kind.RATE_LIMITED:
        form.add_error(None, messages.retry_text(error.retry_after))


def _retry_context(error: CognitoError | None, action: str) -> dict[str, Any]:
    """Busy for everyone: when the form will be sent again (the page's countdown, from
    ``retry_after``), or when to press again without JavaScript (``retry_line``)."""
    if not (error and error.retry_after and error.kind in messages.AUTO_RETRY):
        return {}
    return {
        "retry_after": error.retry_after,
        "retry_line": messages.press_again(error.retry_after, messages.BUTTONS[action]),
        "retry_countdown": messages.COUNTDOWN,
    }


def _with_retry_after(response: HttpResponse, error: CognitoError | None) -> HttpResponse:
    if error and error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


@sensitive_variables()
@never_cache
@sensitive_post_parameters("new_password1", "new_password2", "code")
@require_http_methods(["GET", "HEAD", "POST"])
def reset(request: HttpRequest) -> HttpResponse:
    if request.method != "POST" and any(k in request.GET for k in ("code", "username", "next")):
        # The emailed link: move its values into the session at once, so the
        # code is never on a rendered URL (Referer, history of later pages, logs).
        next_url = _safe_next(request.GET.get("next", ""))
        if next_url:
            request.session[SESSION_NEXT] = next_url
        username = request.GET.get("username", "").strip()[:USERNAME_MAX]
        code = request.GET.get("code", "")[: min(CODE_MAX, LINK_CODE_MAX)]
        if username:
            request.session[SESSION_USERNAME] = username
        if code:
            request.session[SESSION_CODE] = code
        request.session.pop(SESSION_DONE, None)
        response = redirect("accounts:reset")
        if settings.FRAME_ANCESTORS and _in_cross_site_frame(request):
            # Safari refuses the session cookie in another site's frame, and the values
            # would be lost. The fragment is never sent to a server; the page's script
            # removes it, and keeps it only to open the form in a new tab (embed.js).
            kept = {"username": username, "code": code, "next": next_url}
            if "lang" in request.GET:  # and in the query: the language cookie may be refused too
                kept["lang"] = translation.get_language() or ""
                response["Location"] += "?" + urlencode({"lang": kept["lang"]})
            response["Location"] += "#" + urlencode({k: v for k, v in kept.items() if v})
        return response

    if request.session.get(SESSION_DONE):
        # Back (or a resubmit) after success: the password has changed, and the code
        # is spent. Say so, with the way to sign in, rather than an empty form.
        if request.method == "POST":
            return redirect("accounts:done")
        return _render_done(request)

    policy = cognito_pool.password_policy()
    if request.method != "POST":
        form = ResetForm(
            policy=policy,
            initial={
                "username": request.session.get(SESSION_USERNAME, ""),
                "code": request.session.get(SESSION_CODE, ""),
            },
        )
        return _render_reset(request, form)

    form = ResetForm(request.POST, policy=policy)
    submitted_username = request.POST.get("username", "").strip()[:USERNAME_MAX]
    if submitted_username and submitted_username.isprintable():
        request.session[SESSION_USERNAME] = submitted_username
    if not form.is_valid():
        flows.log_invalid(action="confirm", form=form, client_ip=_client_ip(request))
        return _render_reset(request, form, status=HTTPStatus.BAD_REQUEST)

    data = form.cleaned_data
    error = flows.confirm_reset(
        username=data["username"],
        code=data["code"],
        password=data["new_password1"],
        client_ip=_client_ip(request),
        encoded_data=data.get("cognito_context_data") or None,
    )
    if error is None:
        request.session.pop(SESSION_CODE, None)
        request.session[SESSION_DONE] = True
        return redirect("accounts:done")

    problem = messages.COGNITO[error.kind]
    _add_failure(form, error, problem.field)
    return _render_reset(request, form, status=problem.status, problem=error)


def _in_cross_site_frame(request: HttpRequest) -> bool:
    """Loaded in a frame of another site, by the browser's Fetch Metadata headers."""
    headers = request.headers
    return (
        headers.get("Sec-Fetch-Dest") == "iframe" and headers.get("Sec-Fetch-Site") == "cross-site"
    )


@never_cache
@require_GET
def frame_blocked(request: HttpRequest) -> HttpResponse:
    """Where embed.js sends a frame whose browser refuses the form's cookies."""
    if not settings.FRAME_ANCESTORS:
        raise Http404
    return render(request, "accounts/frame_blocked.html")


def _render_done(request: HttpRequest) -> HttpResponse:
    sign_in = request.session.get(SESSION_NEXT) or settings.SIGN_IN_URL
    return render(request, "accounts/done.html", {"sign_in_url": sign_in})


@never_cache
@require_GET
def done(request: HttpRequest) -> HttpResponse:
    if not request.session.get(SESSION_DONE):
        return redirect("accounts:reset")
    return _render_done(request)


@never_cache
@sensitive_post_parameters("username")
@require_http_methods(["GET", "HEAD", "POST"])
def forgot(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        username = request.GET.get("username", "") or request.session.get(SESSION_USERNAME, "")
        form = ForgotForm(initial={"username": username.strip()[:USERNAME_MAX]})
        return render(request, "accounts/forgot.html", {"form": form})

    form = ForgotForm(request.POST)
    if not form.is_valid():
        flows.log_invalid(action="forgot", form=form, client_ip=_client_ip(request))
        return render(
            request, "accounts/forgot.html", {"form": form}, status=HTTPStatus.BAD_REQUEST
        )
    username = form.cleaned_data["username"]
    error = flows.request_code(username=username, client_ip=_client_ip(request))
    if error is not None:
        problem = messages.FORGOT.get(error.kind) or messages.COGNITO[error.kind]
        _add_failure(
            form, error, problem.field if problem.field == "username" else None, problem.message
        )
        response = render(
            request,
            "accounts/forgot.html",
            {
                "form": form,
                "problem_kind": error.kind,
                "show_support": error.kind in SUPPORT_KINDS,
                **_retry_context(error, "forgot"),
            },
            status=problem.status,
        )
        return _with_retry_after(response, error)

    request.session[SESSION_USERNAME] = username
    request.session.pop(SESSION_CODE, None)
    request.session.pop(SESSION_DONE, None)
    return redirect("accounts:forgot_sent")


@never_cache
@require_GET
def forgot_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/forgot_sent.html")


@sensitive_variables()
@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "HEAD", "POST"])
def demo_sign_in(request: HttpRequest) -> HttpResponse:
    """The demo's "Sign in": tries the username and password against the emulator and
    says whether they work. Signs nobody in. Only with DEMO_SIGN_IN_CHECK; else 404."""
    if not settings.DEMO_SIGN_IN_CHECK:
        raise Http404
    username = str(request.session.get(SESSION_USERNAME, ""))
    outcome = ""
    status = HTTPStatus.OK
    if request.method == "POST":
        username = request.POST.get("username", "").strip()[:USERNAME_MAX]
        password = request.POST.get("password", "")
        if not username or not password:
            outcome, status = "missing", HTTPStatus.BAD_REQUEST
        elif not is_valid_username(username) or len(password) > PASSWORD_MAX:
            outcome = "refused"
        else:
            works = cognito_pool.demo_try_sign_in(username, password)
            outcome = {True: "works", False: "refused", None: "unknown"}[works]
    context = {"username": username, "outcome": outcome}
    return render(request, "accounts/demo_sign_in.html", context, status=status)


# The brand colours (settings.BRAND_PALETTE) as CSS custom properties over site.css's.
# A new format here needs a new THEME_CSS_FORMAT: browsers cache it for a year.
THEME_CSS_FORMAT = "1"
THEME_CSS = (
    ":root{{--brand:{brand};--brand-strong:{brand_strong};--on-brand:{on_brand};--focus:{brand}}}\n"
    "@media (prefers-color-scheme:dark){{:root{{--brand:{brand_dark};"
    "--brand-strong:{brand_dark_strong};--on-brand:{on_brand_dark};--focus:{brand_dark}}}}}\n"
)


def theme_version(palette: Palette) -> str:
    """The ?v= of /theme.css (linked by every page): changes whenever the CSS would."""
    return THEME_CSS_FORMAT + "-" + "".join(c.lstrip("#") for c in dataclasses.astuple(palette))


@xframe_options_exempt
@require_GET
def theme_css(request: HttpRequest) -> HttpResponse:
    """BRAND_COLOR's shades, linked from every page when it is set; cached for a year.
    A stylesheet, like the static ones: no page headers (CSP, X-Frame-Options)."""
    palette: Palette | None = settings.BRAND_PALETTE
    if palette is None:
        raise Http404
    response = HttpResponse(
        THEME_CSS.format(**dataclasses.asdict(palette)), content_type="text/css; charset=utf-8"
    )
    if request.GET.get("v") == theme_version(palette):
        response["Cache-Control"] = "public, max-age=31536000, immutable"
    else:  # an old or missing version: serve today's colours, but don't let them stick
        response["Cache-Control"] = "no-cache"
    setattr(response, "_csp_exempt", True)  # noqa: B010 - what django-csp's @csp_exempt() sets
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "csrf_failure.html", status=HTTPStatus.FORBIDDEN)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Also the answer to requests refused inside the middleware (a bad Host, too
    # many fields), before the header middleware ran: the same headers as any page.
    return page_headers(request, render(request, "400.html", status=HTTPStatus.BAD_REQUEST))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=HTTPStatus.NOT_FOUND)


def server_error(request: HttpRequest) -> HttpResponse:
    response = render(request, "500.html", status=HTTPStatus.INTERNAL_SERVER_ERROR)
    return page_headers(request, response)


def root(request: HttpRequest) -> HttpResponseRedirect:
    return redirect(reverse("accounts:reset"))
