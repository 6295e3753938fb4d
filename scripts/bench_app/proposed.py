"""The product with the changes proposed from profiling, applied at start-up.

Only for measuring them before they land (``scripts/bench.py --app
bench_app.proposed:application``); delete once the product has them.

1. Warm the common-password list for the pool's policy at start-up, as the
   policy itself is warmed: otherwise every request of the first wave computes
   it at once (~100 ms of CPU each), which holds the first pages for seconds
   and leaves the worker ~20 MB larger for good.
2. Render ``<input>`` widgets in Python instead of through Django's form
   templates: the same HTML, about a quarter less CPU for GET /reset/.
"""

from collections.abc import Callable
from typing import Any

from django.forms import widgets
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from resetsite.wsgi import application

__all__ = ["application"]


def _render_input(
    self: widgets.Input,
    name: str,
    value: Any,
    attrs: dict[str, Any] | None = None,
    renderer: Any = None,
) -> SafeString:
    """django/forms/widgets/input.html and attrs.html, in Python."""
    widget = self.get_context(name, value, attrs)["widget"]
    parts = ['<input type="', conditional_escape(widget["type"]), '" name="']
    parts += [conditional_escape(widget["name"]), '"']
    if widget["value"] is not None:
        parts += [' value="', conditional_escape(str(widget["value"])), '"']
    for key, attr in widget["attrs"].items():
        if attr is False:
            continue
        parts += [" ", conditional_escape(key)]
        if attr is not True:
            parts += ['="', conditional_escape(str(attr)), '"']
    parts.append(">")
    return mark_safe("".join(parts))  # noqa: S308 - every part above is escaped


def _apply() -> None:
    from accounts import cognito, forms

    render: Callable[..., SafeString] = _render_input
    widgets.Input.render = render  # type: ignore[method-assign]
    forms.common_passwords_for(cognito.password_policy())


_apply()
