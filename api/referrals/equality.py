"""Optional, coded equality data on a referral, for "who is reached" in the report: sex,
ethnic group (the NHS Data Dictionary's ETHNIC CATEGORY codes A to Z), long term conditions
(from a coded list kept as data, directory_data/equality/long_term_conditions.yaml) and
deprivation (the IMD decile of the person's postcode, from the lookup `petunia imd import`
fills: api/reports/imd.py).

It is special category personal data: stored only encrypted with the referral's own data
key (``Referral.equality_enc``, like the rest of its personal data), read and changed only by
the roles api/access/policy.py lets read the person's full details ("equality",
``equality_scope``), and gone when the referral is purged (its key is destroyed and the
column cleared). Reports decrypt it to count people, never to show one.

"Prefer not to say" is kept apart from "not asked": an ethnic category the person chose not
to state is the Data Dictionary's own code for it (Z, "Not stated"); for sex and long term
conditions, which have no such code, the question is listed in ``declined``. A question
neither answered nor declined was not asked. ``change`` records, changes or clears the data
after the referral was made, audited by the names of the parts that changed (never values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

import yaml
from sqlalchemy import orm, select

from api.access import policy
from api.access.tokens import Principal
from api.audit.log import record as audit
from api.referrals.errors import ErrorCode, Problem, Rejected, not_found, reject
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
NOT_STATED = "Z"  # asked, and chose not to state it


class Question(StrEnum):
    """The questions, as the stored data names them (``declined`` lists some of them)."""

    SEX = "sex"
    ETHNIC_CATEGORY = "ethnicCategory"
    LONG_TERM_CONDITIONS = "longTermConditions"


SEX, ETHNIC_CATEGORY, LONG_TERM_CONDITIONS = (q.value for q in Question)
QUESTIONS = (SEX, ETHNIC_CATEGORY, LONG_TERM_CONDITIONS)
# Every part of the stored data, in the order an audit entry names what changed.
PARTS = (*QUESTIONS, "declined", "imdDecile")


def ethnic_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The ethnic categories grouped as the Data Dictionary groups them (White, Mixed...):
    [(group, [(code, label within the group)])], "Not stated" left out (it is the answer
    "Prefer not to say")."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, label in ETHNIC_CATEGORIES.items():
        if code == NOT_STATED:
            continue
        group, _, name = label.partition(": ")
        groups.setdefault(group, []).append((code, name[:1].upper() + name[1:]))
    return list(groups.items())


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
    # The questions the person was asked and preferred not to answer (of QUESTIONS).
    declined: tuple[str, ...] = field(default_factory=tuple)


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
    declined = set(data.declined)
    for question in sorted(declined - set(QUESTIONS)):
        problems.append(
            Problem(
                f"{path}.declined",
                f"unknown question {question!r}: use {', '.join(QUESTIONS)}",
                INVALID,
            )
        )
    if ETHNIC_CATEGORY in declined:
        # The Data Dictionary has a code for it: "Not stated" is what is stored.
        declined.discard(ETHNIC_CATEGORY)
        if ethnic not in (None, NOT_STATED):
            problems.append(_both(path, ETHNIC_CATEGORY))
        ethnic = NOT_STATED
    if SEX in declined and sex is not None:
        problems.append(_both(path, SEX))
    if LONG_TERM_CONDITIONS in declined and codes:
        problems.append(_both(path, LONG_TERM_CONDITIONS))
    if problems:
        raise Rejected(problems)
    return EqualityIn(sex, ethnic, codes, tuple(q for q in QUESTIONS if q in declined))


def _both(path: str, question: str) -> Problem:
    return Problem(
        f"{path}.{question}",
        "give an answer or say they preferred not to answer, not both",
        INVALID,
    )


def _payload(db: orm.Session, clean: EqualityIn, postcode: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "sex": clean.sex,
        "ethnicCategory": clean.ethnic_category,
        "longTermConditions": list(clean.long_term_conditions),
        "imdDecile": decile_of(db, postcode),
    }
    if clean.declined:  # (left out when empty: data recorded before it read the same)
        payload["declined"] = list(clean.declined)
    return payload


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
    payload = _payload(db, validate(data), postcode)
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


# -- Reading it, labelled -----------------------------------------------------------------------


@dataclass(frozen=True)
class Coded:
    """A code as stored, with its label (the code itself when a list no longer has it)."""

    code: str
    label: str


@dataclass(frozen=True)
class EqualityView:
    """A referral's equality data as people read it: each code with its label."""

    sex: Coded | None
    ethnic_category: Coded | None
    long_term_conditions: tuple[Coded, ...]
    imd_decile: int | None
    declined: tuple[str, ...]  # of QUESTIONS; an ethnic category declined is Z instead

    def as_form(self) -> dict[str, object]:
        """The staff form's values for it ("declined": prefer not to say; "": not asked)."""
        return {
            "sex": "declined" if SEX in self.declined else self.sex.code if self.sex else "",
            "ethnic_category": "declined"
            if self.ethnic_category and self.ethnic_category.code == NOT_STATED
            else self.ethnic_category.code
            if self.ethnic_category
            else "",
            "conditions": ["declined"]
            if LONG_TERM_CONDITIONS in self.declined
            else [c.code for c in self.long_term_conditions],
        }


def labelled(data: dict[str, Any] | None) -> EqualityView | None:
    """``read``'s answer with labels; None when nothing is recorded."""
    if data is None:
        return None
    sexes = {s.value: label for s, label in SEX_LABELS.items()}
    known = conditions()
    sex, ethnic = data.get("sex"), data.get("ethnicCategory")
    return EqualityView(
        sex=Coded(sex, sexes.get(sex, sex)) if sex else None,
        ethnic_category=Coded(ethnic, ETHNIC_CATEGORIES.get(ethnic, ethnic)) if ethnic else None,
        long_term_conditions=tuple(
            Coded(c, known.get(c, c)) for c in data.get("longTermConditions") or ()
        ),
        imd_decile=data.get("imdDecile"),
        declined=tuple(q for q in QUESTIONS if q in (data.get("declined") or ())),
    )


def view_of(protector: Protector, referral: Referral) -> EqualityView | None:
    """A referral's equality data, labelled (the caller has asked the policy)."""
    return labelled(read(protector, referral.key_id, referral.equality_enc))


# -- Changing it after the referral was made ----------------------------------------------------


def find_for_equality(db: orm.Session, principal: Principal, referral_id: int) -> Referral:
    """A referral whose equality data ``principal`` may record, or NOT_FOUND (also when it
    is not theirs)."""
    referral = db.scalars(
        select(Referral).where(Referral.id == referral_id, policy.equality_scope(principal))
    ).first()
    if referral is None:
        raise not_found("referralId")
    return referral


def change(
    db: orm.Session,
    principal: Principal,
    referral_id: int,
    data: EqualityIn | None,
    protector: Protector,
    *,
    path: str = "equality",
) -> tuple[Referral, list[str]]:
    """Record or change the equality data of a referral (``data``: the whole answer, which
    replaces what was recorded; the IMD decile is looked up again from the person's current
    postcode), or clear it (``data`` None). Returns the referral and the parts that changed;
    the audit entry names those parts, never their values."""
    referral = find_for_equality(db, principal, referral_id)
    if referral.purged_at is not None or referral.person_enc is None:
        raise reject(
            "referralId", "this referral's personal data is purged", ErrorCode.INVALID_STATE
        )
    before = read(protector, referral.key_id, referral.equality_enc) or {}
    if data is None:
        after: dict[str, Any] = {}
        referral.equality_enc = None
    else:
        clean = validate(data, path)
        key = protector.data_key(referral.key_id)
        person = protector.decrypt_json("person", referral.person_enc, key) or {}
        after = _payload(db, clean, person.get("postcode"))
        referral.equality_enc = protector.encrypt_json("equality", after, key)
    changed = [p for p in PARTS if _part(before, p) != _part(after, p)]
    if changed:
        audit(
            db, principal, "referral.equality", "referral", referral.id,
            changed=changed, cleared=data is None,
        )  # fmt: skip
    return referral, changed


def _part(data: dict[str, Any], part: str) -> Any:
    value = data.get(part)
    return value or None  # an empty list is nothing recorded, as a missing one
