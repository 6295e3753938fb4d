"""The product behind Django's ASGI handler, for the benchmark's uvicorn row only.

resetsite has no asgi.py (it is served over WSGI). Importing resetsite.wsgi
configures Django and does the same start-up work (Cognito client, policy,
checklist, readiness). Under ASGI, Django runs the site's sync middleware and
views through asgiref, in a thread of the request's own (ThreadSensitiveContext):
one new thread per request in flight, which is what this row measures.
"""

from django.core.asgi import get_asgi_application

import resetsite.wsgi  # noqa: F401 - settings, warm-up and readiness, as in production

application = get_asgi_application()
