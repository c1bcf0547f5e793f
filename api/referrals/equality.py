"""Optional, coded equality data on a referral, for "who is reached" in the report: sex,
ethnic group (the NHS Data Dictionary's ETHNIC CATEGORY codes A to Z), long term conditions
(from a coded list kept as data, directory_data/equality/long_term_conditions.yaml) and
deprivation (the IMD decile of the person's postcode, from the lookup `petunia imd import`
fills: api/reports/imd.py).

It is special category personal data: stored only encrypted with the referral's own data
key (``Referral.equality_enc``, like the rest of its personal data), read by the roles
api/access/policy.py names ("equality"), and gone when the referral is purged (its key is
destroyed and the column cleared). Reports decrypt it to count people, never to show one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

import yaml
from sqlalchemy import orm

from api.referrals.errors import ErrorCode, Problem, Rejected
from api.referrals.keys import KeyDestroyed
from api.referrals.models import Referral
from api.referrals.protection import DecryptionError, Protector
from api.reports.imd import decile_of
from directory_data import DATA_DIR

INVALID = ErrorCode.INVALID
CONDITIONS_FILE = DATA_DIR / "equality" / "long_term_conditions.yaml"


class Sex(StrEnum):
    """The NHS Data Dictionary's PERSON STATED GENDER CODE values as the person states it."""

    MALE = "1"
    FEMALE = "2"
    INDETERMINATE = "9"
    NOT_KNOWN = "X"


SEX_LABELS = {
    Sex.MALE: "Male",
    Sex.FEMALE: "Female",
    Sex.INDETERMINATE: "Indeterminate (unable to be classified)",
    Sex.NOT_KNOWN: "Not known",
}

# NHS Data Dictionary, ETHNIC CATEGORY (the 2001 census categories), in code order.
ETHNIC_CATEGORIES = {
    "A": "White: British",
    "B": "White: Irish",
    "C": "White: any other White background",
    "D": "Mixed: White and Black Caribbean",
    "E": "Mixed: White and Black African",
    "F": "Mixed: White and Asian",
    "G": "Mixed: any other mixed background",
    "H": "Asian or Asian British: Indian",
    "J": "Asian or Asian British: Pakistani",
    "K": "Asian or Asian British: Bangladeshi",
    "L": "Asian or Asian British: any other Asian background",
    "M": "Black or Black British: Caribbean",
    "N": "Black or Black British: African",
    "P": "Black or Black British: any other Black background",
    "R": "Other ethnic groups: Chinese",
    "S": "Other ethnic groups: any other ethnic group",
    "Z": "Not stated",
}


@cache
def conditions() -> dict[str, str]:
    """The coded list of long term conditions: code -> label, in the file's order."""
    data = yaml.safe_load(CONDITIONS_FILE.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data["conditions"].items()}


@dataclass(frozen=True)
class EqualityIn:
    """What the person chose to tell; every part optional. The IMD decile is not given: it
    is looked up from the postcode of their contact details."""

    sex: str | None = None
    ethnic_category: str | None = None
    long_term_conditions: tuple[str, ...] = field(default_factory=tuple)


def validate(data: EqualityIn, path: str = "input.equality") -> EqualityIn:
    """The same data, checked (codes upper-cased); every problem at once."""
    problems = []
    sex = (data.sex or "").strip().upper() or None
    if sex is not None and sex not in {s.value for s in Sex}:
        problems.append(
            Problem(f"{path}.sex", "use 1 (male), 2 (female), 9 or X (not known)", INVALID)
        )
    ethnic = (data.ethnic_category or "").strip().upper() or None
    if ethnic is not None and ethnic not in ETHNIC_CATEGORIES:
        problems.append(
            Problem(
                f"{path}.ethnicCategory",
                "use an NHS Data Dictionary ethnic category code: A to H, J to N, P, R, S or Z",
                INVALID,
            )
        )
    known = conditions()
    codes = tuple(dict.fromkeys(c.strip().lower() for c in data.long_term_conditions))
    unknown = [c for c in codes if c not in known]
    if unknown:
        problems.append(
            Problem(
                f"{path}.longTermConditions",
                f"unknown condition code {unknown[0]!r}: use one of {', '.join(known)}",
                INVALID,
            )
        )
    if problems:
        raise Rejected(problems)
    return EqualityIn(sex, ethnic, codes)


def record(
    db: orm.Session,
    referral: Referral,
    data: EqualityIn,
    protector: Protector,
    *,
    postcode: str | None,
) -> None:
    """Store the person's equality data, encrypted with the referral's data key, with the
    IMD decile of ``postcode`` (None when it is not in the lookup)."""
    clean = validate(data)
    payload = {
        "sex": clean.sex,
        "ethnicCategory": clean.ethnic_category,
        "longTermConditions": list(clean.long_term_conditions),
        "imdDecile": decile_of(db, postcode),
    }
    referral.equality_enc = protector.encrypt_json(
        "equality", payload, protector.data_key(referral.key_id)
    )


def read(
    protector: Protector | None, key_id: str | None, token: str | None
) -> dict[str, Any] | None:
    """A referral's equality data, or None (not recorded, purged, its key is gone, or no
    protector to read it with)."""
    if token is None or protector is None:
        return None
    try:
        key = protector.data_key(key_id)
        return protector.decrypt_json("equality", token, key)
    except (DecryptionError, KeyDestroyed):
        return None
