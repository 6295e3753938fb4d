"""Settings, read only from the environment (django-environ).

Every variable is documented in docs/configuration.md.
"""

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from accounts.clientip import parse_networks
from accounts.colors import palette
from accounts.rates import Rate

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"Set the {name} environment variable (see docs/configuration.md)."
        )
    return value


def _secret_from_env_or_file(name: str) -> str:
    direct = os.environ.get(name, "")
    path = os.environ.get(f"{name}_FILE", "")
    if direct and path:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path!r}: {exc}") from None
    return direct.strip()


def _json_str_map(name: str) -> dict[str, str]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {exc}") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ImproperlyConfigured(f"{name} must be a JSON object of strings to strings.")
    return value


def _json_object(name: str) -> dict[str, Any] | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object.")
    return value


# --- core --------------------------------------------------------------------

SECRET_KEY = _required("DJANGO_SECRET_KEY")
# Earlier keys, still accepted for what they signed or encrypted (the session
# cookie, for at most SESSION_COOKIE_AGE): how to rotate DJANGO_SECRET_KEY.
_fallbacks = os.environ.get("DJANGO_SECRET_KEY_FALLBACKS", "").split(",")
SECRET_KEY_FALLBACKS = [key.strip() for key in _fallbacks if key.strip()]
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "csp",
    "accounts",
]

MIDDLEWARE = [
    "accounts.middleware.EarlyMiddleware",
    "accounts.middleware.RequestContextMiddleware",
    "accounts.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "accounts.middleware.LanguageParamMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.CSPMiddleware",  # django-csp's, its policy built once
    "accounts.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "resetsite.urls"
WSGI_APPLICATION = "resetsite.wsgi.application"

# A company's overrides: THEME_DIR/templates and THEME_DIR/static win over ours.
THEME_DIR = Path(env.str("THEME_DIR", default="")) if env.str("THEME_DIR", default="") else None
if THEME_DIR is not None and not THEME_DIR.is_dir():
    raise ImproperlyConfigured(f"THEME_DIR: {THEME_DIR} is not a directory.")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [*([THEME_DIR / "templates"] if THEME_DIR else []), BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "csp.context_processors.nonce",
                "accounts.context_processors.site",
            ],
        },
    }
]

# <input> widgets are rendered in Python (the same HTML, a third less CPU per page).
FORM_RENDERER = "accounts.renderer.FormRenderer"

# No database server: sessions are signed cookies, counters live in the cache.
# An in-memory SQLite database only satisfies tools that insist on one.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

# Pages are rendered once per shape and kept in the process (accounts/pages.py).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # Django's default keeps 300 entries and evicts the least recently used: a
    # flood of other attempts would evict a username's counter and lift its
    # limit. 100,000 small counters are at most a few tens of MB.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 100_000)
if "redis" in CACHES["default"]["BACKEND"].lower():
    # A dead Redis must cost a request at most a second, never hang it.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "socket_connect_timeout": env.float("CACHE_TIMEOUT", default=0.5),
            "socket_timeout": env.float("CACHE_TIMEOUT", default=0.5),
            "retry_on_timeout": False,
        }
    )

LANGUAGE_CODE = "en"
# Each in its own name, in the order of those names (Latin script first), as the
# language switcher lists them. ar and he are written right to left (Django's LANG_INFO).
LANGUAGES = [
    ("id", "Bahasa Indonesia"),
    ("de", "Deutsch"),
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
    ("pl", "Polski"),
    ("pt-br", "Português (Brasil)"),
    ("sv", "Svenska"),
    ("vi", "Tiếng Việt"),
    ("tr", "Türkçe"),
    ("ru", "Русский"),
    ("uk", "Українська"),
    ("he", "עברית"),
    ("ar", "العربية"),
    ("ko", "한국어"),
    ("ja", "日本語"),
    ("zh-hans", "简体中文"),
    ("zh-hant", "繁體中文"),
]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    *([THEME_DIR / "static"] if THEME_DIR and (THEME_DIR / "static").is_dir() else []),
    BASE_DIR / "static",
]
STORAGES = {
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "resetsite.storage.MinifiedStaticFilesStorage"
        )
    },
}
WHITENOISE_MAX_AGE = 31536000

# --- Cognito -----------------------------------------------------------------

COGNITO_USER_POOL_ID = _required("COGNITO_USER_POOL_ID")
COGNITO_CLIENT_ID = _required("COGNITO_CLIENT_ID")
COGNITO_REGION = env.str("COGNITO_REGION", default="") or COGNITO_USER_POOL_ID.split("_", 1)[0]
COGNITO_CLIENT_SECRET = _secret_from_env_or_file("COGNITO_CLIENT_SECRET")
COGNITO_ENDPOINT_URL = env.str("COGNITO_ENDPOINT_URL", default="")
COGNITO_CLIENT_METADATA = _json_str_map("COGNITO_CLIENT_METADATA")
COGNITO_CONTEXT_DATA = env.bool("COGNITO_CONTEXT_DATA", default=False)
COGNITO_CONTEXT_DATA_SCRIPT = (
    f"https://amazon-cognito-assets.{COGNITO_REGION}.amazoncognito.com"
    "/amazon-cognito-advanced-security-data.min.js"
)
COGNITO_CONNECT_TIMEOUT = env.float("COGNITO_CONNECT_TIMEOUT", default=2.0)
COGNITO_READ_TIMEOUT = env.float("COGNITO_READ_TIMEOUT", default=5.0)
# The guards around the public calls, per process (docs/operations.md): at most
# this many calls in flight (the rest are told "busy" at once), and a breaker
# that stops calling after this many service faults in a row, for this long.
COGNITO_MAX_IN_FLIGHT = env.int("COGNITO_MAX_IN_FLIGHT", default=100)
COGNITO_BREAKER_FAILURES = env.int("COGNITO_BREAKER_FAILURES", default=5)
COGNITO_BREAKER_RESET = env.float("COGNITO_BREAKER_RESET", default=15.0)
if COGNITO_MAX_IN_FLIGHT < 1 or COGNITO_BREAKER_FAILURES < 1 or COGNITO_BREAKER_RESET <= 0:
    raise ImproperlyConfigured(
        "COGNITO_MAX_IN_FLIGHT and COGNITO_BREAKER_FAILURES must be at least 1, "
        "COGNITO_BREAKER_RESET more than 0."
    )
# Cognito's account-wide quota for ForgotPassword + ConfirmForgotPassword (about 30
# a second per account and region, shared with the account's other apps): every
# instance sharing CACHE_URL together sends at most this many a second; a call
# waits its turn up to COGNITO_QUOTA_MAX_WAIT seconds, else "busy" at once.
# 0 turns pacing off (a stand-in without a quota). docs/configuration.md.
COGNITO_QUOTA_RPS = env.float("COGNITO_QUOTA_RPS", default=20.0)
COGNITO_QUOTA_MAX_WAIT = env.float("COGNITO_QUOTA_MAX_WAIT", default=10.0)
if COGNITO_QUOTA_RPS < 0 or not 0 <= COGNITO_QUOTA_MAX_WAIT <= 60:
    raise ImproperlyConfigured(
        "COGNITO_QUOTA_RPS must be at least 0 (0: no pacing), "
        "COGNITO_QUOTA_MAX_WAIT between 0 and 60 seconds."
    )
COGNITO_MAX_POOL_CONNECTIONS = env.int(
    "COGNITO_MAX_POOL_CONNECTIONS", default=COGNITO_MAX_IN_FLIGHT
)
# A smaller pool would open and close a connection for every call over it, under load.
if COGNITO_MAX_POOL_CONNECTIONS < COGNITO_MAX_IN_FLIGHT:
    raise ImproperlyConfigured(
        "COGNITO_MAX_POOL_CONNECTIONS must be at least COGNITO_MAX_IN_FLIGHT "
        f"({COGNITO_MAX_IN_FLIGHT}): every call in flight needs a pooled connection."
    )
# A POST body must arrive within this many seconds (gevent worker); a slow
# client then gets 408 instead of holding its connection open.
REQUEST_BODY_TIMEOUT = env.float("REQUEST_BODY_TIMEOUT", default=10.0)
# Past the CPU ceiling (gevent worker): while this process's event loop runs more
# than this many seconds late, new submissions are answered "busy" at once. 0: off.
SHED_LAG = env.float("SHED_LAG", default=0.2)
if not 0 <= SHED_LAG <= 10:
    raise ImproperlyConfigured("SHED_LAG must be between 0 and 10 seconds (0 turns it off).")
COGNITO_READ_POLICY = env.str("COGNITO_READ_POLICY", default="auto").lower()
if COGNITO_READ_POLICY not in {"auto", "true", "false"}:
    raise ImproperlyConfigured("COGNITO_READ_POLICY must be auto, true or false.")
COGNITO_PASSWORD_POLICY = _json_object("COGNITO_PASSWORD_POLICY")
COGNITO_POLICY_TTL = env.float("COGNITO_POLICY_TTL", default=600.0)
# The demo's own page (scripts/demo.py sets it): /demo/sign-in/ tries a username and
# password against the local emulator. Off, the page does not exist (404); and it
# never talks to a real pool: only to an emulator on loopback.
DEMO_SIGN_IN_CHECK = env.bool("DEMO_SIGN_IN_CHECK", default=False)
if DEMO_SIGN_IN_CHECK and urlsplit(COGNITO_ENDPOINT_URL).hostname not in ("127.0.0.1", "localhost"):
    raise ImproperlyConfigured(
        "DEMO_SIGN_IN_CHECK is for the demo's local emulator only: COGNITO_ENDPOINT_URL "
        "must be on loopback."
    )

try:
    TRUSTED_PROXIES = parse_networks(env.list("TRUSTED_PROXIES", default=[]))
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from None

# Who may read /metrics (the client IP as resolved behind TRUSTED_PROXIES).
# Empty: nobody, and /metrics answers 404 like any page that does not exist.
try:
    METRICS_ALLOWED_IPS = parse_networks(env.list("METRICS_ALLOWED_IPS", default=[]))
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from None

SIGN_IN_URL = env.str("SIGN_IN_URL", default="")
# Hosts that a redirect or link target (SIGN_IN_URL, a link's next=) may point at.
REDIRECT_ALLOWED_HOSTS = set(env.list("REDIRECT_ALLOWED_HOSTS", default=[]))
_sign_in = urlsplit(SIGN_IN_URL)
if SIGN_IN_URL:
    if _sign_in.scheme not in ("https", "http", "") or (_sign_in.scheme and not _sign_in.netloc):
        raise ImproperlyConfigured("SIGN_IN_URL must be an https:// URL or a path.")
    if _sign_in.scheme == "http" and _sign_in.hostname not in ("localhost", "127.0.0.1"):
        raise ImproperlyConfigured("SIGN_IN_URL must use https:// outside localhost.")
    if _sign_in.netloc:
        REDIRECT_ALLOWED_HOSTS.add(_sign_in.netloc)

# --- branding -----------------------------------------------------------------

BRAND_NAME = env.str("BRAND_NAME", default="")
BRAND_LOGO_URL = env.str("BRAND_LOGO_URL", default="")
if BRAND_LOGO_URL and not (BRAND_LOGO_URL.startswith("https://") or BRAND_LOGO_URL.startswith("/")):
    raise ImproperlyConfigured("BRAND_LOGO_URL must be an https:// URL or a path.")
BRAND_COLOR = env.str("BRAND_COLOR", default="")
try:
    BRAND_PALETTE = palette(BRAND_COLOR) if BRAND_COLOR else None
except ValueError as exc:
    raise ImproperlyConfigured(f"BRAND_COLOR: {exc}") from None
SUPPORT_URL = env.str("SUPPORT_URL", default="")
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="")
if SUPPORT_URL and not SUPPORT_URL.startswith(("https://", "/")):
    raise ImproperlyConfigured("SUPPORT_URL must be an https:// URL or a path.")
if SUPPORT_EMAIL and ("@" not in SUPPORT_EMAIL or any(c in SUPPORT_EMAIL for c in " <>\"'")):
    raise ImproperlyConfigured("SUPPORT_EMAIL must be an email address.")
FOOTER_TEXT = env.str("FOOTER_TEXT", default="")

# --- embedding in a portal ------------------------------------------------------

FRAME_ANCESTORS = env.list("FRAME_ANCESTORS", default=[])
for _origin in FRAME_ANCESTORS:
    _parts = urlsplit(_origin)
    if (
        _parts.scheme not in ("https", "http")
        or not _parts.netloc
        or _parts.path not in ("", "/")
        or _parts.query
        or _parts.fragment
    ):
        raise ImproperlyConfigured(
            f"FRAME_ANCESTORS: {_origin!r} is not an origin like https://portal.example.com"
        )
FRAME_ANCESTORS = [o.rstrip("/") for o in FRAME_ANCESTORS]

# --- rate limits (ours; Cognito has its own, shared by the whole account) ------


def _rate(name: str, default: str) -> Rate:
    try:
        return Rate.parse(env.str(name, default=default))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


RATELIMITS = {
    "confirm": {
        # Tight per username and IP; a looser ceiling per username across all IPs.
        "user_ip": _rate("RATELIMIT_CONFIRM_USER_IP", "5/15m"),
        "user": _rate("RATELIMIT_CONFIRM_USER", "20/15m"),
        "ip": _rate("RATELIMIT_CONFIRM_IP", "30/15m"),
    },
    "forgot": {
        "user": _rate("RATELIMIT_FORGOT_USER", "3/h"),
        "ip": _rate("RATELIMIT_FORGOT_IP", "10/h"),
    },
}
# Every attempt per client IP, counted whatever became of it: the bound on floods
# of attempts that the limits above don't count (refused as busy, never sent).
RATELIMIT_FLOOD = {"ip": _rate("RATELIMIT_FLOOD_IP", "120/m")}
RATELIMIT_CACHE = "default"
# POST /forgot/ answers no sooner than this after it started, known account or not.
FORGOT_MIN_DURATION = env.float("FORGOT_MIN_DURATION", default=1.5)
if not 0 <= FORGOT_MIN_DURATION <= 10:
    raise ImproperlyConfigured("FORGOT_MIN_DURATION must be between 0 and 10 seconds.")
RATELIMIT_FAIL_OPEN = env.bool("RATELIMIT_FAIL_OPEN", default=True)

# --- breached passwords (the Pwned Passwords range API) -------------------------

# The base of the range endpoint; the check appends the 5-character prefix.
# Empty turns the check off. A mirror inside the network works the same.
PWNED_PASSWORDS_URL = env.str(
    "PWNED_PASSWORDS_URL", default="https://api.pwnedpasswords.com/range/"
)
if PWNED_PASSWORDS_URL:
    _pwned = urlsplit(PWNED_PASSWORDS_URL)
    if _pwned.scheme not in ("https", "http") or not _pwned.netloc or _pwned.fragment:
        raise ImproperlyConfigured(
            "PWNED_PASSWORDS_URL must be an https:// (or http://) URL, or empty to turn it off."
        )
PWNED_PASSWORDS_TIMEOUT = env.float("PWNED_PASSWORDS_TIMEOUT", default=1.0)
if not 0 < PWNED_PASSWORDS_TIMEOUT <= 10:
    raise ImproperlyConfigured("PWNED_PASSWORDS_TIMEOUT must be between 0 and 10 seconds.")
# When the service is slow, down or answers nonsense: true lets the reset go on.
PWNED_PASSWORDS_FAIL_OPEN = env.bool("PWNED_PASSWORDS_FAIL_OPEN", default=True)

# --- security ----------------------------------------------------------------

# Signed-cookie sessions, encrypted too: the code in it can't be read (resetsite/sessions.py).
SESSION_ENGINE = "resetsite.sessions"
SESSION_COOKIE_AGE = 3600  # a code lives one hour; so does the session holding it
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Secure cookies with __Host- names whenever DEBUG is off. Chromium and Firefox
# accept them on http://127.0.0.1; the local demo turns them off for browsers
# (and HTTP clients) that do not.
SECURE_COOKIES = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_NAME = "__Host-session" if SESSION_COOKIE_SECURE else "session"
CSRF_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_NAME = "__Host-csrftoken" if CSRF_COOKIE_SECURE else "csrftoken"
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"
LANGUAGE_COOKIE_NAME = "__Host-lang" if SECURE_COOKIES else "lang"
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 86400
if FRAME_ANCESTORS:
    # Inside a cross-site frame, cookies need SameSite=None, which needs Secure:
    # this mode works only over HTTPS (docs/embedding.md).
    SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = LANGUAGE_COOKIE_SAMESITE = "None"
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = True
    SESSION_COOKIE_NAME, CSRF_COOKIE_NAME = "__Host-session", "__Host-csrftoken"
    LANGUAGE_COOKIE_NAME = "__Host-lang"
    # CSP frame-ancestors allows exactly these origins; X-Frame-Options cannot.
    MIDDLEWARE.remove("django.middleware.clickjacking.XFrameOptionsMiddleware")

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
# X-Forwarded-Proto is stripped by RequestContextMiddleware unless the peer is trusted.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None

SILENCED_SYSTEM_CHECKS = []
if not SECURE_SSL_REDIRECT:
    # By design the load balancer or ingress terminates TLS and redirects HTTP
    # (docs/operations.md); DJANGO_SECURE_SSL_REDIRECT=true for deployments without one.
    SILENCED_SYSTEM_CHECKS.append("security.W008")
if not SECURE_HSTS_PRELOAD:
    # Preloading commits the whole domain to HTTPS for good: the operator's call.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 32
FILE_UPLOAD_MAX_MEMORY_SIZE = 0

_script_src: list[Any] = [SELF, NONCE]
_connect_src: list[str] = [SELF]
if COGNITO_CONTEXT_DATA:
    _script_src.append(f"https://amazon-cognito-assets.{COGNITO_REGION}.amazoncognito.com")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": _script_src,
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": _connect_src,
        "font-src": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
        "frame-ancestors": FRAME_ANCESTORS or [NONE],
        "manifest-src": [SELF],
    }
}

# --- logging -----------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# Attempt logs carry a keyed hash of the username; the raw name only if asked.
LOG_RAW_USERNAME = env.bool("LOG_RAW_USERNAME", default=False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "accounts.logs.RedactFilter"},
        "one_line": {"()": "accounts.logs.OneLineWarning"},
        "only_failures": {"()": "accounts.logs.OnlyFailures"},
    },
    "formatters": {"json": {"()": "accounts.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's request logger would repeat what the access log says; of its
        # errors, only the real failures (not the planned 503s) are kept.
        "django.request": {"level": "ERROR", "filters": ["only_failures"]},
        # Requests refused before any view (noise the internet sends): one warning
        # line each, no traceback. The RedactFilter keeps the request's query out.
        **{
            f"django.security.{name}": {"level": "WARNING", "filters": ["one_line"]}
            for name in (
                "DisallowedHost",
                "TooManyFieldsSent",
                "TooManyFilesSent",
                "RequestDataTooBig",
            )
        },
    },
}
