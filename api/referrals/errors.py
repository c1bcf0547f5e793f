"""Expected failures of referral and outcome operations: each with the input path it is
about, a message a person can act on, and a code. The GraphQL layer returns them in the
mutation payload; the CLI prints them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"  # does not exist, or is not yours: the same answer
    CONSENT_REQUIRED = "CONSENT_REQUIRED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    INVALID_STATE = "INVALID_STATE"
    DUPLICATE = "DUPLICATE"


@dataclass(frozen=True)
class Problem:
    field: str | None
    message: str
    code: ErrorCode


class Rejected(Exception):
    """Raised by domain functions for expected failures; nothing is changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


def reject(field: str | None, message: str, code: ErrorCode = ErrorCode.INVALID) -> Rejected:
    return Rejected([Problem(field, message, code)])


def not_found(field: str, what: str = "referral") -> Rejected:
    return reject(
        field,
        f"there is no {what} with this ID that you can see: check the ID",
        ErrorCode.NOT_FOUND,
    )
