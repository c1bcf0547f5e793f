"""Precompressed copies of the built site: ``name.gz`` (gzip) and ``name.br`` (brotli)
beside every text file, so the app (api/web/site.py) and static hosts send compressed bytes
without compressing on each request.

Pages are compressed as they are written, in the build's render workers (``compress``), and
an unchanged page is linked from the previous build with its copies (``with_copies``); the
last pass (``precompress_site``) does the rest (theme assets, data files, the search index,
the open data), linking the previous copies of files that did not change.

Left as they are: calendars (``.ics``, downloaded one at a time into a calendar app, about a
kilobyte) and the Open Referral UK per-service records (``open-data/oruk/services/``, read
by software one at a time): at national scale they are 40,000 of the site's 63,000 files,
and compressing them would cost more build time than it saves anyone.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator
from pathlib import Path

import brotli

# Source maps are for developers' tools, never loaded by a page: left as they are.
TEXT = {".html", ".css", ".js", ".json", ".xml", ".txt", ".svg", ".webmanifest"}
SKIP = re.compile(r"(^|/)open-data/oruk/services/")
SUFFIXES = {"br": ".br", "gzip": ".gz"}
MIN_SIZE = 200  # smaller files gain nothing from compression
# Brotli's best quality is worth its time on the theme's assets (compressed once, sent on
# every first visit); pages and big files use quality 5: as small as 9 within 1%, 18 times
# quicker (measured on the demo site's pages).
ASSET_QUALITY = 11
ASSET_QUALITY_UP_TO = 256 * 1024
PAGE_QUALITY = 5
NOT_LOADED = re.compile(r"/assets/javascripts/(lunr|workers)/")


def compressible(name: str) -> bool:
    return os.path.splitext(name)[1] in TEXT and not SKIP.search(name)


def with_copies(names: list[str]) -> list[str]:
    """File names with the compressed copies of those that have them."""
    return [*names, *(n + s for n in names if compressible(n) for s in SUFFIXES.values())]


def text_files(site: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(site):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(folder, name)
            if compressible(path.relative_to(site).as_posix()):
                yield path


def compress(path: Path) -> None:
    """Write ``path.gz`` and ``path.br`` beside ``path`` (nothing for a small file)."""
    data = path.read_bytes()
    if len(data) < MIN_SIZE:
        return
    posix = path.as_posix()
    # (The theme's search files are never loaded: Material's search plugin is off.)
    best = "/assets/" in posix and not NOT_LOADED.search(posix) and len(data) <= ASSET_QUALITY_UP_TO
    quality = ASSET_QUALITY if best else PAGE_QUALITY
    _write(path.with_name(path.name + ".br"), brotli.compress(data, quality=quality))
    _write(path.with_name(path.name + ".gz"), gzip.compress(data, compresslevel=9, mtime=0))


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _reuse(path: Path, site: Path, previous: Path | None) -> bool:
    """Link the previous build's compressed copies of an unchanged file: hard-linked from
    it, or written again with the same bytes (the search index and data files are remade
    whole on every build; comparing costs far less than compressing)."""
    if previous is None:
        return False
    old = previous / path.relative_to(site)
    olds = [old.with_name(old.name + s) for s in SUFFIXES.values()]
    try:
        if not all(o.is_file() for o in olds):
            return False
        if not os.path.samefile(path, old) and path.read_bytes() != old.read_bytes():
            return False
        for o in olds:
            target = path.with_name(o.name)
            target.unlink(missing_ok=True)
            os.link(o, target)
    except OSError:
        return False
    return True


def precompress_site(
    site: Path, previous: Path | None = None, only: list[str] | None = None
) -> tuple[int, int]:
    """Compress every text file of ``site`` (or the files ``only`` names, site paths: a
    build that knows which files it wrote); returns (compressed, reused)."""
    compressed = reused = 0
    if only is None:
        paths = list(text_files(site))
    else:
        paths = [site / name for name in only if compressible(name)]
    for path in paths:
        if path.stat().st_size < MIN_SIZE or path.with_name(path.name + ".br").exists():
            continue  # too small, or done already (a page, by the render workers)
        if _reuse(path, site, previous):
            reused += 1
        else:
            compress(path)
            compressed += 1
    return compressed, reused
