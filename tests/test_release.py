"""The release is named the same everywhere, and the image's base can be pinned.

Static checks of pyproject.toml, the Dockerfile, CHANGELOG.md and the Kubernetes
example (building the image takes minutes; docs/operations.md says how).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _instructions() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for line in _instructions():
        if line.startswith("LABEL "):
            labels |= dict(re.findall(r'([\w.-]+)="([^"]*)"', line))
    return labels


def test_the_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION), VERSION


def test_the_base_image_is_a_build_argument_defaulting_to_python_3_11_slim() -> None:
    lines = _instructions()
    assert lines[0] == "ARG BASE_IMAGE=python:3.11-slim"  # before FROM: usable in FROM
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms == ["FROM ${BASE_IMAGE}"]
    # Redeclared after FROM (an ARG before FROM is not in scope after it) for its label.
    assert lines.index("ARG BASE_IMAGE") > lines.index(froms[0])
    assert _labels()["org.opencontainers.image.base.name"] == "${BASE_IMAGE}"


def test_the_image_is_labelled_with_the_release() -> None:
    labels = _labels()
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.title"] == "cognito-reset-site"
    assert labels["org.opencontainers.image.revision"] == "${REVISION}"
    lines = _instructions()
    # Last, so that a new commit (REVISION) rebuilds no layer before them.
    last_run = max(i for i, line in enumerate(lines) if line.startswith(("RUN ", "COPY ")))
    assert all(i > last_run for i, line in enumerate(lines) if line.startswith("LABEL "))


def test_the_changelog_announces_the_version_and_dates_each_release() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings[0] == "[Unreleased]"
    releases = [re.fullmatch(r"\[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}", h) for h in headings[1:]]
    assert all(releases), headings
    versions = [tuple(map(int, m.group(1).split("."))) for m in releases if m]
    assert versions == sorted(versions, reverse=True)
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## ", 1)[0]
    current = tuple(map(int, VERSION.split(".")))
    # Either the current version is released, or the next release will carry it.
    assert current in versions or f"released as {VERSION}" in unreleased
    assert all(v <= current for v in versions)


def test_the_kubernetes_example_deploys_this_release() -> None:
    kustomization = (ROOT / "deploy/kubernetes/kustomization.yaml").read_text()
    assert re.search(rf'newTag: "{re.escape(VERSION)}"', kustomization)
