"""Refusing cheaply: a refused submission does no form work, no page rendering and
no Cognito call; its page comes from the cache, with what the person typed.

Rate-limited, breaker open, bulkhead full and shed (busy) are decided by
accounts/admission.py before the form; CSRF failures and oversized requests by
Django's middleware before the view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client
from django.utils.html import escape

from accounts import cognito, forms, pages, ratelimit, shedding
from tests.conftest import FormClient
from tests.refusing import fill_bulkhead, open_breaker

USERNAME = "ann&<b>@example.com"
FORM = {
    "username": USERNAME,
    "code": "123456",
    "new_password1": "Fresh-Horse-Battery-42",
    "new_password2": "Fresh-Horse-Battery-42",
}


class Work:
    """Counts what a request did: forms made, pages rendered, calls to Cognito."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.forms = 0
        self.calls = 0
        made = forms.AccessibleForm.__init__

        def counted_form(form: Any, *args: Any, **kwargs: Any) -> None:
            self.forms += 1
            made(form, *args, **kwargs)

        def counted_call(*args: Any, **kwargs: Any) -> None:
            self.calls += 1

        monkeypatch.setattr(forms.AccessibleForm, "__init__", counted_form)
        monkeypatch.setattr(cognito, "_send", counted_call)

    def during(self, request: Callable[[], Any]) -> tuple[Any, tuple[int, int, int]]:
        forms_before, calls_before, renders_before = self.forms, self.calls, pages.renders
        response = request()
        done = (
            self.forms - forms_before,
            self.calls - calls_before,
            pages.renders - renders_before,
        )
        return response, done


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    cognito.reset_clients()
    yield Work(monkeypatch)
    cognito.reset_clients()


def _limited() -> None:
    for action in ("confirm", "forgot"):
        for _ in range(30):
            ratelimit.check(action, username=USERNAME, client_ip="127.0.0.1")


def _saturated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shedding.Shedder, "saturated", lambda self: True)


REFUSALS = {
    "rate-limited": (_limited, HTTPStatus.TOO_MANY_REQUESTS, "Too many attempts"),
    "breaker open": (open_breaker, HTTPStatus.SERVICE_UNAVAILABLE, "answering"),
    "bulkhead full": (fill_bulkhead, HTTPStatus.SERVICE_UNAVAILABLE, "A lot of people"),
    "shed": (None, HTTPStatus.SERVICE_UNAVAILABLE, "A lot of people"),
}


@pytest.mark.parametrize("path", ["/reset/", "/forgot/"])
@pytest.mark.parametrize("why", REFUSALS)
def test_a_refused_post_does_no_form_work_and_no_cognito_call(
    why: str, path: str, work: Work, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup, status, text = REFUSALS[why]
    if setup is None:
        _saturated(monkeypatch)
    else:
        setup()
    client = FormClient()
    form = FORM if path == "/reset/" else {"username": USERNAME}
    client.post(path, form)  # the first of its shape renders the page once
    refused, (made, called, rendered) = work.during(lambda: client.post(path, form))
    assert refused.status_code == status
    assert int(refused["Retry-After"]) > 0
    html = refused.content.decode()
    assert text in html
    assert f'value="{escape(USERNAME)}"' in html  # what was typed is kept
    assert (made, called, rendered) == (0, 0, 0)


def test_an_admitted_post_does_its_work(work: Work) -> None:
    """The counter above can fail: a submission that is not refused makes its form."""
    client = FormClient()
    _, (made, called, _) = work.during(lambda: client.post("/reset/", FORM))
    assert (made, called) == (1, 1)


def test_a_post_failing_csrf_does_no_form_work(work: Work) -> None:
    client = Client(enforce_csrf_checks=True)

    def send() -> Any:
        return client.post("/reset/", "username=ann", "application/x-www-form-urlencoded")

    send()
    refused, done = work.during(send)
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert done == (0, 0, 0)


def test_an_oversized_post_does_no_form_work(work: Work, settings: Any) -> None:
    client = FormClient()
    fields = "&".join(f"f{i}=x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    def send() -> Any:
        return client.post("/reset/", fields)

    send()
    refused, done = work.during(send)
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert done == (0, 0, 0)


def test_the_refusal_is_not_counted_and_logged_once(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    open_breaker()
    for _ in range(10):
        assert client.post("/reset/", FORM).status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert ratelimit.peek("confirm", USERNAME, "127.0.0.1") is None
    attempts = [r for r in caplog.records if r.getMessage() == "reset_attempt"]
    assert [(r.outcome, r.error_code) for r in attempts] == [("circuit_open", "CircuitOpen")] * 10  # type: ignore[attr-defined]
