"""Security headers: the one set Petunia sends, on every response of the app, and written by
the site build as a ``_headers`` file for static hosts.

Every response gets ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``,
``X-Frame-Options: DENY`` and a Content-Security-Policy with ``frame-ancestors 'none'``. The
policy depends on what is answered:

- JSON and other data (``/graphql`` answers, ``/oruk``, ``/healthz``): ``default-src 'none'``,
  nothing in it may load or run anything;
- the app's own HTML (forms, moderation, GraphiQL): only its own files, no inline script;
- the public site: its own files, plus the few inline scripts of the mkdocs-material theme by
  their SHA-256 hash (the build finds them), plus the Meilisearch server when the site
  searches there. The build writes that policy into ``_headers``; the app reads it back when
  it serves the site, so both send the same headers.

A response that sets a header itself (the forms' pages do) keeps its own value.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

HEADERS_FILE = "_headers"
# Script elements the browser runs: no src, and no type or a JavaScript type.
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", re.S | re.I)
_DATA_TYPE = re.compile(r"""\btype\s*=\s*["']?(?!(?:text|application)/javascript|module)""", re.I)


def inline_script_hashes(html: Iterable[str]) -> list[str]:
    """The CSP source (``'sha256-...'``) of every inline script the pages run."""
    found: set[str] = set()
    for text in html:
        for attrs, body in _INLINE_SCRIPT.findall(text):
            if _DATA_TYPE.search(attrs):
                continue  # JSON, JSON-LD: data, never run
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            found.add(f"'sha256-{digest}'")
    return sorted(found)


def site_csp(
    script_hashes: Iterable[str], meili_url: str | None = None, tiles_origin: str | None = None
) -> str:
    connect = "'self'"
    if meili_url:
        parts = urlsplit(meili_url)
        connect += f" {parts.scheme}://{parts.netloc}"
    scripts = " ".join(["'self'", *script_hashes])
    images = "'self' data:" + (f" {tiles_origin}" if tiles_origin else "")
    return (
        f"default-src 'self'; script-src {scripts}; connect-src {connect}; "
        f"img-src {images}; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def site_headers(csp: str) -> dict[str, str]:
    return {**COMMON, "Content-Security-Policy": csp}


def headers_file(headers: dict[str, str]) -> str:
    """The ``_headers`` format of Netlify and Cloudflare Pages: a path pattern, then its
    headers indented. Other hosts: copy these headers into their configuration."""
    lines = ["/*", *(f"  {name}: {value}" for name, value in headers.items())]
    return "\n".join(lines) + "\n"


def read_headers_file(path: Path) -> dict[str, str]:
    """The headers for ``/*`` in a ``_headers`` file written by :func:`headers_file`."""
    headers: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith((" ", "\t")) and ":" in line:
            name, _, value = line.strip().partition(":")
            headers[name.strip()] = value.strip()
    return headers


class SecurityHeaders:
    """ASGI middleware: the common headers and a CSP by content type on every response,
    leaving any the response set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault("Content-Security-Policy", PAGE_CSP if html else DATA_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SiteHeaders:
    """Wraps the app that serves the built site: its responses carry the headers the build
    wrote to ``_headers`` (read again when the file changes, after a rebuild)."""

    def __init__(self, app: ASGIApp, site_dir: Path) -> None:
        self.app = app
        self.path = site_dir / HEADERS_FILE
        self._cached: tuple[tuple[int, int], dict[str, str]] = ((-1, -1), {})

    def headers(self) -> dict[str, str]:
        try:
            stat = self.path.stat()
        except OSError:
            return {}  # no site yet: the app-wide defaults apply
        version = (stat.st_ino, stat.st_mtime_ns)  # a rebuild swaps in a new file
        if version != self._cached[0]:
            self._cached = (version, read_headers_file(self.path))
        return self._cached[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extra = self.headers() if scope["type"] == "http" else {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
