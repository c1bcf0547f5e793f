"""The public directory site (`petunia build-site`) as the app serves it.

The site is served whatever happened to its last build: a failed build leaves the previous
site in place (sitegen/swap.py), and until the first build has finished every page is a
plain "being built" page (503, Retry-After) instead of an error.

The build writes gzip and brotli copies beside each text file (sitegen/precompress.py):
when the request's Accept-Encoding allows, the compressed copy is sent as it is, with
Content-Encoding and Vary (Starlette's StaticFiles knows nothing of them).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Receive, Scope, Send

log = logging.getLogger("petunia.site")

BEING_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Being built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: Arial, sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em">
<h1>The directory is being built</h1>
<p>Please try again in a minute.</p>
</body></html>
"""


# Preferred first: brotli is smaller than gzip for the same text.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def accepted_encodings(header: str) -> set[str]:
    """The content codings an Accept-Encoding header allows ("q=0" refuses one)."""
    allowed: set[str] = set()
    refused: set[str] = set()
    for item in header.lower().split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        (allowed if q > 0 else refused).add(name)
    if "*" in allowed:
        allowed |= {name for name, _ in ENCODINGS} - refused
    return allowed - refused


def is_built(folder: Path) -> bool:
    return (folder / "index.html").is_file()


class SiteFiles(StaticFiles):
    """StaticFiles over the built site, with the "being built" page while there is none."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.folder = Path(directory)
        if not is_built(self.folder):
            log.warning(
                "the public site is not built yet (run `petunia build-site`): "
                'serving a "being built" page until it is'
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_built(self.folder):
            response = HTMLResponse(BEING_BUILT, status_code=503, headers={"Retry-After": "60"})
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if not isinstance(response, FileResponse) or response.status_code != 200:
            return response
        request_headers = Headers(scope=scope)
        accepted = accepted_encodings(request_headers.get("accept-encoding", ""))
        has_copy = False
        for encoding, suffix in ENCODINGS:
            copy = str(response.path) + suffix
            try:
                stat = os.stat(copy)
            except OSError:
                continue
            has_copy = True
            if encoding not in accepted:
                continue
            compressed = FileResponse(
                copy,
                stat_result=stat,
                media_type=response.media_type,
                headers={"Content-Encoding": encoding, "Vary": "Accept-Encoding"},
            )
            if self.is_not_modified(compressed.headers, request_headers):
                return NotModifiedResponse(compressed.headers)
            return compressed
        if has_copy:
            response.headers["Vary"] = "Accept-Encoding"
        return response
