"""One listing never stops the whole site: listings that cannot be published are left out,
each reported by its key and the reason, and everything else is built.

Two checks find them. ``screen`` runs before the build: stored text that the text rule
(api/directory/text.py) refuses, from before the rule or from around it, is not published.
``probe`` runs only when a build failed: it renders every listing's own files (page,
JSON-LD, calendar, Open Referral UK record) one by one, and the listings that fail are left
out of the next attempt. A failure no listing explains is a fault of the build, and is
raised as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.directory import text
from api.directory.public import PublicDirectory

if TYPE_CHECKING:
    from sitegen.pages import SiteModel
    from sitegen.render import Renderer

# Stored text that is published, per kind of row.
_SESSION_TEXT = (
    "title",
    "description",
    "cost_concessions",
    "who_for_notes",
    "contact_name",
    "contact_email",
    "contact_phone",
)
_PROVIDER_TEXT = ("name", "description", "website", "email", "phone")
_VENUE_TEXT = ("name", "address", "postcode")


@dataclass(frozen=True)
class LeftOut:
    """A listing the build did not publish: ``key`` is the provider's key, or
    ``provider/session`` for a session."""

    kind: str  # "provider" or "session"
    id: int
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.reason}"


class ListingsFailed(Exception):
    """Raised from a build: these listings could not be rendered (the build is retried
    without them)."""

    def __init__(self, left_out: list[LeftOut]) -> None:
        self.left_out = left_out
        super().__init__("; ".join(map(str, left_out)))


def _session_key(d: PublicDirectory, session_id: int) -> str:
    s = d.sessions[session_id]
    provider = d.providers.get(s.provider_id)
    return f"{provider.key if provider else s.provider_id}/{s.key}"


def _first_problem(row: object, names: tuple[str, ...]) -> str | None:
    for name in names:
        problem = text.screen(getattr(row, name, None))
        if problem:
            return f"{name}: {problem}"
    return None


def screen(d: PublicDirectory) -> list[LeftOut]:
    """Listings whose stored text the text rule refuses (a session at a venue whose text
    is refused goes with it)."""
    found: list[LeftOut] = []
    for p in d.providers.values():
        if problem := _first_problem(p, _PROVIDER_TEXT):
            found.append(LeftOut("provider", p.id, p.key, problem))
    bad_venues = {}
    for v in d.venues.values():
        if problem := _first_problem(v, _VENUE_TEXT):
            bad_venues[v.id] = f"its venue's {problem}"
    for s in d.sessions.values():
        problem = _first_problem(s, _SESSION_TEXT) or bad_venues.get(s.venue_id or 0)
        for row in d.schedules.get(s.id, []):
            problem = problem or _first_problem(row, ("note",))
        for row in d.breaks.get(s.id, []):
            problem = problem or _first_problem(row, ("reason",))
        if problem:
            found.append(LeftOut("session", s.id, _session_key(d, s.id), problem))
    return found


def leave_out(d: PublicDirectory, left_out: list[LeftOut]) -> None:
    """Take the listings out of the directory read for the build (a provider takes its
    sessions with it), so no page, index or export links to them."""
    providers = {x.id for x in left_out if x.kind == "provider"}
    sessions = {x.id for x in left_out if x.kind == "session"}
    sessions |= {s.id for s in d.sessions.values() if s.provider_id in providers}
    for pid in providers:
        d.providers.pop(pid, None)
        d.sessions_of.pop(pid, None)
    for sid in sessions:
        s = d.sessions.pop(sid, None)
        for table in (d.schedules, d.breaks, d.domains, d.languages):
            table.pop(sid, None)
        if s is not None and s.provider_id in d.sessions_of:
            d.sessions_of[s.provider_id] = [i for i in d.sessions_of[s.provider_id] if i != sid]
    used = {s.venue_id for s in d.sessions.values() if s.venue_id}
    for vid in [v for v in d.venues if v not in used]:
        d.venues.pop(vid)
        d.accessibility.pop(vid, None)


def _reason(exc: BaseException) -> str:
    # The kind of failure and the library's words; a listing's text is public already.
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {message}"[:300] if message else type(exc).__name__


def probe(model: SiteModel, renderer: Renderer, mapper: object) -> list[LeftOut]:
    """Render each listing's own files on its own; the listings that fail, with why."""
    from sitegen import ics

    d = model.d
    found: list[LeftOut] = []
    for s in list(d.sessions.values()):
        try:
            renderer.render(model.session_page(s)).encode("utf-8")
            ics.session_calendar(model, s)
            _json(mapper.service(s))  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - any failure of one listing is reported
            found.append(LeftOut("session", s.id, _session_key(d, s.id), _reason(exc)))
    for p in list(d.providers.values()):
        try:
            renderer.render(model.provider_page(p)).encode("utf-8")
            _json(mapper.organization(p, full=True))  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            found.append(LeftOut("provider", p.id, p.key, _reason(exc)))
    return found


def _json(data: object) -> None:
    import json

    json.dumps(data, ensure_ascii=False).encode("utf-8")
