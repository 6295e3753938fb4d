from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def baseline(request: HttpRequest) -> HttpResponse:
    """A trivial template through the full middleware stack: the yardstick."""
    return render(request, "bench_baseline.html", {"name": "world"})
