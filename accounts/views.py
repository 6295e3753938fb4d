"""Thin views: validate, call a flow, then redirect or re-render."""

from __future__ import annotations

import dataclasses
import functools
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from . import admission, cognito_pool, flows, messages, pages
from .cognito import CognitoError, Kind
from .colors import Palette
from .forms import ForgotForm, ResetForm, common_passwords_for
from .middleware import page_headers
from .pages import FormState, Page
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


@functools.lru_cache(maxsize=32)
def _url(name: str, prefix: str, urlconf: str) -> str:
    return reverse(name, urlconf=urlconf)


def _redirect(name: str) -> HttpResponseRedirect:
    """``redirect(name)``, with the URL reversed once per script prefix and URLconf:
    reverse() was a measurable part of every successful reset."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return HttpResponseRedirect(_url(name, get_script_prefix(), urlconf))


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


def _reset_page(
    state: FormState,
    policy: PasswordPolicy,
    *,
    problem: CognitoError | None = None,
    retype: bool = False,
) -> Page:
    def context() -> dict[str, Any]:  # only when this shape of the page is first rendered
        return {
            "rules": _policy_rules(policy),
            "min_length": policy.minimum_length,
            "common_passwords": common_passwords_for(policy),
            "user_pool_id": settings.COGNITO_USER_POOL_ID,
            "client_id": settings.COGNITO_CLIENT_ID,
        }

    return Page(
        "accounts/reset.html",
        form=state,
        # The page never sends a password back: after a failed submit both fields are
        # empty, so the checklist shows nothing met and the page says to type it again.
        fixed={**_problem_context(problem), "retype": retype},
        values=_retry_values(problem, "confirm"),
        context=context,
        status=messages.COGNITO[problem.kind].status if problem else HTTPStatus.OK,
    )


def _forgot_page(state: FormState, *, problem: CognitoError | None = None) -> Page:
    status = _forgot_problem(problem.kind).status if problem else HTTPStatus.OK
    return Page(
        "accounts/forgot.html",
        form=state,
        fixed=_problem_context(problem),
        values=_retry_values(problem, "forgot"),
        status=status,
    )


def _problem_context(problem: CognitoError | None) -> dict[str, Any]:
    return {
        "problem_kind": problem.kind if problem else "",
        "show_support": bool(problem and problem.kind in SUPPORT_KINDS),
    }


def _forgot_problem(kind: Kind) -> messages.Problem:
    return messages.FORGOT.get(kind) or messages.COGNITO[kind]


def _failures(error: CognitoError, *, forgot: bool = False) -> list[tuple[str | None, str]]:
    """The failure's message on its field (or the form), and when to try again."""
    problem = _forgot_problem(error.kind) if forgot else messages.COGNITO[error.kind]
    field = problem.field
    if forgot and field != "username":
        field = None
    failures = [(field, str(problem.message))]
    if error.retry_after and error.kind is Kind.RATE_LIMITED:
        failures.append((None, messages.retry_text(error.retry_after)))
    return failures


def _add_failure(
    form: ResetForm | ForgotForm, error: CognitoError, *, forgot: bool = False
) -> None:
    for field, text in _failures(error, forgot=forgot):
        form.add_error(field, text)


def _refused(request: HttpRequest, error: CognitoError, page: Page) -> HttpResponse:
    return _with_retry_after(pages.render(request, page), error)


def _refusal_state(
    form_class: type[ResetForm] | type[ForgotForm],
    request: HttpRequest,
    error: CognitoError,
    **options: Any,
) -> FormState:
    """The form as sent, not validated, with the refusal's messages: no form work."""
    errors: dict[str, list[tuple[str, None]]] = {}
    for field, text in _failures(error, forgot=form_class is ForgotForm):
        errors.setdefault(field or NON_FIELD_ERRORS, []).append((text, None))
    return FormState.sent(
        form_class, request.POST, {k: tuple(v) for k, v in errors.items()}, **options
    )


def _retry_values(error: CognitoError | None, action: str) -> dict[str, Any]:
    """Busy for everyone: when the form will be sent again (the page's countdown, from
    ``retry_after``), or when to press again without JavaScript (``retry_line``).
    Per-request values of the page: the seconds change with every answer."""
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


def _keep_username(request: HttpRequest, username: str) -> None:
    """Remember the submitted username for the next visit (the cookie is signed
    again only when it changes)."""
    if username and username.isprintable() and request.session.get(SESSION_USERNAME) != username:
        request.session[SESSION_USERNAME] = username


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
        response = _redirect("accounts:reset")
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
            return _redirect("accounts:done")
        return _render_done(request)

    policy = cognito_pool.password_policy()
    if request.method != "POST":
        initial = {
            "username": request.session.get(SESSION_USERNAME, ""),
            "code": request.session.get(SESSION_CODE, ""),
        }
        state = FormState.unbound(ResetForm, initial, policy=policy)
        return pages.render(request, _reset_page(state, policy))

    username = request.POST.get("username", "").strip()[:USERNAME_MAX]
    retype = any(request.POST.get(name) for name in ("new_password1", "new_password2"))
    refused = admission.refusal("confirm", username=username, client_ip=_client_ip(request))
    if refused is not None:
        state = _refusal_state(ResetForm, request, refused, policy=policy, retype=retype)
        page = _reset_page(state, policy, problem=refused, retype=retype)
        return _refused(request, refused, page)

    _keep_username(request, username)
    form = ResetForm(request.POST, policy=policy, retype=retype)
    if not form.is_valid():
        flows.log_invalid(action="confirm", form=form, client_ip=_client_ip(request))
        page = _reset_page(FormState.of(form, policy=policy, retype=retype), policy, retype=retype)
        page.status = HTTPStatus.BAD_REQUEST
        return pages.render(request, page)

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
        return _redirect("accounts:done")

    _add_failure(form, error)
    state = FormState.of(form, policy=policy, retype=retype)
    page = _reset_page(state, policy, problem=error, retype=retype)
    return _with_retry_after(pages.render(request, page), error)


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
    return pages.render(request, Page("accounts/frame_blocked.html"))


def _render_done(request: HttpRequest) -> HttpResponse:
    sign_in = request.session.get(SESSION_NEXT) or settings.SIGN_IN_URL
    return pages.render(request, Page("accounts/done.html", values={"sign_in_url": sign_in}))


@never_cache
@require_GET
def done(request: HttpRequest) -> HttpResponse:
    if not request.session.get(SESSION_DONE):
        return _redirect("accounts:reset")
    return _render_done(request)


@never_cache
@sensitive_post_parameters("username")
@require_http_methods(["GET", "HEAD", "POST"])
def forgot(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        username = request.GET.get("username", "") or request.session.get(SESSION_USERNAME, "")
        initial = {"username": username.strip()[:USERNAME_MAX]}
        return pages.render(request, _forgot_page(FormState.unbound(ForgotForm, initial)))

    refused = admission.refusal(
        "forgot", username=request.POST.get("username", "").strip(), client_ip=_client_ip(request)
    )
    if refused is not None:
        state = _refusal_state(ForgotForm, request, refused)
        return _refused(request, refused, _forgot_page(state, problem=refused))

    form = ForgotForm(request.POST)
    if not form.is_valid():
        flows.log_invalid(action="forgot", form=form, client_ip=_client_ip(request))
        page = _forgot_page(FormState.of(form))
        page.status = HTTPStatus.BAD_REQUEST
        return pages.render(request, page)
    username = form.cleaned_data["username"]
    error = flows.request_code(username=username, client_ip=_client_ip(request))
    if error is not None:
        _add_failure(form, error, forgot=True)
        page = _forgot_page(FormState.of(form), problem=error)
        return _with_retry_after(pages.render(request, page), error)

    request.session[SESSION_USERNAME] = username
    request.session.pop(SESSION_CODE, None)
    request.session.pop(SESSION_DONE, None)
    return _redirect("accounts:forgot_sent")


@never_cache
@require_GET
def forgot_sent(request: HttpRequest) -> HttpResponse:
    return pages.render(request, Page("accounts/forgot_sent.html"))


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
    page = Page("accounts/demo_sign_in.html", fixed={"outcome": outcome}, status=status)
    page.values = {"username": username}
    return pages.render(request, page)


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
    return pages.render(request, Page("csrf_failure.html", status=HTTPStatus.FORBIDDEN))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Also the answer to requests refused inside the middleware (a bad Host, too
    # many fields), before the header middleware ran: the same headers as any page.
    page = Page("400.html", status=HTTPStatus.BAD_REQUEST)
    return page_headers(request, pages.render(request, page))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return pages.render(request, Page("404.html", status=HTTPStatus.NOT_FOUND))


def server_error(request: HttpRequest) -> HttpResponse:
    response = render(request, "500.html", status=HTTPStatus.INTERNAL_SERVER_ERROR)
    return page_headers(request, response)


def root(request: HttpRequest) -> HttpResponseRedirect:
    return _redirect("accounts:reset")
