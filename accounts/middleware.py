"""Per-request context (request id, client IP) and the headers Django does not set."""

from __future__ import annotations

import functools
import http.client
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict
from http.cookies import Morsel
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, PolicyParts
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import translation
from django.utils.module_loading import import_string

from . import languages, logs
from .clientip import client_ip, is_trusted_peer

# Partitioned cookies (CHIPS) let the framed site keep its session where the
# browser blocks third-party cookies: the cookie is keyed to the portal's site.
# Python 3.14's http.cookies knows the attribute; teach 3.11's the same way.
if "partitioned" not in Morsel._reserved:  # type: ignore[attr-defined]
    Morsel._reserved["partitioned"] = "Partitioned"  # type: ignore[attr-defined]
    Morsel._flags.add("partitioned")  # type: ignore[attr-defined]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
        "interest-cohort",
    )
)


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

# The middleware that set the response headers every answer carries, in their order.
HEADER_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",  # HSTS, nosniff, Referrer-Policy, COOP
    "django.middleware.clickjacking.XFrameOptionsMiddleware",  # not with FRAME_ANCESTORS
    "accounts.middleware.CSPMiddleware",
    "accounts.middleware.SecurityHeadersMiddleware",  # Permissions-Policy, CORP, nosniff
)


def _no_response(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("only process_response is used")


def page_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Give an answer made before (or without) the header middleware the same
    headers as every other answer: the configured middleware's own
    process_response, so the values can't drift. Headers already set are kept."""
    for path in HEADER_MIDDLEWARE:
        if path in settings.MIDDLEWARE:
            response = import_string(path)(_no_response).process_response(request, response)
    return response


def _drop_untrusted_forwarding(request: HttpRequest) -> bool:
    """Remove X-Forwarded-Proto/Host/Port unless the peer is a trusted proxy, so
    that nothing downstream (is_secure(), HSTS, redirects) believes them. Returns
    whether the peer is trusted."""
    trusted = is_trusted_peer(request.META.get("REMOTE_ADDR", ""), settings.TRUSTED_PROXIES)
    if not trusted:
        for header in ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT"):
            request.META.pop(header, None)
    return trusted


def _read_body_within(request: HttpRequest, seconds: float) -> bool:
    """Read the request body now, within ``seconds`` in all; False if it came too slowly.

    Under the gevent worker a slow client holds only its greenlet, and the
    deadline frees that too. Elsewhere (tests, runserver) the body is read as is.
    """
    if not _gevent_active():
        return True
    from gevent import Timeout

    try:
        with Timeout(seconds):
            request.body  # noqa: B018 - reads and keeps the body
    except Timeout:
        return False
    return True


def _gevent_active() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return bool(monkey.is_module_patched("socket"))


READY = False  # set by resetsite.wsgi once the process has warmed up


class EarlyMiddleware:
    """Answers what must not depend on the rest of the stack.

    /healthz (liveness) and /readyz (readiness) answer before the Host check and
    any HTTPS redirect, so load balancer and kubelet probes (Host: the pod IP)
    always get an answer, and neither waits on Cognito or the cache. POST bodies
    other than urlencoded forms are refused before anything parses them:
    multipart would spool to disk, and nothing here accepts it. The others are
    read at once, within REQUEST_BODY_TIMEOUT. Every answer made here carries
    the same security headers as every other answer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        answer = self.early_answer(request)
        if answer is None:
            return self.get_response(request)
        # Before RequestContextMiddleware: drop what an untrusted peer forged first,
        # so that a forged X-Forwarded-Proto can't add HSTS.
        _drop_untrusted_forwarding(request)
        return page_headers(request, answer)

    def early_answer(self, request: HttpRequest) -> HttpResponse | None:
        """This layer's own answer to ``request``, or None to pass it on."""
        if request.path_info in ("/healthz", "/readyz") and request.method in ("GET", "HEAD"):
            ready = request.path_info == "/healthz" or READY
            return HttpResponse(
                "ok\n" if ready else "starting\n",
                status=200 if ready else 503,
                content_type="text/plain",
                headers={"Cache-Control": "no-store"},
            )
        if request.method == "POST":
            content_type = request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
            if content_type and content_type != FORM_CONTENT_TYPE:
                return HttpResponse(
                    "Unsupported Media Type\n", status=415, content_type="text/plain"
                )
            if not _read_body_within(request, settings.REQUEST_BODY_TIMEOUT):
                # gunicorn then closes the connection: the rest of the body
                # must come within WEB_KEEPALIVE, and won't.
                return HttpResponse("Request Timeout\n", status=408, content_type="text/plain")
        return None


class RequestContextMiddleware:
    """Resolve the client IP once, believe proxy headers only from trusted proxies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        remote_addr = request.META.get("REMOTE_ADDR", "")
        # Forged from an untrusted peer: these must change nothing downstream.
        trusted_peer = _drop_untrusted_forwarding(request)
        incoming_id = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = incoming_id if trusted_peer and _REQUEST_ID.match(incoming_id) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        request.client_ip = client_ip(  # type: ignore[attr-defined]
            remote_addr=remote_addr,
            forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
            trusted=settings.TRUSTED_PROXIES,
        )
        id_token = logs.request_id.set(rid)
        secrets_token = logs.clear_request_secrets()
        try:
            response = self.get_response(request)
        finally:
            logs.request_id.reset(id_token)
            logs._request_secrets.reset(secrets_token)
        response["X-Request-ID"] = rid
        if settings.FRAME_ANCESTORS:
            for name in (
                settings.SESSION_COOKIE_NAME,
                settings.CSRF_COOKIE_NAME,
                settings.LANGUAGE_COOKIE_NAME,
            ):
                if name in response.cookies:
                    response.cookies[name]["partitioned"] = True
        return response


class LanguageParamMiddleware:
    """``?lang=de`` picks the language and remembers it in a cookie.

    Otherwise the cookie, then the browser's Accept-Language, matched by
    accounts.languages (LocaleMiddleware, before it, would miss ``zh_TW`` or ``iw``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = languages.match(request.GET.get("lang", ""))
        language = chosen or languages.from_request(request)
        if language != translation.get_language():
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if chosen:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                chosen,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
            )
        return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.process_response(request, self.get_response(request))

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.setdefault("X-Content-Type-Options", "nosniff")
        return response


# Stands for the nonce in a policy built once: hex, which no directive holds by chance.
_NONCE_MARK = secrets.token_hex(16)


@functools.lru_cache(maxsize=4)
def _settings_policy(report_only: bool, with_nonce: bool) -> str:
    return build_policy(nonce=_NONCE_MARK if with_nonce else None, report_only=report_only)


def _forget_policies(**kwargs: Any) -> None:
    _settings_policy.cache_clear()


setting_changed.connect(_forget_policies)


def _policy(parts: PolicyParts, *, report_only: bool) -> str:
    """``build_policy`` for these parts: from the settings' policy built once per
    process, unless a view's decorators gave the response its own parts."""
    if parts.config is None and parts.update is None and parts.replace is None:
        policy = _settings_policy(report_only, bool(parts.nonce))
        return policy.replace(_NONCE_MARK, parts.nonce) if parts.nonce else policy
    return build_policy(**asdict(parts), report_only=report_only)


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware, with the same headers, but the policy is not built
    anew for every answer (a copy of every directive, twice): that cost about as
    much as the rest of the answer's headers together."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        exempted_debug_codes = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)
        if response.status_code in exempted_debug_codes and settings.DEBUG:
            return response
        for report_only, header, exempt, setting in (
            (False, HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (True, HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            parts = self.get_policy_parts(request, response, report_only=report_only)
            csp = _policy(parts, report_only=report_only)
            if not csp or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = csp
        # The header is written: a nonce asked for now could not be in it (django-csp's).
        if getattr(request, "_csp_nonce", None) is None:
            setattr(request, "csp_nonce", CheckableLazyObject(self._csp_nonce_post_response))  # noqa: B010
        return response
