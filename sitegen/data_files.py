"""Data files the static site reads in the browser: "near you" (postcode centroids and the
sessions in each grid cell around them) and the sitemap."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import orm, select

from api.directory.enums import AccessibilityFeature, HowToJoin
from api.directory.models import Postcode
from api.web.headers import headers_file, inline_script_hashes, site_csp, site_headers
from sitegen.pages import SiteModel
from sitegen.shell import Shell

# Grid cells of about 5.5 km by 5 km: a 5 km search reads at most nine small files.
CELL = (0.05, 0.075)
# Postcodes published for "near you": those within this margin of a venue's area.
MARGIN_DEG = 0.25


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def near_files(model: SiteModel) -> dict[str, str]:
    """data/near/index.json and one file per cell: [path, title, provider, where, when,
    cost, latitude, longitude, flags (1 free, 2 step-free, 4 drop-in)]."""
    d = model.d
    cells: dict[str, list[list[Any]]] = defaultdict(list)
    for s in d.sessions.values():
        venue = d.venues.get(s.venue_id) if s.venue_id else None
        if venue is None or venue.latitude is None or venue.longitude is None:
            continue
        summary = model.summary(s)
        flags = (
            (1 if s.is_free else 0)
            | (2 if AccessibilityFeature.STEP_FREE in d.accessibility.get(venue.id, []) else 0)
            | (4 if s.how_to_join == HowToJoin.DROP_IN else 0)
        )
        key = f"{math.floor(venue.latitude / CELL[0])}_{math.floor(venue.longitude / CELL[1])}"
        cells[key].append(
            [
                summary["url"],
                summary["title"],
                summary["provider"],
                summary["where"],
                summary["when"],
                summary["cost"],
                round(venue.latitude, 5),
                round(venue.longitude, 5),
                flags,
            ]
        )
    files = {f"data/near/{key}.json": _dumps(rows) for key, rows in sorted(cells.items())}
    files["data/near/index.json"] = _dumps({"cell": list(CELL), "cells": sorted(cells)})
    return files


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
