from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import get_language_info


def _theme_css_url() -> str:
    palette = settings.BRAND_PALETTE
    if palette is None:
        return ""
    from .views import theme_version

    return f"{reverse('accounts:theme_css')}?v={theme_version(palette)}"


def _right_to_left() -> list[str]:
    """The languages written right to left, for the switcher's dir attributes. Called
    by the template only when its cached fragment is rendered."""
    return [code for code, _ in settings.LANGUAGES if get_language_info(code)["bidi"]]


def site(request: HttpRequest) -> dict[str, Any]:
    """Branding, embedding and feature flags every template may use."""
    return {
        "sign_in_url": settings.SIGN_IN_URL,
        "context_data_script": (
            settings.COGNITO_CONTEXT_DATA_SCRIPT if settings.COGNITO_CONTEXT_DATA else ""
        ),
        "brand_name": settings.BRAND_NAME,
        "brand_logo_url": settings.BRAND_LOGO_URL,
        "brand_palette": settings.BRAND_PALETTE,
        "theme_css_url": _theme_css_url(),
        "support_url": settings.SUPPORT_URL,
        "support_email": settings.SUPPORT_EMAIL,
        "footer_text": settings.FOOTER_TEXT,
        "frame_ancestors": " ".join(settings.FRAME_ANCESTORS),
        "languages": settings.LANGUAGES,
        "right_to_left": _right_to_left,
        "breach_check": bool(settings.PWNED_PASSWORDS_URL),
    }
