"""How a listing came to be in the directory, in words the public reads: "Listed by the
organisation" and "checked by <lead provider> on <date>"."""

from __future__ import annotations

import datetime as dt

from api.directory.enums import ListedBy, Verification


def provenance(
    listed_by: ListedBy,
    verification: Verification,
    verified_at: dt.date | None,
    checked_by: str | None,
) -> str:
    who = (
        "Listed by the organisation"
        if listed_by is ListedBy.SELF_REGISTERED
        else "Added by the local lead provider"
    )
    if verification is Verification.VERIFIED and verified_at is not None:
        by = checked_by or "the local lead provider"
        return f"{who}; checked by {by} on {verified_at.day} {verified_at:%B %Y}"
    return f"{who}; not checked yet"
