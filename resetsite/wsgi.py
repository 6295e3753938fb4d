"""WSGI entry point: `gunicorn resetsite.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resetsite.settings")

application = get_wsgi_application()

# Create the Cognito client and load the password policy before the first request.
from accounts import cognito  # noqa: E402

cognito.warm_up()
