"""Data files the static site reads in the browser: the postcodes around the venues (for a
search near a place; the sessions of each grid cell are in the search index) and the
sitemap."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import orm, select

from api.directory.models import Postcode
from api.web.headers import headers_file, inline_script_hashes, site_csp, site_headers
from sitegen.pages import SiteModel
from sitegen.shell import Shell

# Postcodes published for searching near a place: those within this margin of the venues.
MARGIN_DEG = 0.25


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def postcode_files(db: orm.Session, model: SiteModel) -> dict[str, str]:
    """data/postcodes/<outward code>.json: {"AT1 2AB": [lat, lon]} for postcodes around the
    venues (a national postcode table would otherwise make hundreds of megabytes)."""
    points = [
        (v.latitude, v.longitude)
        for v in model.d.venues.values()
        if v.latitude is not None and v.longitude is not None
    ]
    if not points:
        return {}
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    rows = db.execute(
        select(Postcode.postcode, Postcode.latitude, Postcode.longitude).where(
            Postcode.latitude.between(min(lats) - MARGIN_DEG, max(lats) + MARGIN_DEG),
            Postcode.longitude.between(min(lons) - MARGIN_DEG * 1.5, max(lons) + MARGIN_DEG * 1.5),
        )
    )
    by_outward: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for postcode, lat, lon in rows:
        outward = postcode.split(" ")[0]
        by_outward[outward][postcode] = [round(lat, 5), round(lon, 5)]
    return {
        f"data/postcodes/{outward}.json": _dumps(dict(sorted(found.items())))
        for outward, found in sorted(by_outward.items())
    }


def sitemap(site_url: str, paths: list[str]) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for path in paths:
        lines.append(f"<url><loc>{escape(site_url + path)}</loc></url>")
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def robots(site_url: str) -> str:
    return f"User-agent: *\nAllow: /\nSitemap: {site_url}sitemap.xml\n"


def security_headers(
    shells: Iterable[Shell],
    site: Path,
    chrome_files: Iterable[str],
    meili_url: str | None,
    tiles_origin: str | None = None,
) -> str:
    """``_headers`` for static hosts (Netlify, Cloudflare Pages; the app serves the same):
    the security headers of api/web/headers.py, with a CSP that allows the theme's inline
    scripts (in the shells every page is made from, and the theme's own pages such as
    404.html) by hash, when the site searches Meilisearch its server, and when it shows maps
    the tile server (images only)."""
    texts = ["".join(shell.parts[::2]) for shell in shells]
    texts += [(site / name).read_text() for name in chrome_files if name.endswith(".html")]
    csp = site_csp(inline_script_hashes(texts), meili_url, tiles_origin)
    return headers_file(site_headers(csp))
