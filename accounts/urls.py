from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("reset/", views.reset, name="reset"),
    path("reset/done/", views.done, name="done"),
    path("reset/blocked/", views.frame_blocked, name="frame_blocked"),  # FRAME_ANCESTORS only
    path("forgot/", views.forgot, name="forgot"),
    path("forgot/sent/", views.forgot_sent, name="forgot_sent"),
    path("theme.css", views.theme_css, name="theme_css"),
    path("demo/sign-in/", views.demo_sign_in, name="demo_sign_in"),  # 404 outside the demo
]
