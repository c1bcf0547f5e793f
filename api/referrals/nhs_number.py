"""NHS numbers: ten digits, the last a Modulus 11 check digit (NHS Data Dictionary)."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s-]")


class InvalidNhsNumber(ValueError):
    pass


def check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when there is none (remainder gives 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    digit = 11 - total % 11
    if digit == 11:
        return 0
    return None if digit == 10 else digit


def normalise_nhs_number(value: str) -> str:
    """The ten digits of ``value`` (spaces and dashes allowed, as in "943 476 5919");
    InvalidNhsNumber with a message a person can act on otherwise."""
    digits = _SEPARATORS.sub("", value or "")
    if not digits.isdigit() or len(digits) != 10 or not digits.isascii():
        raise InvalidNhsNumber("an NHS number has 10 digits, like 943 476 5919")
    if check_digit(digits[:9]) != int(digits[9]):
        raise InvalidNhsNumber(
            "this NHS number's check digit is wrong: check it for a mistyped digit"
        )
    return digits


def format_nhs_number(digits: str) -> str:
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
