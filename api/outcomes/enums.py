from enum import StrEnum


class TimePoint(StrEnum):
    BASELINE = "BASELINE"
    END = "END"
    FOLLOW_UP = "FOLLOW_UP"  # with a number of months


class Direction(StrEnum):
    """Which way is better on an instrument's scale."""

    HIGHER_IS_BETTER = "HIGHER_IS_BETTER"
    LOWER_IS_BETTER = "LOWER_IS_BETTER"


class NhsUsePeriod(StrEnum):
    BEFORE = "BEFORE"  # the 6 months before the intervention
    AFTER = "AFTER"  # the 6 months after it
