"""What a person meant by a spreadsheet cell: domains, a cost, a contact, a postcode.

Each reader takes the cell as typed and returns the value Petunia stores with a note when the
meaning was inferred ("read 'Arts' as 'Arts and creativity'"), so the lead provider can check
it; where the meaning cannot be known it raises ValueError with the fix to make. Nothing typed
is dropped: words a reader does not need are kept where a person will read them (a cost's
"donation" goes beside the price).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from api.directory.enums import Domain
from api.directory.postcodes import InvalidPostcode, normalise_postcode

# A postcode's outward code alone ("NT2", "AT10", "EC1A"): the district.
_DISTRICT = re.compile(r"^[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-Z]?$")


# ---------------------------------------------------------------------------------------------
# Domains


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def read_domains(text: str, labels: dict[str, Domain]) -> tuple[list[Domain], list[str]]:
    """Labels ("Money, benefits and advice"), codes (WELFARE_RIGHTS) or a word of one label
    ("Arts"), separated by ';' or ','. ``labels`` is {label in lower case: domain}."""
    notes: list[str] = []
    found: list[Domain] = []
    rest = text
    # Whole labels first, longest first: a label may hold a comma of its own.
    names = {**labels, **{d.value.lower().replace("_", " "): d for d in Domain}}
    at: list[tuple[int, Domain]] = []  # in the order written
    for name in sorted(names, key=len, reverse=True):
        pattern = re.compile(rf"(?<![a-z]){re.escape(name)}(?![a-z])", re.IGNORECASE)
        for match in pattern.finditer(rest):
            at.append((match.start(), names[name]))
        # Blanked to the same length, so later matches keep their places.
        rest = pattern.sub(lambda m: ";" * len(m.group(0)), rest)
    found += [domain for _pos, domain in sorted(at, key=lambda item: item[0])]
    for part in re.split(r"[;,/|\n]+", rest):
        name = part.strip(" .-&").strip().lower()
        if not name or name == "and":
            continue
        key = name.upper().replace(" ", "_").replace("-", "_")
        if key in Domain.__members__:
            found.append(Domain(key))
            continue
        by_word = {d for label, d in names.items() if set(_words(name)) <= set(_words(label))}
        if len(by_word) == 1:
            domain = by_word.pop()
            label = next((lb for lb, d in labels.items() if d is domain), domain.value)
            found.append(domain)
            notes.append(f"read '{part.strip()}' as '{label[0].upper()}{label[1:]}'")
            continue
        shown = sorted(lb[0].upper() + lb[1:] for lb in labels) or [d.value for d in Domain]
        if by_word:
            could = sorted(
                next(lb for lb, d in labels.items() if d is dom) if labels else dom.value
                for dom in by_word
            )
            raise ValueError(
                f"'{part.strip()}' could mean {' or '.join(repr(c) for c in could)}: "
                "write the one you mean"
            )
        close = difflib.get_close_matches(name, list(labels), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0][0].upper()}{close[0][1:]}'?" if close else ""
        raise ValueError(
            f"'{part.strip()}' is not one of the six domains ({', '.join(shown)}){hint}"
        )
    if not found:
        raise ValueError("give at least one domain")
    return list(dict.fromkeys(found)), notes


# ---------------------------------------------------------------------------------------------
# Cost

_FREE = re.compile(r"^(?:free|none|no|nil|no charge|no cost|0|0\.00|£0|£0\.00)$")
_MONEY = re.compile(r"£\s*(\d+(?:\.\d{1,2})?)|(\d+\.\d{2})\b|(\d+)\s*p\b|^(\d+)$")


@dataclass
class Cost:
    is_free: bool
    amount: Decimal | None
    # Words said beside the price ("donation", "£2 concessions"), shown with it.
    words: str | None
    notes: list[str] = field(default_factory=list)


def read_cost(text: str) -> Cost:
    """'free', '2.50', '£1 donation', '£3.50 (£2 concessions)', 'Free (donations welcome)',
    '50p'."""
    said = text.strip()
    plain = said.lower()
    if not plain or _FREE.match(plain):
        return Cost(True, None, None)
    free_words = re.match(r"^(?:free|no charge)\b[\s,:;.-]*(.*)$", plain)
    if free_words:
        words = _tidy(said[len(said) - len(free_words.group(1)) :])
        return Cost(True, None, words, [f"read cost '{said}' as free, with '{words}' beside it"])
    match = _MONEY.search(plain)
    if match is None:
        raise ValueError(
            f"cost '{said}' has no amount: write 'free', or an amount like £2.50 "
            "(words such as 'donation' may follow it)"
        )
    try:
        if match.group(3):
            amount = Decimal(match.group(3)) / 100
        else:
            amount = Decimal(next(g for g in match.groups() if g))
    except InvalidOperation:  # the pattern admits only digits; kept for safety
        raise ValueError(f"cost '{said}' is not an amount like £2.50") from None
    if amount > 10000:
        raise ValueError(f"cost '{said}' is out of range")
    amount = amount.quantize(Decimal("0.01"))
    words = _tidy(said[: match.start()] + " " + said[match.end() :])
    if amount == 0:
        return Cost(True, None, words or None, [f"read cost '{said}' as free"] if words else [])
    notes = [f"read cost '{said}' as £{amount}, with '{words}' beside it"] if words else []
    return Cost(False, amount, words or None, notes)


def _tidy(words: str) -> str:
    """'(£2 concessions)' -> '£2 concessions'; ' - donation' -> 'donation'."""
    text = re.sub(r"[()\[\]]", " ", words)
    text = re.sub(r"\s+", " ", text).strip(" ,;:-–.")
    return text


# ---------------------------------------------------------------------------------------------
# Contact

_EMAIL = re.compile(r"[^\s,;:<>()]+@[^\s,;:<>()]+\.[^\s,;:<>()]+")
# Words around a contact's details that are not part of them: "Ring Sam on 01234 567890".
_SAYING = re.compile(r"\b(?:ring|call|phone|tel|email|e-mail|contact|on|or|at|text)\b", re.I)
_PHONE = re.compile(r"(?:\+44\s?\(?0?\)?|\(?0)[\d\s()-]{8,14}\d")


@dataclass
class Contact:
    name: str | None
    email: str | None
    phone: str | None
    notes: list[str] = field(default_factory=list)


def read_contact(text: str) -> Contact:
    """'Jane Smith 07700 900123', 'jane@example.org', 'Ring Sam on 01234 567890'."""
    said = text.strip()
    email_match = _EMAIL.search(said)
    rest = _EMAIL.sub(" ", said) if email_match else said
    phone_match = _PHONE.search(rest)
    rest = _PHONE.sub(" ", rest) if phone_match else rest
    rest = re.sub(_SAYING, " ", rest)
    name = _tidy(rest) or None
    email = email_match.group(0).rstrip(".") if email_match else None
    phone = re.sub(r"\s+", " ", phone_match.group(0)).strip() if phone_match else None
    read = [f"{k} {v}" for k, v in (("name", name), ("email", email), ("phone", phone)) if v]
    notes = [f"read contact '{said}' as {', '.join(read)}"] if len(read) > 1 else []
    return Contact(name, email, phone, notes)


# ---------------------------------------------------------------------------------------------
# Postcode


@dataclass
class Place:
    postcode: str | None
    # The outward code ("NT2") when only the district was given, or of the postcode.
    district: str | None
    notes: list[str] = field(default_factory=list)


def read_postcode(text: str) -> Place:
    """A full postcode, or a postcode district alone ("NT2") read as the district."""
    said = text.strip()
    try:
        postcode = normalise_postcode(said)
    except InvalidPostcode as problem:
        compact = re.sub(r"\s+", "", said).upper()
        if _DISTRICT.match(compact):
            return Place(
                None,
                compact,
                [
                    f"'{said}' is a postcode district, not a full postcode: the venue is listed "
                    f"in {compact} with no exact place, so it will not show in searches near a "
                    "postcode; give the full postcode (like 'NT2 4QP') to fix it"
                ],
            )
        raise ValueError(str(problem)) from None
    return Place(postcode, postcode.split()[0])
