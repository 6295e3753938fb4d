"""Static files as served: scripts and stylesheets minified (their comments and
indentation are for readers of the source, not for every page view), then hashed and
compressed by WhiteNoise. Scripts go through calmjs.parse, a full ES5 parser, which
also shortens local names (globals and properties keep theirs); a script it cannot
parse stops collectstatic rather than being served half-minified."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from calmjs.parse import es5
from calmjs.parse.unparsers.es5 import minify_print
from django.core.files.base import ContentFile
from rcssmin import cssmin
from whitenoise.storage import CompressedManifestStaticFilesStorage


def jsmin(source: str) -> str:
    return str(minify_print(es5(source), obfuscate=True, obfuscate_globals=False))


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
