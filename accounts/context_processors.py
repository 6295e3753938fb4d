from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "sign_in_url": settings.SIGN_IN_URL,
        "context_data_script": (
            settings.COGNITO_CONTEXT_DATA_SCRIPT if settings.COGNITO_CONTEXT_DATA else ""
        ),
    }
