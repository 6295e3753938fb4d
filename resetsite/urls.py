from django.urls import include, path
from django.views.generic.base import RedirectView

from accounts import views

urlpatterns = [
    path("", views.root),
    # /healthz is answered by accounts.middleware.EarlyMiddleware, before the Host check.
    path(
        "favicon.ico",
        RedirectView.as_view(url="/static/accounts/favicon.svg", permanent=True),
    ),
    path("", include("accounts.urls")),
]

handler400 = "accounts.views.bad_request"
handler404 = "accounts.views.page_not_found"
handler500 = "accounts.views.server_error"
