"""Brand colour shades that keep WCAG AA contrast. Pure: no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
WHITE = (255, 255, 255)
LIGHT_BG = (244, 246, 249)
DARK_BG = (17, 20, 24)
DARK_CARD = (27, 31, 38)
NEAR_BLACK = (11, 21, 38)
AA = 4.5

RGB = tuple[int, int, int]


def parse_hex(value: str) -> RGB:
    match = _HEX.match(value.strip())
    if not match:
        raise ValueError(f"not a #rrggbb colour: {value!r}")
    digits = match[1]
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def to_hex(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _channel(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4


def luminance(rgb: RGB) -> float:
    r, g, b = (_channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _mix(rgb: RGB, toward: RGB, amount: float) -> RGB:
    r, g, b = (round(c + (t - c) * amount) for c, t in zip(rgb, toward, strict=True))
    return (r, g, b)


def _until(rgb: RGB, toward: RGB, against: tuple[RGB, ...], target: float = AA) -> RGB:
    """Move ``rgb`` toward ``toward`` in small steps until it contrasts with all of ``against``."""
    for step in range(0, 101, 2):
        candidate = _mix(rgb, toward, step / 100)
        if all(contrast(candidate, bg) >= target for bg in against):
            return candidate
    return toward


@dataclass(frozen=True)
class Palette:
    brand: str  # buttons and links on light backgrounds
    brand_strong: str  # hover and focus
    on_brand: str  # text on a brand-coloured button
    brand_dark: str  # buttons and links on dark backgrounds
    brand_dark_strong: str
    on_brand_dark: str


def palette(value: str) -> Palette:
    """Shades of ``value`` for light and dark mode, each meeting AA (4.5:1) where used."""
    base = parse_hex(value)
    light = _until(base, (0, 0, 0), (WHITE, LIGHT_BG))
    light_strong = _mix(light, (0, 0, 0), 0.2)
    dark = _until(base, WHITE, (DARK_BG, DARK_CARD))
    dark_strong = _mix(dark, WHITE, 0.25)
    on_light = WHITE if contrast(light, WHITE) >= contrast(light, NEAR_BLACK) else NEAR_BLACK
    on_dark = NEAR_BLACK if contrast(dark, NEAR_BLACK) >= contrast(dark, WHITE) else WHITE
    return Palette(
        brand=to_hex(light),
        brand_strong=to_hex(light_strong),
        on_brand=to_hex(on_light),
        brand_dark=to_hex(dark),
        brand_dark_strong=to_hex(dark_strong),
        on_brand_dark=to_hex(on_dark),
    )
