"""The form renderer: Django's own, with ``<input>`` widgets rendered in Python.

Rendering an input through Django's input.html and attrs.html templates cost
about a third of the reset page's CPU. The HTML here is the same, character for
character (tests/test_render.py compares the two for every field and state).
Every other widget, and the form templates, render as before.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html" for name in ("input", "text", "password", "hidden")
)


def render_input(widget: dict[str, Any]) -> SafeString:
    """django/forms/widgets/input.html with attrs.html, in Python."""
    parts = ['<input type="', conditional_escape(widget["type"])]
    parts += ['" name="', conditional_escape(widget["name"]), '"']
    if widget["value"] is not None:
        parts += [' value="', conditional_escape(_s(widget["value"])), '"']
    for name, value in widget["attrs"].items():
        if value is False:
            continue
        parts += [" ", conditional_escape(name)]
        if value is not True:
            parts += ['="', conditional_escape(_s(value)), '"']
    parts.append(">")
    return mark_safe("".join(parts))  # noqa: S308 - every part above is escaped


def _s(value: Any) -> Any:
    """The stringformat:'s' filter: a str, still safe if it was."""
    return value if isinstance(value, SafeString) else str(value)


class FormRenderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name in INPUT_TEMPLATES:
            return render_input(context["widget"])
        return str(super().render(template_name, context, request))
