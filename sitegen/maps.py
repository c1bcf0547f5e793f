"""Maps and directions for the public site. A "directions" link (OpenStreetMap, from the
venue's coordinates or, without them, its postcode) is always there; a map of the venue or of
search results near a place only when a tile server is configured (PETUNIA_MAP_TILES, any
OSM-compatible URL template), with Leaflet vendored in sitegen/assets/vendor/leaflet and
loaded only on pages that show a map. Without a tile server nothing is fetched from anywhere
and every page is complete."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

OSM = "https://www.openstreetmap.org"


def directions_url(lat: float | None, lon: float | None, postcode: str | None) -> str | None:
    """OpenStreetMap directions to the venue, the person filling in where they start."""
    if lat is not None and lon is not None:
        return f"{OSM}/directions?route=%3B{lat:.5f}%2C{lon:.5f}#map=16/{lat:.5f}/{lon:.5f}"
    if postcode:
        return f"{OSM}/search?query={quote(postcode)}"
    return None


def tiles_origin(template: str) -> str:
    """The origin a tile URL template loads images from, for the Content-Security-Policy:
    ``https://{s}.tile.example.org/{z}/{x}/{y}.png`` -> ``https://*.tile.example.org``."""
    parts = urlsplit(template.replace("{s}", "a"))
    host = parts.netloc
    if "{s}" in template.split("/")[2]:
        host = "*." + host.split(".", 1)[1] if "." in host else host
    return f"{parts.scheme}://{host}"


def check_template(template: str) -> str:
    """A tile URL template must be http(s) with {z}, {x} and {y}: said plainly if not."""
    parts = urlsplit(template.replace("{s}", "a"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("PETUNIA_MAP_TILES must be an http(s) URL template")
    missing = [k for k in ("{z}", "{x}", "{y}") if k not in template]
    if missing:
        raise ValueError(
            f"PETUNIA_MAP_TILES needs {', '.join(missing)} (like .../{{z}}/{{x}}/{{y}}.png)"
        )
    return template
