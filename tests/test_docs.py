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


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]


def test_no_text_claims_cognito_always_ignores_username_case() -> None:
    """Cognito compares usernames case-insensitively only when the pool's
    UsernameConfiguration.CaseSensitive is false; the API's default is true.
    Wherever the docs or the code speak of case-insensitive usernames, they say so."""
    sources = [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "accounts").glob("*.py")),
        *sorted((ROOT / "contrib").rglob("*.py")),
    ]
    mentions = 0
    for path in sources:
        for paragraph in _paragraphs(path.read_text()):
            if re.search(r"case[- ]insensitiv", paragraph, re.IGNORECASE):
                mentions += 1
                assert "CaseSensitive" in paragraph, f"{path.name}: {paragraph[:120]}"
            assert (
                not re.search(r"as Cognito (does|compares)[^.]*", paragraph)
                or "CaseSensitive" in paragraph
            ), f"{path.name}: {paragraph[:120]}"
    assert mentions >= 2  # configuration.md and security.md
