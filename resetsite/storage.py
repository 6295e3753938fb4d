"""Static files as served: scripts and stylesheets minified (their comments and
indentation are for readers of the source, not for every page view), then hashed and
compressed by WhiteNoise."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.core.files.base import ContentFile
from rcssmin import cssmin
from rjsmin import jsmin
from whitenoise.storage import CompressedManifestStaticFilesStorage

MINIFIERS = {".js": jsmin, ".css": cssmin}


def minified(name: str, data: bytes) -> bytes:
    """The file as collectstatic stores it: minified if it is a script or stylesheet."""
    minify = MINIFIERS.get(PurePath(name).suffix)
    return minify(data.decode("utf-8")).encode("utf-8") if minify else data


class MinifiedStaticFilesStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    def _save(self, name: str, content: Any) -> str:
        if PurePath(name).suffix in MINIFIERS:
            content.seek(0)
            content = ContentFile(minified(name, content.read()))
        return str(super()._save(name, content))
