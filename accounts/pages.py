"""Pages rendered once, then filled in per request.

A page's HTML depends on a few things that change rarely (the template, the
language, the settings, the password policy, which fields hold a value or an
error, which problem is shown) and on a few per-request strings (the CSRF
token, the CSP nonce, the kept values and the error texts). The first request
of each shape renders the real Django template once, with a marker in place of
every per-request string; the markers split the HTML into a skeleton. Every
later request of that shape joins the skeleton with its own strings, escaped as
the template would have escaped them (tests/test_render.py proves the result
equals the template's own rendering, character for character).

A template may test whether a per-request value is empty, and print it (escaped),
but nothing more: a skeleton whose markers came out transformed (by a filter,
``|safe`` or ``escapejs``) is never used, and that shape is rendered in full.
Templates see ``request`` only for ``request.csp_nonce``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.signals import setting_changed
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render as render_template
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import conditional_escape

logger = logging.getLogger(__name__)

# Per-request strings the page itself reads from the request.
CSRF = "csrf_token"
NONCE = "csp_nonce"
MAX_SKELETONS = 512  # shapes kept per process (a page is ~4-15 KB)

_MARK = secrets.token_hex(8)  # a marker no template can contain by chance
_SLOT = re.compile(f"q{_MARK}([A-Za-z0-9_:]+)&amp;q")
_MARK_ANYWHERE = re.compile(_MARK, re.IGNORECASE)
_skeletons: dict[Hashable, tuple[tuple[str, ...], tuple[str, ...]] | None] = {}
renders = 0  # full template renders in this process (tests prove pages come from the cache)


def _marker(name: str) -> str:
    # Escaping turns "&" into "&amp;": a marker printed raw (|safe) is not a slot.
    return f"q{_MARK}{name}&q"


def _is_secret(widget: forms.Widget) -> bool:
    return isinstance(widget, forms.PasswordInput) and not widget.render_value


@dataclass(frozen=True)
class FormState:
    """What a page shows of a form: the values it keeps, its errors, and how to make it.

    ``values``: each field's shown value, non-empty ones only (passwords never).
    ``errors``: by field name (``NON_FIELD_ERRORS`` for the form), (text, code) pairs.
    """

    form_class: type[forms.Form]
    options: tuple[tuple[str, Any], ...]
    bound: bool
    values: Mapping[str, Any]
    errors: Mapping[str, tuple[tuple[str, str | None], ...]] = field(default_factory=dict)
    form: forms.Form | None = None  # the real form, when there is one

    @classmethod
    def of(cls, form: forms.Form, **options: Hashable) -> FormState:
        """A validated (or unbound) form, as it stands."""
        values = {}
        for bound_field in form:
            value = bound_field.value()
            if value not in (None, "") and not _is_secret(bound_field.field.widget):
                values[bound_field.name] = value
        errors = {
            name: tuple(
                (str(error_list[i]), error.code) for i, error in enumerate(error_list.as_data())
            )
            for name, error_list in (form.errors.items() if form.is_bound else ())
        }
        return cls(type(form), tuple(options.items()), form.is_bound, values, errors, form)

    @classmethod
    def unbound(
        cls, form_class: type[forms.Form], initial: Mapping[str, Any], **options: Hashable
    ) -> FormState:
        """A new form with these initial values: no form is made unless the page is new."""
        values = {name: value for name, value in initial.items() if value not in (None, "")}
        return cls(form_class, tuple(options.items()), False, values)

    @classmethod
    def sent(
        cls,
        form_class: type[forms.Form],
        data: Mapping[str, Any],
        errors: Mapping[str, tuple[tuple[str, str | None], ...]],
        **options: Hashable,
    ) -> FormState:
        """A form as sent, not validated, with these errors (a refusal): no form work."""
        values = {}
        for name, form_field in form_class.base_fields.items():
            value = data.get(name)
            if value not in (None, "") and not _is_secret(form_field.widget):
                values[name] = value
        return cls(form_class, tuple(options.items()), True, values, errors)

    def shape(self) -> Hashable:
        errors = tuple(
            (name, tuple(code for _, code in items)) for name, items in self.errors.items()
        )
        return (self.form_class, self.options, self.bound, tuple(self.values), errors)

    def slots(self) -> dict[str, Any]:
        slots = {f"v:{name}": value for name, value in self.values.items()}
        for name, items in self.errors.items():
            slots.update({f"e:{name}:{i}": text for i, (text, _) in enumerate(items)})
        return slots

    def build(self, *, ghost: bool) -> forms.Form:
        """The form to render: with markers for its strings (ghost), or the real one."""
        if not ghost and self.form is not None:
            return self.form
        values = {n: _marker(f"v:{n}") if ghost else v for n, v in self.values.items()}
        options: dict[str, Any] = dict(self.options)
        if self.bound:
            form = self.form_class(values, **options)
        else:
            form = self.form_class(initial=values, **options)
        # As full_clean starts, without validating: the errors are the ones given.
        setattr(form, "_errors", ErrorDict(renderer=form.renderer))  # noqa: B010
        form.cleaned_data = {}
        for name, items in self.errors.items():
            for i, (text, code) in enumerate(items):
                message = _marker(f"e:{name}:{i}") if ghost else text
                target = None if name == NON_FIELD_ERRORS else name
                form.add_error(target, ValidationError(message, code=code))
        return form


@dataclass
class Page:
    """A page: its template, what shapes it (``fixed``, part of its key) and what does not.

    ``values``: per-request strings, printed escaped; only whether each is empty
    shapes the page. ``context``: more context, built only when the page is
    rendered, from nothing but ``fixed``, the language and the settings.
    """

    template: str
    form: FormState | None = None
    fixed: Mapping[str, Hashable] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    context: Callable[[], dict[str, Any]] | None = None
    status: int = HTTPStatus.OK

    def key(self) -> Hashable:
        return (
            self.template,
            translation.get_language(),
            self.form.shape() if self.form else None,
            tuple(self.fixed.items()),
            tuple((name, not value) for name, value in self.values.items()),
        )

    def full_context(self, *, ghost: bool) -> dict[str, Any]:
        context = {**self.fixed, **(self.context() if self.context else {})}
        for name, value in self.values.items():
            context[name] = _marker(name) if ghost and value else value
        if self.form:
            context["form"] = self.form.build(ghost=ghost)
        if ghost:
            nonce = _marker(NONCE)
            context.update({CSRF: _marker(CSRF), "CSP_NONCE": nonce, "request": _Nonce(nonce)})
        return context


@dataclass(frozen=True)
class _Nonce:
    """The request as a skeleton sees it: its nonce, and nothing else per request."""

    csp_nonce: str


def render(request: HttpRequest, page: Page) -> HttpResponse:
    """The page for this request: its skeleton filled in, rendered once per shape."""
    key = page.key()
    try:
        skeleton = _skeletons[key]
    except KeyError:
        skeleton = _skeletons[key] = _skeleton(request, page)
        if len(_skeletons) > MAX_SKELETONS:
            with contextlib.suppress(RuntimeError, StopIteration):  # another thread's doing
                _skeletons.pop(next(iter(_skeletons)), None)  # the oldest shape
    if skeleton is None:  # a template that transforms its values: render it in full
        return render_plain(request, page)
    parts, names = skeleton
    slots = {**page.values, **(page.form.slots() if page.form else {})}
    html = [parts[0]]
    for name, part in zip(names, parts[1:], strict=True):
        if name == CSRF:
            value: Any = get_token(request)
        elif name == NONCE:
            value = getattr(request, NONCE, "")
        else:
            value = slots[name]
        html.append(conditional_escape(value))
        html.append(part)
    return HttpResponse("".join(html), status=page.status)


def render_plain(request: HttpRequest, page: Page) -> HttpResponse:
    """The page rendered by its template in full, as every page was before skeletons."""
    global renders
    renders += 1
    return render_template(
        request, page.template, page.full_context(ghost=False), status=page.status
    )


def _skeleton(request: HttpRequest, page: Page) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    global renders
    renders += 1
    html = render_to_string(page.template, page.full_context(ghost=True), request=request)
    pieces = _SLOT.split(html)
    parts, names = tuple(pieces[0::2]), tuple(pieces[1::2])
    if any(_MARK_ANYWHERE.search(part) for part in parts):
        logger.warning("page_not_cached", extra={"template": page.template})
        return None
    return parts, names


def clear(**kwargs: Any) -> None:
    """Forget every skeleton (settings changed: tests, never production)."""
    _skeletons.clear()


setting_changed.connect(clear)
