"""Who is reached: referrals, engagement and outcomes by sex, ethnic group, long term
condition and deprivation (IMD decile), against the area's population where a population
file is given; built into the report (api/reports/report.py) under the same disclosure
control as every other table.

The population file is a CSV with a header ``dimension,code,people``: ``dimension`` one of
sex, ethnic_category, long_term_condition, imd_decile; ``code`` as the referral records it
(sex 1, 2, 9 or X; ethnic category A to Z; a condition's code from
directory_data/equality/long_term_conditions.yaml; a decile 1 to 10); ``people`` the number
of residents (for example from the census for the area's localities).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from api.referrals import equality
from api.reports import figures
from api.reports.tables import ALL, Column, Section, Unit, _Derived, _Fig, _Grid, _Plain, _ratio

if TYPE_CHECKING:
    from api.reports.report import _Builder

DIMENSIONS = ("sex", "ethnic_category", "long_term_condition", "imd_decile")
NOT_RECORDED = "NONE"

Population = dict[str, dict[str, int]]  # dimension -> code -> people


class PopulationFileError(ValueError):
    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems[:50]))


def load_population(path: Path) -> Population:
    """The area's population by each dimension; every problem with its line."""
    problems: list[str] = []
    out: Population = {d: {} for d in DIMENSIONS}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PopulationFileError(path, [f"cannot read it ({exc.strerror})"]) from None
    reader = csv.DictReader(text.splitlines())
    if [f.strip().lower() for f in reader.fieldnames or []] != ["dimension", "code", "people"]:
        raise PopulationFileError(path, ["line 1: the header must be dimension,code,people"])
    valid = _codes()
    for line, row in enumerate(reader, start=2):
        values = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        dim, code, people = values["dimension"].lower(), values["code"], values["people"]
        if dim not in DIMENSIONS:
            problems.append(f"line {line}: dimension must be one of {', '.join(DIMENSIONS)}")
            continue
        code = code.lower() if dim == "long_term_condition" else code.upper()
        if code not in valid[dim]:
            problems.append(f"line {line}: {code!r} is not a {dim.replace('_', ' ')} code")
            continue
        if not people.isdigit():
            problems.append(f"line {line}: people must be a whole number, not {people!r}")
            continue
        out[dim][code] = int(people)
    if problems:
        raise PopulationFileError(path, problems)
    return out


def _codes() -> dict[str, dict[str, str]]:
    """Each dimension's codes and labels, in report order."""
    return {
        "sex": {s.value: equality.SEX_LABELS[s] for s in equality.Sex},
        "ethnic_category": dict(equality.ETHNIC_CATEGORIES),
        "long_term_condition": equality.conditions(),
        "imd_decile": {
            str(d): f"Decile {d}"
            + (" (most deprived)" if d == 1 else " (least deprived)" if d == 10 else "")
            for d in range(1, 11)
        },
    }


def _values(row: figures.ReachedRow, dimension: str) -> list[str]:
    """The codes a referral has on a dimension ([NOT_RECORDED] when none)."""
    data = row.equality or {}
    if dimension == "long_term_condition":
        return list(data.get("longTermConditions") or []) or [NOT_RECORDED]
    key = {"sex": "sex", "ethnic_category": "ethnicCategory", "imd_decile": "imdDecile"}
    value = data.get(key[dimension])
    return [NOT_RECORDED if value is None else str(value)]


TITLES = {
    "sex": "Who is reached: by sex",
    "ethnic_category": "Who is reached: by ethnic group",
    "long_term_condition": "Who is reached: by long term condition",
    "imd_decile": "Who is reached: by deprivation (IMD decile of the postcode)",
}


def build(builder: _Builder) -> None:
    """The four "who is reached" tables."""
    rows = figures.reached_rows(builder.db, builder.scope, builder.protector)
    codes = _codes()
    population = builder.population or {}
    for dimension in DIMENSIONS:
        multi = dimension == "long_term_condition"
        t = builder.draft(
            f"reached_by_{dimension}",
            Section.REACHED,
            TITLES[dimension],
            "Referrals received in the period by what the person chose to record, how many "
            "started support (engagement), and of those with a baseline and an end score, "
            "how many improved on at least one instrument. "
            + (
                "A person may have several conditions, so rows do not add up to the total."
                if multi
                else "Each referral counts in one row."
            ),
            Column("referrals", "Referrals", Unit.COUNT),
            Column("share", "% of referrals", Unit.PERCENT, 1),
            Column("population", "% of the area's population", Unit.PERCENT, 1),
            Column("started", "Started support", Unit.COUNT),
            Column("started_share", "% started support", Unit.PERCENT, 1),
            Column("with_outcome", "With a baseline and end score", Unit.COUNT),
            Column("improved", "Improved", Unit.COUNT),
            Column("improved_share", "% improved", Unit.PERCENT, 1),
        )
        known = population.get(dimension) or {}
        base = sum(known.values())
        all_key = ALL
        order = [*codes[dimension], NOT_RECORDED]
        for code in order:
            # One grid per row for a dimension with several values a person (conditions);
            # one grid for the dimension otherwise, whose rows add up to all referrals.
            if multi:
                members = [r for r in rows if code in _values(r, dimension)]
            else:
                members = [r for r in rows if _values(r, dimension) == [code]]
            cells: dict[tuple, tuple[int, int]] = {}
            for r in members:
                attrs = (r.started, r.improved)
                had = cells.get(attrs, (0, 0))
                cells[attrs] = (had[0] + 1, had[1] + r.record_key)
            grid = _Grid(builder.release, builder.noise, ("reached", dimension, code), cells)
            key = ("reached", dimension, code)
            n = grid.count(key + ("referrals",), lambda a: True, is_total=True)
            started = grid.count(key + ("started",), lambda a: a[0])
            with_outcome = grid.count(key + ("with_outcome",), lambda a: a[1] is not None)
            improved = grid.count(key + ("improved",), lambda a: a[1] is True)
            grid.differences()
            label = "Not recorded" if code == NOT_RECORDED else codes[dimension][code]
            if multi and code == NOT_RECORDED:
                label = "None recorded"
            total = builder.release.value(all_key)
            t.add(
                code,
                label if code == NOT_RECORDED else f"{label} ({code})",
                _Fig(key + ("referrals",)),
                _Derived(_ratio(n, total, 100), (key + ("referrals",), all_key)),
                _Plain(_ratio(known[code], base, 100) if code in known and base else None),
                _Fig(key + ("started",)),
                _Derived(_ratio(started, n, 100), (key + ("started",), key + ("referrals",))),
                _Fig(key + ("with_outcome",)),
                _Fig(key + ("improved",)),
                _Derived(
                    _ratio(improved, with_outcome, 100),
                    (key + ("improved",), key + ("with_outcome",)),
                ),  # fmt: skip
            )
        if not multi:
            builder.release.sum([("reached", dimension, c, "referrals") for c in order], all_key)
        t.add("total", "All referrals", _Fig(all_key), BLANK_SHARE, BLANK_SHARE, BLANK_SHARE,
              BLANK_SHARE, BLANK_SHARE, BLANK_SHARE, BLANK_SHARE, total=True)  # fmt: skip
        if not population.get(dimension):
            t.notes.append(
                "No population figures were given for this (petunia report --population "
                "FILE): the population column is empty."
            )
        by = TITLES[dimension].removeprefix("Who is reached: ")
        t.charts.append((f"% of referrals that started support, {by}", "started_share", "%", 0))


BLANK_SHARE = _Plain(None)
