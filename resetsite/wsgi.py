"""WSGI entry point: `gunicorn resetsite.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resetsite.settings")

application = get_wsgi_application()

# The gevent worker has patched the standard library by now: urllib3's check of a
# pooled connection to Cognito must not yield to the hub (resetsite/nohubpoll.py).
from resetsite import nohubpoll  # noqa: E402

nohubpoll.install()

# Create the Cognito client and load the password policy before the first request.
from accounts import cognito_pool  # noqa: E402

cognito_pool.warm_up()

# The checklist's common passwords for the pool's policy: built on first use, so
# the first wave of requests after a start would each build it (~0.1 s of CPU).
from accounts.forms import common_passwords_for  # noqa: E402

common_passwords_for(cognito_pool.password_policy())

# Readiness (/readyz) from here on: the client, the policy and the checklist are warm.
from accounts import middleware  # noqa: E402

middleware.READY = True
