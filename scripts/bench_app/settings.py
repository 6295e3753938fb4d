"""The product settings, with the baseline view's URLs and template folder added."""

from pathlib import Path
from typing import cast

from resetsite.settings import *  # noqa: F403
from resetsite.settings import TEMPLATES

ROOT_URLCONF = "bench_app.urls"
_dirs = cast(list[Path], TEMPLATES[0]["DIRS"])
TEMPLATES = [{**TEMPLATES[0], "DIRS": [*_dirs, Path(__file__).resolve().parent / "templates"]}]
