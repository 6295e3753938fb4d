"""The configuration reference documents every variable the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _read_variables() -> set[str]:
    names: set[str] = set()
    sources = {
        "resetsite/settings.py": r"(?:env\.\w+|_required|_json_str_map|_json_object|"
        r'_secret_from_env_or_file|_rate|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]+)"',
        "gunicorn.conf.py": r'os\.environ\.get\(\s*"([A-Z][A-Z0-9_]+)"',
        "scripts/demo.py": r'os\.environ\.get\(\s*"(DEMO_[A-Z_]+)"',
    }
    for path, pattern in sources.items():
        names |= set(re.findall(pattern, (ROOT / path).read_text()))
    return names


def test_every_variable_is_documented() -> None:
    documented = set(
        re.findall(
            r"^\| `([A-Z][A-Z0-9_]+)`", (ROOT / "docs/configuration.md").read_text(), re.MULTILINE
        )
    )
    read = _read_variables()
    assert "COGNITO_CLIENT_SECRET" in read
    read.add("COGNITO_CLIENT_SECRET_FILE")  # read through _secret_from_env_or_file
    missing = read - documented
    assert not missing, f"undocumented: {sorted(missing)}"


def test_env_example_uses_only_real_variables() -> None:
    example = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    documented = set(
        re.findall(
            r"^\| `([A-Z][A-Z0-9_]+)`", (ROOT / "docs/configuration.md").read_text(), re.MULTILINE
        )
    )
    assert names
    assert names <= documented
