"""UK postcodes: validation, normalisation, lookup, and distances between points."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import orm, select

from api.directory.models import Postcode

# Outward code (area letters, district) and inward code (sector digit, unit letters), as
# published by the ONS; GIR 0AA is the one historic exception still in use.
_POSTCODE = re.compile(
    r"^(?:([A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-Z]?)([0-9][ABD-HJLNP-UW-Z]{2})|(GIR)(0AA))$"
)


class InvalidPostcode(ValueError):
    def __init__(self, raw: str) -> None:
        super().__init__(
            f"'{raw}' is not a UK postcode: expected something like 'AT1 2AB' "
            "(letters and numbers, then a space, a number and two letters)"
        )
        self.raw = raw


def normalise_postcode(raw: str) -> str:
    """'at12ab ' -> 'AT1 2AB'; raises InvalidPostcode for anything that is not one."""
    compact = re.sub(r"\s+", "", raw or "").upper()
    match = _POSTCODE.match(compact)
    if not match:
        raise InvalidPostcode(raw)
    outward = match.group(1) or match.group(3)
    inward = match.group(2) or match.group(4)
    return f"{outward} {inward}"


def is_postcode(raw: str) -> bool:
    try:
        normalise_postcode(raw)
    except InvalidPostcode:
        return False
    return True


class UnknownPostcode(LookupError):
    def __init__(self, postcode: str) -> None:
        super().__init__(
            f"We do not know where {postcode} is: check it, or search by town or place instead"
        )
        self.postcode = postcode


def locate(db: orm.Session, raw: str) -> tuple[float, float]:
    """Latitude and longitude of a postcode's centroid."""
    postcode = normalise_postcode(raw)
    row = db.execute(
        select(Postcode.latitude, Postcode.longitude).where(Postcode.postcode == postcode)
    ).first()
    if row is None:
        raise UnknownPostcode(postcode)
    return row.latitude, row.longitude


EARTH_RADIUS_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing the circle: a cheap SQL pre-filter."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    dlon = math.degrees(radius_km / (EARTH_RADIUS_KM * max(math.cos(math.radians(lat)), 1e-6)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


# ---------------------------------------------------------------------------------------------
# Importing the ONS Postcode Directory

_POSTCODE_COLUMNS = ("pcds", "pcd", "pcd2", "postcode")
_LAT_COLUMNS = ("lat", "latitude")
_LON_COLUMNS = ("long", "longitude", "lon")


class PostcodeFileError(ValueError):
    def __init__(self, problems: list[str], total: int) -> None:
        shown = problems[:50]
        more = f"\n... and {total - len(shown)} more" if total > len(shown) else ""
        super().__init__("\n".join(shown) + more)
        self.problems = problems
        self.total = total


@dataclass
class PostcodeImport:
    imported: int = 0
    skipped_no_location: int = 0


def import_postcodes(
    db: orm.Session,
    handle: TextIO,
    *,
    on_progress: Callable[[int], None] | None = None,
    batch_size: int = 5000,
) -> PostcodeImport:
    """Load postcode centroids from an ONS Postcode Directory CSV (or any CSV with postcode,
    latitude and longitude columns). All or nothing: any bad row fails the whole import,
    listing every bad row with its line number. Rows the ONS publishes without a location
    (latitude 99.999999) are skipped and counted."""
    reader = csv.DictReader(handle)
    fields = {name.lower().strip(): name for name in reader.fieldnames or []}

    def pick(options: tuple[str, ...]) -> str | None:
        return next((fields[o] for o in options if o in fields), None)

    pc_col, lat_col, lon_col = pick(_POSTCODE_COLUMNS), pick(_LAT_COLUMNS), pick(_LON_COLUMNS)
    if not (pc_col and lat_col and lon_col):
        raise PostcodeFileError(
            [
                "line 1: expected columns pcds (or postcode), lat and long"
                f" (or latitude, longitude); found {list(fields)}"
            ],
            1,
        )
    result, problems, problem_count, batch = PostcodeImport(), [], 0, []
    for row in reader:
        line = reader.line_num
        try:
            lat, lon = float(row[lat_col]), float(row[lon_col])
            if lat > 90:  # the ONS marks "no grid reference" with 99.999999
                result.skipped_no_location += 1
                continue
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(f"latitude/longitude out of range: {lat}, {lon}")
            batch.append(
                {"postcode": normalise_postcode(row[pc_col]), "latitude": lat, "longitude": lon}
            )
        except (ValueError, TypeError) as exc:
            problem_count += 1
            if len(problems) < 50:
                problems.append(f"line {line}: {exc}")
            continue
        if len(batch) >= batch_size:
            result.imported += _upsert_postcodes(db, batch)
            batch = []
            if on_progress:
                on_progress(result.imported)
    if batch:
        result.imported += _upsert_postcodes(db, batch)
        if on_progress:
            on_progress(result.imported)
    if problem_count:
        raise PostcodeFileError(problems, problem_count)
    return result


def _upsert_postcodes(db: orm.Session, rows: list[dict[str, object]]) -> int:
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # The ONS file can list a postcode twice; keep the last, as an upsert would.
    unique = list({row["postcode"]: row for row in rows}.values())
    stmt = insert(Postcode).values(unique)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Postcode.postcode],
        set_={"latitude": stmt.excluded.latitude, "longitude": stmt.excluded.longitude},
    )
    db.execute(stmt)
    return len(unique)
