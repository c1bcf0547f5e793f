"""The Index of Multiple Deprivation lookup: the IMD decile (1 = most deprived tenth of
areas in England, 10 = least) of each postcode, imported from a CSV by `petunia imd import`
as the postcode table is. A referral's decile is looked up when its equality data is
recorded (api/referrals/equality.py) and kept, encrypted, with it."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import Integer, String, delete, orm, select
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.directory.postcodes import InvalidPostcode, normalise_postcode


class ImdDecile(Base):
    __tablename__ = "imd_deciles"

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)
    decile: Mapped[int] = mapped_column(Integer)


_POSTCODE_COLUMNS = ("pcds", "postcode")
_DECILE_COLUMNS = ("imd_decile", "decile", "imd19_decile", "imd25_decile")


class ImdFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        shown = problems[:50]
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__("\n".join(shown) + more)
        self.problems = problems


@dataclass
class ImdImport:
    imported: int = 0


def import_imd(db: orm.Session, handle: TextIO) -> ImdImport:
    """Replace the lookup with a CSV's rows (a postcode column: pcds or postcode; a decile
    column: imd_decile, decile, imd19_decile or imd25_decile). All or nothing: every bad row
    is listed with its line number and nothing changes."""
    reader = csv.DictReader(handle)
    header = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    pc = next((header[c] for c in _POSTCODE_COLUMNS if c in header), None)
    dc = next((header[c] for c in _DECILE_COLUMNS if c in header), None)
    if pc is None or dc is None:
        raise ImdFileError(
            [
                "line 1: expected a postcode column (pcds or postcode) and a decile column "
                "(imd_decile, decile, imd19_decile or imd25_decile)"
            ]
        )
    rows: dict[str, int] = {}
    problems = []
    for line, row in enumerate(reader, start=2):
        try:
            postcode = normalise_postcode(row.get(pc) or "")
        except InvalidPostcode as exc:
            problems.append(f"line {line}: {exc}")
            continue
        raw = (row.get(dc) or "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 10:
            problems.append(f"line {line}: decile must be a whole number from 1 to 10, not {raw!r}")
            continue
        rows[postcode] = int(raw)
    if problems:
        raise ImdFileError(problems)
    db.execute(delete(ImdDecile))
    db.add_all(ImdDecile(postcode=p, decile=d) for p, d in rows.items())
    db.flush()
    return ImdImport(len(rows))


def decile_of(db: orm.Session, postcode: str | None) -> int | None:
    """The IMD decile of a postcode, or None (no postcode, not a postcode, not in the
    lookup)."""
    if not postcode:
        return None
    try:
        normal = normalise_postcode(postcode)
    except InvalidPostcode:
        return None
    return db.scalar(select(ImdDecile.decile).where(ImdDecile.postcode == normal))
