# ruff: noqa: F811  (the `report_world` fixture is imported, then used as an argument)
"""Who is reached (issue 16): equality data is optional, coded, encrypted with the referral's
data key and gone when the referral is purged; the IMD lookup imports all or nothing; the
population file is checked and fills its column; unmet needs that fit no domain are counted
and never described in a report."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from api.access.models import Role
from api.access.tokens import Principal
from api.outcomes.recording import record_unmet_need, unmet_needs
from api.referrals import equality
from api.referrals.errors import Rejected
from api.referrals.models import Referral
from api.reports.costs import load_tariff, load_unit_costs
from api.reports.imd import ImdDecile, ImdFileError, import_imd
from api.reports.reached import PopulationFileError, load_population
from api.reports.render import render_html, table_csv
from api.reports.report import ReportRequest, build_report
from tests import report_data as data
from tests.referral_support import world  # noqa: F401 (a fixture)
from tests.report_data import report_world  # noqa: F401 (a fixture)


def test_equality_data_is_encrypted_and_purged_with_the_referral(report_world: tuple) -> None:
    db, _w, people, _needs = report_world
    guard = data.guard()
    seen = purged = 0
    with db.session() as s:
        # Seeded in order, one referral per person (purge replaces the idempotency key).
        rows = list(s.scalars(select(Referral).order_by(Referral.id)))
        assert len(rows) == len(people)
        for r, p in zip(rows, people, strict=True):
            if r.purged_at is not None:
                assert r.equality_enc is None  # special category data goes with the rest
                purged += p.equality is not None
                continue
            if p.equality is None:
                assert r.equality_enc is None
                continue
            seen += 1
            # Stored only encrypted: no code in clear, and it reads back as recorded.
            assert r.equality_enc and "ethnicCategory" not in r.equality_enc
            got = equality.read(guard, r.key_id, r.equality_enc)  # type: ignore[arg-type]
            assert got is not None and got["sex"] == p.equality.sex
            assert got["imdDecile"] == data.IMD.get(p.postcode or "")
    assert seen > 20 and purged > 5, (seen, purged)


def test_equality_codes_are_checked_with_a_clear_error() -> None:
    with pytest.raises(Rejected) as bad:
        equality.validate(equality.EqualityIn("M", "Q", ("asthma", "gout")))
    fields = {p.field: p.message for p in bad.value.problems}
    assert set(fields) == {"input.equality.sex", "input.equality.ethnicCategory",
                           "input.equality.longTermConditions"}  # fmt: skip
    assert "'gout'" in fields["input.equality.longTermConditions"]
    ok = equality.validate(equality.EqualityIn(" 2 ", "h", ("Asthma", "asthma")))
    assert (ok.sex, ok.ethnic_category, ok.long_term_conditions) == ("2", "H", ("asthma",))


def test_the_imd_lookup_imports_all_or_nothing(report_world: tuple) -> None:
    db = report_world[0]
    with db.session() as s:
        before = s.scalar(select(ImdDecile.decile).where(ImdDecile.postcode == "AT1 1AA"))
        with pytest.raises(ImdFileError) as bad:
            import_imd(s, io.StringIO("pcds,imd_decile\nAT1 1AA,3\nnot a postcode,2\nAT1 2AB,11\n"))
        assert "line 3:" in str(bad.value) and "line 4: decile must be" in str(bad.value)
        s.rollback()
        assert s.scalar(select(ImdDecile.decile).where(ImdDecile.postcode == "AT1 1AA")) == before


def test_the_population_file_fills_its_column(report_world: tuple, tmp_path: Path) -> None:
    db = report_world[0]
    good = tmp_path / "population.csv"
    good.write_text("dimension,code,people\nsex,1,4800\nsex,2,5200\nimd_decile,2,1000\n")
    population = load_population(good)
    with db.session() as s:
        report = build_report(s, ReportRequest(data.START, data.END, as_of=data.AS_OF, exact=True),
                              tariff=load_tariff(), unit_costs=load_unit_costs(),
                              protector=data.guard(), population=population)  # fmt: skip
    sex = report.table("reached_by_sex")
    assert sex.cell("1", "population").value == pytest.approx(48.0)
    assert sex.cell("2", "population").value == pytest.approx(52.0)
    assert sex.cell("X", "population").display == "–"
    assert report.table("reached_by_imd_decile").cell("2", "population").value == 100.0
    bad = tmp_path / "bad.csv"
    bad.write_text("dimension,code,people\nsex,M,10\nage,1,10\nsex,1,many\n")
    with pytest.raises(PopulationFileError) as wrong:
        load_population(bad)
    assert [p.split(":")[0] for p in wrong.value.problems] == ["line 2", "line 3", "line 4"]


def test_needs_that_fit_no_domain_are_counted_never_described(report_world: tuple) -> None:
    db, _w, _people, needs = report_world
    with db.session() as s:
        report = build_report(s, ReportRequest(data.START, data.END, as_of=data.AS_OF, exact=True),
                              tariff=load_tariff(), unit_costs=load_unit_costs())  # fmt: skip
        admin = Principal(None, "test", Role.ADMIN)  # type: ignore[arg-type]
        with pytest.raises(Rejected) as long:
            record_unmet_need(s, admin, None, "x" * 201, report.localities[0][0])
        assert "at most 200 characters" in str(long.value)
        # The GraphQL listing's domain is non-null: needs with none are not listed there.
        assert all(n.domain is not None for n in unmet_needs(s, admin))
    other = [n for n in needs if n.domain is None and data.START <= data.local(n.at) <= data.END]
    assert report.table("unmet_need_by_domain").cell("OTHER", "unmet").value == len(other) >= 5
    html = render_html(report)
    assert "Other (fits none of the six domains)" in html
    assert "A need nothing meets." not in html
    assert all("A need nothing meets." not in table_csv(t) for t in report.tables)


def test_graphql_takes_optional_equality_data_on_a_new_referral(world: object) -> None:
    """createReferral's optional `equality`: stored encrypted with the referral's key, with
    the IMD decile of the contact postcode; a bad code is a typed error naming the field."""
    from api.config import get_settings
    from api.referrals.protection import protector
    from tests.referral_support import ENCRYPTION_KEY, create, new_referral

    with world.db.session() as s:
        import_imd(s, io.StringIO("postcode,imd_decile\nAT1 2AB,3\n"))
    contact = {"preferredMethod": "PHONE", "phone": "07700 900123", "postcode": "at12ab"}
    rid = new_referral(world, person={"contact": contact},
                       equality={"sex": "2", "ethnicCategory": "n",
                                 "longTermConditions": ["asthma", "diabetes"]})  # fmt: skip
    assert rid
    with world.db.session() as s:
        row = s.scalars(select(Referral).order_by(Referral.id.desc())).first()
        assert row is not None and row.equality_enc is not None
        got = equality.read(protector(get_settings(encryption_key=ENCRYPTION_KEY)),
                            row.key_id, row.equality_enc)  # fmt: skip
    assert got == {"sex": "2", "ethnicCategory": "N", "imdDecile": 3,
                   "longTermConditions": ["asthma", "diabetes"]}  # fmt: skip
    bad = create(world, equality={"ethnicCategory": "Q"})
    assert bad["referral"] is None
    assert bad["errors"][0]["field"] == "input.equality.ethnicCategory"
    # Without it, a referral is made as before.
    assert new_referral(world)


def test_petunia_imd_import(report_world: tuple, tmp_path: Path, monkeypatch) -> None:
    """`petunia imd import FILE`: replaces the lookup; a bad file changes nothing and says
    which lines are wrong, in one line each, without a traceback."""
    from typer.testing import CliRunner

    from api.cli import app

    db = report_world[0]
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    bad = tmp_path / "bad.csv"
    bad.write_text("pcds,imd_decile\nAT1 1AA,0\n")
    result = CliRunner().invoke(app, ["imd", "import", str(bad)])
    assert result.exit_code != 0 and "line 2: decile must be" in result.output
    assert "Traceback" not in result.output
    good = tmp_path / "imd.csv"
    good.write_text("".join(["pcds,imd_decile\n", *(f"{k},{v}\n" for k, v in data.IMD.items())]))
    result = CliRunner().invoke(app, ["imd", "import", str(good)])
    assert result.exit_code == 0 and "Imported the IMD decile of 3 postcodes" in result.output
