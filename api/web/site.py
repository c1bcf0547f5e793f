"""The public directory site (`petunia build-site`) as the app serves it.

The site is served whatever happened to its last build: a failed build leaves the previous
site in place (sitegen/swap.py), and until the first build has finished every page is a
plain "being built" page (503, Retry-After) instead of an error.
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
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
