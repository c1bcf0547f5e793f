"""Cell key perturbation: repeated reports cannot be differenced to find a person.

The method is the cell key method of the Australian Bureau of Statistics' TableBuilder and
the ONS's census flexible tables. Every referral and every unmet need carries a fixed random
``record_key`` (assigned when it is created, never shown). A figure's *cell key* is the sum
of the record keys of the records it counts; the *release key* is the sum over every record
in the report. The noise added to a figure is read from a fixed distribution at a point
chosen by a hash of the two keys:

- the same report asked for again gives the same figures, so asking again and averaging
  gains nothing;
- two reports whose records differ, even by one person, have different release keys, so
  every figure of one carries noise independent of the other's: the difference between two
  reports is a difference of people plus noise, never exactly the people. (Keying on the
  cell alone, as TableBuilder does, would leave the cells without the extra person
  identical, and "which cells changed" would then name that person's cells.)

Counts of people get a whole number from the two-sided geometric distribution (the discrete
Laplace distribution): no change with probability 3/7, within 1 either way in 77 of 100
figures, within 2 in 91 of 100, and a count never goes below zero. Its tails never end, so
no published difference is possible only with the extra person or only without: a pair of
reports shifts the odds on any one fact about a person by at most 2.5 per figure that counts
them and someone else (ALPHA below). (A figure of nobody is always 0; with one person it is
above 4, and printed, in 2 of 100 releases: the only edge.) Sums that a person adds an
amount to (score changes, NHS use, money) get continuous Laplace noise scaled to the
largest single contribution in the figure, with the same bound. Derived figures (rates,
means, intervals, the tariff due, a median) are worked out from the perturbed figures,
never from the true ones.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from fractions import Fraction
from typing import Protocol

KEY_RANGE = 2**31  # record keys are 0 <= key < KEY_RANGE (they fit a signed 32-bit column)
ALPHA = 0.4  # geometric noise: P(noise = k) is proportional to ALPHA ** |k|
SCALE = 1.0 / math.log(1 / ALPHA)  # Laplace noise for sums: the same odds bound (2.5)


def new_record_key() -> int:
    """A referral's (or unmet need's) record key: uniform, fixed for its lifetime."""
    return secrets.randbelow(KEY_RANGE)


class Noise(Protocol):
    """How a release's figures are published: exactly, or perturbed (CellKey)."""

    exact: bool

    def count(self, value: int, keys: int, tag: str = "count") -> int:
        """A count of ``value`` records whose record keys add up to ``keys``."""
        ...

    def amount(self, value: Fraction, keys: int, scale: Fraction | int, tag: str) -> Fraction:
        """A sum over records whose record keys add up to ``keys``, to which no one record
        adds more than ``scale`` (in absolute value)."""
        ...


class Exact:
    """The true figures (for ADMIN only: api/access/policy.py READ_EXACT_REPORTS)."""

    exact = True

    def count(self, value: int, keys: int, tag: str = "count") -> int:
        return value

    def amount(self, value: Fraction, keys: int, scale: Fraction | int, tag: str) -> Fraction:
        return Fraction(value)


class CellKey:
    """Perturbed figures for one release (see the module's docstring)."""

    exact = False

    def __init__(self, release_keys: int) -> None:
        self.release_key = release_keys % KEY_RANGE

    def uniform(self, keys: int, tag: str) -> float:
        """A point in (0, 1), fixed by the release key, the cell key and the figure's kind."""
        digest = hashlib.sha256(f"{self.release_key}:{keys % KEY_RANGE}:{tag}".encode()).digest()
        return (int.from_bytes(digest[:8], "big") + 0.5) / 2**64

    def count(self, value: int, keys: int, tag: str = "count") -> int:
        if value <= 0:
            return 0  # nobody: nothing to perturb (and 0 to 4 all print "<5")
        return max(0, value + geometric(self.uniform(keys, tag)))

    def amount(self, value: Fraction, keys: int, scale: Fraction | int, tag: str) -> Fraction:
        if not scale:
            return Fraction(value)
        noise = laplace(self.uniform(keys, tag)) * SCALE * float(scale)
        return Fraction(value) + Fraction(noise).limit_denominator(10**6)


def geometric(u: float) -> int:
    """The two-sided geometric distribution with parameter ALPHA at quantile ``u``."""
    # P(X = 0) = (1 - a) / (1 + a); P(X = k) = P(X = -k) = P(X = 0) * a**k.
    p0 = (1 - ALPHA) / (1 + ALPHA)
    below = ALPHA / (1 + ALPHA)  # P(X <= -1); P(X <= -k) = a**k / (1 + a)
    if u < below:
        # smallest k >= 1 with P(X <= -k) <= u < P(X <= -(k-1))
        return -math.floor(math.log(u * (1 + ALPHA)) / math.log(ALPHA))
    if u < below + p0:
        return 0
    return math.floor(math.log((1 - u) * (1 + ALPHA)) / math.log(ALPHA))


def laplace(u: float) -> float:
    """The standard Laplace distribution (scale 1) at quantile ``u``."""
    return math.log(2 * u) if u < 0.5 else -math.log(2 * (1 - u))
