"""What a long-lived process keeps between site builds (the background rebuild of `petunia
up`), so that a rebuild after one change costs what changed, not the whole directory.

Two kinds of things, each safe to reuse for its own reason:

- per-listing results (a service's Open Referral UK summary, its search record, its days in
  "What's on") keyed by the listing's signature: the hash of every row its pages are made of
  and of the build's settings and date (sitegen/pages.py ``session_signature``). Same
  signature, same result, whichever folder it is written to;
- the content of the last build's data files (the search index's shards), by name: a file
  whose content is the same is hard-linked from the served site with its compressed copies
  instead of written and compressed again. Only while the served site is the one this memo
  saw built (its manifest's ``build_id``); otherwise forgotten.

A build with no memo (``petunia build-site``, a full build) makes everything, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class BuildMemo:
    # (kind, id) -> (signature, value)
    listings: dict[tuple[str, int], tuple[str, Any]] = field(default_factory=dict)
    # The build whose files ``files`` describes, and those files' content by site path.
    build_id: str | None = None
    files: dict[str, Any] = field(default_factory=dict)
    # The same for the build being made, until it is live.
    pending: tuple[str, dict[str, Any]] | None = None
    _used: set[tuple[str, int]] = field(default_factory=set)

    def get(self, kind: str, key: int, signature: str, make: Callable[[], T]) -> T:
        """``make()``, or what it returned for the same listing and signature last time."""
        self._used.add((kind, key))
        hit = self.listings.get((kind, key))
        if hit is not None and hit[0] == signature:
            return hit[1]  # type: ignore[no-any-return]
        value = make()
        self.listings[(kind, key)] = (signature, value)
        return value

    def forget_unused(self) -> None:
        """Drop what this build did not ask for (listings gone): memory follows the
        directory's size."""
        self.listings = {k: v for k, v in self.listings.items() if k in self._used}
        self._used = set()


def cached(
    memo: BuildMemo | None, kind: str, key: int, signature: str | None, make: Callable[[], T]
) -> T:
    """``memo.get`` when there is a memo and a signature, else ``make()``."""
    if memo is None or not signature:
        return make()
    return memo.get(kind, key, signature, make)
