"""CloudWatch Logs JSON filter patterns, the subset deploy/aws/alarms.yaml uses.

    { $.field = "text" && ($.other = "x" || $.number >= 500) && $.number != 503 }

Selectors are $.name (dots for nested objects); operators =, !=, <, <=, >, >=;
values are double-quoted strings or numbers; && binds tighter than ||. As in
CloudWatch, an event whose selected field is missing does not match that comparison,
and numbers compare only with numbers. moto's logs accept such patterns but do not
evaluate them, hence this.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<sel>\$(?:\.\w+)+)|(?P<op>!=|>=|<=|=|>|<)|(?P<str>\"[^\"]*\")"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<logic>&&|\|\|)|(?P<paren>[()]))"
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
Predicate = Callable[[dict[str, Any]], bool]


def _tokens(body: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(body.rstrip()):
        match = _TOKEN.match(body, position)
        if not match:
            raise ValueError(f"cannot read the pattern at {body[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _field(event: dict[str, Any], selector: str) -> Any:
    value: Any = event
    for name in selector[2:].split("."):
        if not isinstance(value, dict) or name not in value:
            raise KeyError(selector)
        value = value[name]
    return value


def _comparison(selector: str, op: str, kind: str, raw: str) -> Predicate:
    expected: Any = raw[1:-1] if kind == "str" else float(raw)

    def test(event: dict[str, Any]) -> bool:
        try:
            value = _field(event, selector)
        except KeyError:
            return False
        if kind == "num":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
        elif not isinstance(value, str) or op not in ("=", "!="):
            return False
        return _OPS[op](value, expected)

    return test


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.at = tokens, 0

    def take(self, kind: str, value: str | None = None) -> str:
        if self.at >= len(self.tokens):
            raise ValueError("the pattern ends too soon")
        got_kind, got = self.tokens[self.at]
        if got_kind != kind or (value is not None and got != value):
            raise ValueError(f"expected {value or kind}, found {got!r}")
        self.at += 1
        return got

    def peek(self, value: str) -> bool:
        return self.at < len(self.tokens) and self.tokens[self.at][1] == value

    def either(self) -> Predicate:
        parts = [self.both()]
        while self.peek("||"):
            self.take("logic")
            parts.append(self.both())
        return lambda event: any(part(event) for part in parts)

    def both(self) -> Predicate:
        parts = [self.primary()]
        while self.peek("&&"):
            self.take("logic")
            parts.append(self.primary())
        return lambda event: all(part(event) for part in parts)

    def primary(self) -> Predicate:
        if self.peek("("):
            self.take("paren", "(")
            inner = self.either()
            self.take("paren", ")")
            return inner
        selector = self.take("sel")
        op = self.take("op")
        kind, raw = self.tokens[self.at]
        if kind not in ("str", "num"):
            raise ValueError(f"expected a value after {selector} {op}, found {raw!r}")
        self.at += 1
        return _comparison(selector, op, kind, raw)


def compile_pattern(pattern: str) -> Predicate:
    text = pattern.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError("a JSON filter pattern is enclosed in { }")
    parser = _Parser(_tokens(text[1:-1]))
    predicate = parser.either()
    if parser.at != len(parser.tokens):
        raise ValueError(f"unexpected {parser.tokens[parser.at][1]!r}")
    return predicate


def matches(pattern: str, line: str) -> bool:
    """Whether a log line (one JSON object) matches, as the metric filter would count it."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return False
    return isinstance(event, dict) and compile_pattern(pattern)(event)
