from django.urls import include, path

from bench_app import views

urlpatterns = [
    path("bench/baseline/", views.baseline, name="bench-baseline"),
    path("", include("resetsite.urls")),
]
