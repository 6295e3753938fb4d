"""Rate strings and username normalisation for the rate limits. Pure: no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """'5/15m' → 5 per 900 s. Units s, m, h, d; the count before the unit is optional."""
        match = _RATE.match(text)
        if not match:
            raise ValueError(f"not a rate: {text!r} (expected e.g. 5/15m)")
        limit, count, unit = int(match[1]), int(match[2] or 1), match[3]
        if limit < 1 or count < 1:
            raise ValueError(f"not a rate: {text!r}")
        return cls(limit, count * _UNITS[unit])


def normalize_username(username: str) -> str:
    return username.strip().casefold()
