"""Unmet need against supply (by domain and locality, with needs that fit no domain), and
directory health (providers and sessions: organisations, not people, so not suppressed)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING

from api.directory.enums import Domain, ListedBy, ListingStatus
from api.reports import figures
from api.reports.tables import Column, Section, Unit, _Derived, _Fig, _Plain, _ratio

if TYPE_CHECKING:
    from api.reports.report import _Builder

# Unmet needs by domain, then those that fit none of the six ("other", domain None).
NEED_DOMAINS: tuple[Domain | None, ...] = (*Domain, None)
OTHER_NEED = "Other (fits none of the six domains)"


def _need_code(domain: Domain | None) -> str:
    return "OTHER" if domain is None else domain.value


def unmet_need(b: _Builder) -> None:
    rel = b.release
    needs = figures.unmet_needs(b.db, b.scope)
    sessions, _providers = figures.supply(b.db, b.scope)
    b.sessions, b.providers = sessions, _providers
    locs = b.localities
    t = b.draft(
        "unmet_need_vs_supply",
        Section.UNMET_NEED,
        "Unmet need against supply",
        "Needs recorded in care planning in the period that nothing in the directory met, "
        "against the sessions the directory lists today, by domain and locality: where "
        "needs are many and sessions few is where to commission next.",
        Column("unmet", "Unmet needs", Unit.COUNT),
        Column("sessions", "Sessions listed", Unit.COUNT),
        Column("per_session", "Unmet needs per session", Unit.NUMBER, 2),
    )

    def count(where: Callable[[Domain, int], bool]) -> int:
        chosen = [v for (d, lo), v in needs.items() if where(d, lo)]
        return b.noise.count(sum(n for n, _k in chosen), sum(k for _n, k in chosen))

    grand = count(lambda d, lo: True)
    grand_key = rel.count(("unmet", "all"), grand)
    loc_n = {loc: count(lambda d, lo, loc=loc: lo == loc) for loc, _name in locs}
    loc_keys = {}
    for loc, _name in locs:
        loc_keys[loc] = rel.count(("unmet", "locality", loc), loc_n[loc])
    rel.sum(loc_keys.values(), grand_key)
    domain_keys = []
    per_loc: dict[int, list[Hashable]] = {loc: [] for loc, _ in locs}
    for domain in NEED_DOMAINS:
        code, group = _need_code(domain), b.need_label(domain)
        cell_keys = []
        for loc, name in locs:
            n = count(lambda d, lo, domain=domain, loc=loc: (d, lo) == (domain, loc))
            key = rel.count(("unmet", code, loc), n)
            cell_keys.append(key)
            per_loc[loc].append(key)
            s = sessions.get((domain, loc), 0)
            t.add(f"{code}:{loc}", name, _Fig(key), _Plain(s),
                  _Derived(_ratio(n, s), (key,)), group=group)  # fmt: skip
        n = count(lambda d, lo, domain=domain: d is domain)
        key = rel.count(("unmet", code), n)
        domain_keys.append(key)
        rel.sum(cell_keys, key)
        s = sum(v for (d, lo), v in sessions.items() if d is domain)
        t.add(f"{code}:all", "All localities", _Fig(key), _Plain(s),
              _Derived(_ratio(n, s), (key,)), group=group, total=True)  # fmt: skip
    rel.sum(domain_keys, grand_key)
    for loc, keys in per_loc.items():
        rel.sum(keys, loc_keys[loc])
    for loc, name in locs:
        n = loc_n[loc]
        s = sum(v for (_d, lo), v in sessions.items() if lo == loc)
        rate = _Derived(_ratio(n, s), (loc_keys[loc],))
        t.add(f"all:{loc}", name, _Fig(loc_keys[loc]), _Plain(s), rate, group="All domains",
              total=True)  # fmt: skip
    s = sum(sessions.values())
    t.add("total", "All domains", _Fig(grand_key), _Plain(s),
          _Derived(_ratio(grand, s), (grand_key,)), total=True)  # fmt: skip
    t.notes.append(
        "A session in several domains counts once in each. Sessions online or at home "
        "with no locality count only in the 'All localities' rows. \"Other\" counts "
        "needs that fit none of the six domains; what they are (a short description) is "
        "never in the report, as free text could identify someone."
    )

    chart = b.draft(
        "unmet_need_by_domain",
        Section.UNMET_NEED,
        "Unmet needs by domain",
        "Unmet needs recorded in the period, all localities together.",
        Column("unmet", "Unmet needs", Unit.COUNT),
        Column("sessions", "Sessions listed", Unit.COUNT),
    )
    for domain, key in zip(NEED_DOMAINS, domain_keys, strict=True):
        s = sum(v for (d, lo), v in sessions.items() if d is domain)
        chart.add(_need_code(domain), b.need_label(domain), _Fig(key), _Plain(s))
    chart.add("total", "All domains", _Fig(grand_key), _Plain(sum(sessions.values())),
              total=True)  # fmt: skip
    chart.charts.append(("Unmet needs by domain", "unmet", "", 0))
    chart.charts.append(("Sessions listed by domain", "sessions", "", 0))


def directory(b: _Builder) -> None:
    groups = figures.provider_groups(b.db, b.scope, b.as_of)
    rows: list[tuple[int | None, str]] = list(b.localities)
    if b.scope.locality_ids is None and any(g.locality_id is None for g in groups):
        rows.append((None, "(no locality)"))
    t = b.draft(
        "directory_health",
        Section.DIRECTORY,
        "Directory health",
        f"Providers in the directory as at {b.as_of:%d %B %Y}: published, how many "
        "confirmed their entry in the last 6 and 12 months, how they were listed, and "
        "how many wait for moderation. Providers are organisations, not people: these "
        "figures are not suppressed.",
        Column("published", "Published providers", Unit.COUNT),
        Column("confirmed_6", "% confirmed in 6 months", Unit.PERCENT, 1),
        Column("confirmed_12", "% confirmed in 12 months", Unit.PERCENT, 1),
        Column("self_registered", "Self-registered", Unit.COUNT),
        Column("added_by_lead", "Added by the lead provider", Unit.COUNT),
        Column("pending", "Pending moderation", Unit.COUNT),
    )

    def add(key: str, label: str, chosen: Iterable[figures.ProviderGroup], total: bool) -> None:
        chosen = list(chosen)
        published = [g for g in chosen if g.status is ListingStatus.PUBLISHED]
        n = sum(g.count for g in published)
        six = sum(g.count for g in published if g.confirmed == "6")
        twelve = six + sum(g.count for g in published if g.confirmed == "12")
        t.add(
            key,
            label,
            _Plain(n),
            _Plain(_ratio(six, n, 100)),
            _Plain(_ratio(twelve, n, 100)),
            _Plain(sum(g.count for g in published if g.listed_by is ListedBy.SELF_REGISTERED)),
            _Plain(sum(g.count for g in published if g.listed_by is ListedBy.ADDED_BY_LEAD)),
            _Plain(sum(g.count for g in chosen if g.status is ListingStatus.PENDING)),
            total=total,
        )

    for loc, name in rows:
        add(str(loc) if loc else "none", name, (g for g in groups if g.locality_id == loc),
            False)  # fmt: skip
    add("total", "Total", groups, True)
    t.charts.append(("% of providers confirmed in the last 12 months", "confirmed_12", "%", 0))

    sessions, providers = b.sessions, b.providers
    t = b.draft(
        "directory_by_domain",
        Section.DIRECTORY,
        "Providers and sessions by domain and locality",
        "Published providers with a session in each domain (by the provider's locality) "
        "and published sessions (by the session's locality).",
        Column("providers", "Providers", Unit.COUNT),
        Column("sessions", "Sessions", Unit.COUNT),
    )
    for domain in Domain:
        for loc, name in rows:
            t.add(f"{domain.value}:{loc}", name, _Plain(providers.get((domain, loc), 0)),
                  _Plain(sessions.get((domain, loc), 0)), group=b.label(domain))  # fmt: skip
        t.add(f"{domain.value}:all", "All localities",
              _Plain(sum(v for (d, _l), v in providers.items() if d is domain)),
              _Plain(sum(v for (d, _l), v in sessions.items() if d is domain)),
              group=b.label(domain), total=True)  # fmt: skip
