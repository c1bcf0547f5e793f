# ruff: noqa: F811  (the `world` fixture is imported, then used as an argument)
"""A plan that lives: revisions kept and read by the care team only, reviews and follow-ups
on working days (Christmas, Boxing Day observed, Easter), the support level's history and
the tariff split at a level change, continued engagement by follow-up for the maintenance
incentive, nudges for overdue reviews, goals in the message back with consent, and purge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from api.access import tokens
from api.config import get_settings
from api.mail.queue import deliver_due as deliver_mail
from api.referrals import care, levels, lifecycle, plans, reviews
from api.referrals.enums import ReferralStatus as S
from api.referrals.enums import SupportLevel
from api.referrals.errors import Rejected
from api.referrals.models import Referral
from api.referrals.nudge import nudge
from api.referrals.plan_models import LevelChange, PlanRevision, Review, ReviewKind, ReviewState
from api.referrals.purge import purge
from api.referrals.webhooks import referral_global_id
from api.reports import figures
from api.reports.costs import load_tariff
from tests.referral_support import (
    ASSESS,
    ENCRYPTION_KEY,
    SET_STATUS,
    CareWorld,
    move,
    new_referral,
    world,  # noqa: F401 (fixture)
)
from tests.test_referral_jobs import GUARD, Inbox, _referral_at, smtp  # noqa: F401 (fixture)

UTC = dt.UTC
HISTORY = """query($id: ID!) { referral(id: $id) {
  planHistory { number by goals actions barriers reviewOn current }
  reviews { kind dueOn state instruments }
  supportLevels { level fromOn by }
  messageBack { goals goalsWithheld } } }"""


def _pk(global_id: str) -> int:
    import base64

    return int(base64.b64decode(global_id).decode().split(":")[1])


def principal(world: CareWorld, who: str = "lead") -> tokens.Principal:
    with world.db.session() as s:
        found = tokens.authenticate(s, world.tokens[who])
    assert found is not None
    return found


def assess_with(world: CareWorld, r: str, level: str, goals: list[str], **more: object) -> dict:
    body = world.api("lead").data(
        ASSESS,
        input={"referralId": r, "supportLevel": level, "goals": goals,
               "actionPlan": "Walking group on Tuesdays", **more},
    )["recordAssessment"]  # fmt: skip
    assert body["errors"] == [], body
    return body


def test_each_revision_of_the_plan_is_kept_and_only_the_care_team_reads_them(
    world: CareWorld,
) -> None:
    r = new_referral(world)
    move(world, r, "CONTACTED")
    assess_with(world, r, "MEDIUM", ["Walk to the shops"], barriers="Bad knee")
    assess_with(world, r, "HIGH", ["Walk to the shops", "Join a choir"], barriers="Buses")
    seen = world.api("lead").data(HISTORY, id=r)["referral"]
    history = seen["planHistory"]
    assert [(p["number"], p["current"]) for p in history] == [(2, True), (1, False)]
    assert history[0]["goals"] == ["Walk to the shops", "Join a choir"]
    assert history[1]["goals"] == ["Walk to the shops"] and history[1]["barriers"] == "Bad knee"
    assert {p["by"] for p in history} == {"LEAD_PROVIDER:lead"}
    assert [lv["level"] for lv in seen["supportLevels"]] == ["MEDIUM", "HIGH"]
    # One plan review is due (moved, not duplicated, by the second revision).
    assert [(x["kind"], x["state"]) for x in seen["reviews"]] == [("REVIEW", "DUE")]
    # The plan is the care team's: the practice and a provider read null.
    for who in ("gp", "admin"):
        other = world.api(who).data(HISTORY, id=r)["referral"]
        assert (other["planHistory"] is None) == (who == "gp")
    # Encrypted at rest, with the referral's own key.
    with world.db.session() as s:
        sealed = s.scalars(select(PlanRevision.plan_enc)).all()
    assert all(v.startswith("v2:") and "choir" not in v for v in sealed)


@pytest.mark.parametrize(
    ("set_on", "weeks", "due"),
    [
        ("2026-11-13", 6, "2026-12-29"),  # Christmas Day (Fri), Boxing Day observed (Mon 28)
        ("2027-02-12", 6, "2027-03-30"),  # Good Friday 26 March -> after Easter Monday
        ("2026-11-16", 6, "2026-12-29"),  # Monday 28 December is Boxing Day (observed)
        ("2026-11-09", 6, "2026-12-21"),  # a Monday stays a Monday
        ("2026-11-17", 4, "2026-12-15"),  # configurable
    ],
)
def test_a_review_date_falls_on_a_working_day(set_on: str, weeks: int, due: str) -> None:
    assert plans.review_date(dt.date.fromisoformat(set_on), weeks) == dt.date.fromisoformat(due)


def test_follow_ups_at_the_end_and_6_and_12_months_on_working_days(world: CareWorld) -> None:
    r = new_referral(world)
    move(world, r, "CONTACTED", "ASSESSED", "ACTIVE")
    lead = principal(world)
    ended = dt.datetime(2026, 9, 26, 10, tzinfo=UTC)  # a Saturday

    def end(s):  # type: ignore[no-untyped-def]
        referral = lifecycle.find_for_change(s, lead, _pk(r))
        lifecycle.change_status(s, lead, referral, S.COMPLETED, GUARD, now=ended)

    world.db.write(end)
    with world.db.session() as s:
        rows = reviews.reviews_of(s, _pk(r))
    due = {(x.kind, x.state): x.due_on for x in rows}
    assert due[(ReviewKind.REVIEW, ReviewState.CANCELLED)]  # the plan review is not needed now
    assert due[(ReviewKind.END_OF_SUPPORT, ReviewState.DUE)] == dt.date(2026, 9, 28)
    # 26 March 2027 is Good Friday; Monday 29 is Easter Monday.
    assert due[(ReviewKind.FOLLOW_UP_6_MONTHS, ReviewState.DUE)] == dt.date(2027, 3, 30)
    assert due[(ReviewKind.FOLLOW_UP_12_MONTHS, ReviewState.DUE)] == dt.date(2027, 9, 27)
    follow = next(x for x in rows if x.kind is ReviewKind.FOLLOW_UP_6_MONTHS)
    assert follow.instruments  # the instruments due then
    # 31 August + 6 months is the end of February.
    assert reviews.add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)


def test_a_review_reassesses_the_level_and_the_tariff_splits_at_the_change(
    world: CareWorld,
) -> None:
    r = new_referral(world)
    move(world, r, "CONTACTED")
    lead = principal(world)
    data = care.AssessmentIn(SupportLevel.MEDIUM, ("Walk again",), "Walking group")
    world.db.write(
        lambda s: care.record_assessment(
            s, lead, _pk(r), data, GUARD, now=dt.datetime(2026, 1, 5, 10, tzinfo=UTC)
        )
    )
    with world.db.session() as s:
        review = s.scalars(select(Review).where(Review.referral_id == _pk(r))).one()
    assert review.due_on == dt.date(2026, 2, 16)  # 6 weeks on
    with pytest.raises(Rejected, match="reassess the support level"):
        world.db.write(
            lambda s: reviews.complete_review(
                s, lead, _pk(r), review.id, done_on=dt.date(2026, 4, 1), reached=True
            )
        )
    world.db.write(
        lambda s: reviews.complete_review(
            s, lead, _pk(r), review.id, done_on=dt.date(2026, 4, 1), reached=True,
            support_level=SupportLevel.HIGH,
        )
    )  # fmt: skip
    tariff = load_tariff()
    with world.db.session() as s:
        referral = s.get(Referral, _pk(r))
        assert referral.support_level is SupportLevel.HIGH
        assert levels.level_in_force(referral, dt.date(2026, 1, 4)) is None
        assert levels.level_in_force(referral, dt.date(2026, 3, 31)) is SupportLevel.MEDIUM
        assert levels.level_in_force(referral, dt.date(2026, 4, 1)) is SupportLevel.HIGH
        parts = levels.tariff_for_period(
            s, referral, tariff.levels, dt.date(2026, 1, 1), dt.date(2026, 12, 31)
        )
        # The next review is set 6 weeks on: 13 May 2026.
        nxt = s.scalars(
            select(Review.due_on).where(
                Review.referral_id == _pk(r), Review.state == ReviewState.DUE
            )
        ).one()
        assert nxt == dt.date(2026, 5, 13)
    assert [(p.period.level, p.period.start, p.period.end, p.period.days) for p in parts] == [
        (SupportLevel.MEDIUM, dt.date(2026, 1, 5), dt.date(2026, 3, 31), 86),
        (SupportLevel.HIGH, dt.date(2026, 4, 1), dt.date(2026, 12, 31), 275),
    ]
    assert [p.amount for p in parts] == [Decimal("35.34"), Decimal("195.89")]  # 150, 260 a year


def test_the_next_review_comes_within_a_year_of_the_last_assessment(world: CareWorld) -> None:
    r = new_referral(world)
    move(world, r, "CONTACTED")
    lead = principal(world)
    data = care.AssessmentIn(SupportLevel.LOW, ("g",), "p")
    world.db.write(
        lambda s: care.record_assessment(
            s, lead, _pk(r), data, GUARD, now=dt.datetime(2025, 12, 1, 10, tzinfo=UTC)
        )
    )
    with world.db.session() as s:
        review = s.scalars(select(Review).where(Review.referral_id == _pk(r))).one()
    # Held without reaching them (no reassessment), the next asked for in 2 years: it comes
    # a year after the level was assessed (1 Dec 2026, a Tuesday).
    world.db.write(
        lambda s: reviews.complete_review(
            s, lead, _pk(r), review.id, done_on=dt.date(2026, 1, 12), reached=False,
            next_review_on=dt.date(2027, 12, 1),
        )
    )  # fmt: skip
    with world.db.session() as s:
        due = s.scalars(
            select(Review.due_on).where(
                Review.referral_id == _pk(r), Review.state == ReviewState.DUE
            )
        ).one()
    assert due == dt.date(2026, 12, 1)


def test_a_follow_up_contact_without_attendance_earns_the_maintenance_incentive(
    world: CareWorld,
) -> None:
    """A person who keeps going on their own never shows in a register: reached at the
    12-month follow-up, they still count as engaged a year after support began."""
    r = new_referral(world, who="gp_other")  # Anytown East: its own report scope
    lead = principal(world, "lead_other")
    began = dt.datetime(2025, 1, 6, 10, tzinfo=UTC)
    ended = dt.datetime(2025, 3, 3, 10, tzinfo=UTC)

    def run(s):  # type: ignore[no-untyped-def]
        referral = lifecycle.find_for_change(s, lead, _pk(r))
        for to, when in ((S.CONTACTED, began), (S.ASSESSED, began), (S.ACTIVE, began),
                         (S.COMPLETED, ended)):  # fmt: skip
            if to is S.ASSESSED:
                care.record_assessment(s, lead, referral.id,
                                       care.AssessmentIn(SupportLevel.LOW, ("g",), "p"),
                                       GUARD, now=when)  # fmt: skip
            lifecycle.change_status(s, lead, referral, to, GUARD, now=when)

    world.db.write(run)
    today = dt.date.today()
    scope = figures.Scope(
        today - dt.timedelta(days=1), today + dt.timedelta(days=1), (_locality(world, r),)
    )

    def engaged() -> int:
        with world.db.session() as s:
            cells = figures.support_cells(s, scope, 365)
        return sum(c.count for c in cells if c.engaged)

    assert engaged() == 0  # no attendance, nothing after a year
    with world.db.session() as s:
        follow = s.scalars(
            select(Review).where(
                Review.referral_id == _pk(r), Review.kind == ReviewKind.FOLLOW_UP_12_MONTHS
            )
        ).one()
    world.db.write(
        lambda s: reviews.complete_review(
            s, lead, _pk(r), follow.id, done_on=dt.date(2026, 3, 3), reached=True
        )
    )
    assert engaged() == 1


def _locality(world: CareWorld, r: str) -> int:
    with world.db.session() as s:
        return s.get(Referral, _pk(r)).locality_id


def test_nudge_reminds_of_overdue_reviews_once_with_no_personal_data(
    world: CareWorld,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    settings = get_settings(encryption_key=ENCRYPTION_KEY, smtp_host="127.0.0.1", smtp_port=port)
    r = new_referral(world)
    move(world, r, "CONTACTED")
    assess_with(world, r, "MEDIUM", ["Sing in a choir"])
    with world.db.session() as s:
        review = s.scalars(select(Review).where(Review.referral_id == _pk(r))).one()
        due = review.due_on
    wanted = referral_global_id(_pk(r))

    def run(on: dt.date) -> list:
        before = len(inbox.messages)
        with world.db.session() as s:
            nudge(s, settings, now=dt.datetime.combine(on, dt.time(9), tzinfo=UTC))
        deliver_mail(world.db, settings)
        return [m for m in inbox.messages[before:] if wanted in m[1].get_content()]

    assert run(due) == []  # due today: not overdue yet
    sent = run(due + dt.timedelta(days=1))
    assert [to for to, _m in sent] == [["priya.shah@betterservices.example"]]
    message = sent[0][1]
    assert message["Subject"].startswith("Petunia: ") and "overdue" in message["Subject"]
    body = message.get_content()
    assert "Plan review" in body and "Ada" not in body and "choir" not in body
    assert run(due + dt.timedelta(days=2)) == []  # once only


def test_due_this_week_lists_the_caseload_s_reviews(world: CareWorld) -> None:
    r = new_referral(world)
    move(world, r, "CONTACTED")
    assess_with(world, r, "LOW", ["g"])
    lead = principal(world)
    with world.db.session() as s:
        due_on = s.scalars(select(Review.due_on).where(Review.referral_id == _pk(r))).one()
        that_week = reviews.due_this_week(s, lead, today=due_on)
        week_before = reviews.due_this_week(s, lead, today=due_on - dt.timedelta(days=7))
        other = reviews.due_this_week(s, principal(world, "lead_other"), today=due_on)
    assert _pk(r) in {d.referral_id for d in that_week}
    assert _pk(r) not in {d.referral_id for d in week_before}
    assert _pk(r) not in {d.referral_id for d in other}  # another lead provider's
    listed = world.api("lead").data("{ reviewsDue { referralId overdue review { kind } } }")
    # Due in 6 weeks: not this week.
    assert r not in {d["referralId"] for d in listed["reviewsDue"]}


def test_goals_go_back_to_the_practice_only_with_consent(world: CareWorld) -> None:
    r = new_referral(world)
    move(world, r, "CONTACTED")
    assess_with(world, r, "LOW", ["Get back to swimming"])
    before = world.api("gp").data(HISTORY, id=r)["referral"]["messageBack"]
    assert before == {"goals": None, "goalsWithheld": True}
    world.api("lead").data(
        """mutation($i: PlanConsentInput!) { recordPlanConsent(input: $i) { errors { code } } }""",
        i={"referralId": r, "toShareGoalsWithPractice": True, "toReceiveOwnCopy": False},
    )
    after = world.api("gp").data(HISTORY, id=r)["referral"]["messageBack"]
    assert after == {"goals": ["Get back to swimming"], "goalsWithheld": False}


def test_purge_removes_the_plan_and_keeps_the_anonymous_history(world: CareWorld) -> None:
    r = new_referral(world)
    move(world, r, "CONTACTED")
    assess_with(world, r, "HIGH", ["Walk the dog"], barriers="Knees")
    world.api("lead").data(SET_STATUS, id=r, status="CLOSED", note="moved away")
    with world.db.session() as s:
        closed_at = s.get(Referral, _pk(r)).closed_at
    now = closed_at.replace(tzinfo=closed_at.tzinfo or UTC) + dt.timedelta(days=2)
    with world.db.session() as s:
        assert purge(s, retention_days=1, keys=GUARD.keys, now=now) >= 1
    with world.db.session() as s:
        plans_left = s.scalars(
            select(PlanRevision.plan_enc).where(PlanRevision.referral_id == _pk(r))
        ).all()
        kept = s.scalars(select(LevelChange.level).where(LevelChange.referral_id == _pk(r))).all()
    assert plans_left == [None]
    assert kept == [SupportLevel.HIGH]  # anonymous, for reports
    seen = world.api("lead").data(HISTORY, id=r)["referral"]
    assert seen["planHistory"] == [] and seen["messageBack"]["goals"] is None


def test_record_review_in_graphql_with_typed_errors(world: CareWorld) -> None:
    r = new_referral(world)
    move(world, r, "CONTACTED")
    assess_with(world, r, "LOW", ["g"])
    review_id = world.api("lead").data(
        "query($id: ID!) { referral(id: $id) { reviews { id kind } } }", id=r
    )["referral"]["reviews"][0]["id"]
    record = """mutation($i: RecordReviewInput!) { recordReview(input: $i) {
      review { kind state doneOn reached } errors { field code } } }"""
    today = dt.date.today().isoformat()
    base = {"referralId": r, "reviewId": review_id, "doneOn": today, "reached": True}
    missing = world.api("lead").data(record, i=base)["recordReview"]
    assert missing["errors"] == [{"field": "input.supportLevel", "code": "REQUIRED"}]
    done = world.api("lead").data(record, i={**base, "supportLevel": "MEDIUM"})["recordReview"]
    assert done["review"] == {"kind": "REVIEW", "state": "DONE", "doneOn": today, "reached": True}
    again = world.api("lead").data(record, i={**base, "supportLevel": "MEDIUM"})["recordReview"]
    assert again["errors"] == [{"field": "input.reviewId", "code": "INVALID_STATE"}]
    # Only the care team records reviews: a practice is refused outright.
    refused = world.api("gp").execute(record, i={**base, "supportLevel": "LOW"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_report_counts_the_level_in_force_in_its_period_not_a_later_one(
    world: CareWorld,
) -> None:
    r = new_referral(world)
    move(world, r, "CONTACTED")
    assess_with(world, r, "MEDIUM", ["g"])
    today = dt.date.today()
    with world.db.session() as s:
        # Reassessed HIGH from the day after tomorrow (a level set ahead, as at a review).
        levels.record_level(s, s.get(Referral, _pk(r)), SupportLevel.HIGH,
                            today + dt.timedelta(days=2), "test")  # fmt: skip

    def counts(end: dt.date) -> dict[SupportLevel, int]:
        scope = figures.Scope(today - dt.timedelta(days=1), end, (_locality(world, r),))
        found: dict[SupportLevel, int] = {}
        with world.db.session() as s:
            for c in figures.support_cells(s, scope, 365):
                found[c.level] = found.get(c.level, 0) + c.count
        return found

    now, later = counts(today), counts(today + dt.timedelta(days=3))
    assert now[SupportLevel.MEDIUM] - later.get(SupportLevel.MEDIUM, 0) == 1
    assert later[SupportLevel.HIGH] - now.get(SupportLevel.HIGH, 0) == 1


def test_a_long_caseload_keeps_its_most_pressing_referrals(world: CareWorld, monkeypatch) -> None:
    """The caseload shows at most caseload.LIMIT referrals: those cut are the least pressing,
    not the newest (the limit used to be applied by id, before the ordering)."""
    from api.referrals import caseload as cases

    active = new_referral(world)
    move(world, active, "CONTACTED", "ASSESSED", "ACTIVE")
    waiting = new_referral(world)  # needs first contact: the most pressing
    lead = principal(world)
    with world.db.session() as s:
        everyone = cases.caseload(s, lead, GUARD, link_worker_id=None)
    assert len(everyone.rows) >= 2 and everyone.not_shown == 0
    first = [r.referral_id for r in everyone.rows if r.status is S.RECEIVED]
    monkeypatch.setattr(cases, "LIMIT", 1)
    with world.db.session() as s:
        cut = cases.caseload(s, lead, GUARD, link_worker_id=None)
    assert [r.referral_id for r in cut.rows] == [everyone.rows[0].referral_id]
    assert cut.rows[0].referral_id in first  # first contact comes first, even cut to one
    assert cut.not_shown == len(everyone.rows) - 1
    assert _pk(waiting) in {r.referral_id for r in everyone.rows} and _pk(active) in {
        r.referral_id for r in everyone.rows
    }


def test_the_report_charges_each_day_of_the_tariff_year_at_the_level_then_in_force(
    world: CareWorld,
) -> None:
    """Assessed MEDIUM today, reassessed HIGH from the day after tomorrow: a report to the
    day after that charges 2 days at MEDIUM and the rest of the 365 at HIGH (the level at
    its end); one to today charges the year at MEDIUM (the change is after it). Other
    tests' referrals share the world: the figures are compared before and after this one."""
    from fractions import Fraction

    annual = {lv: Fraction(v) for lv, v in load_tariff().levels.items()}
    today = dt.date.today()
    ends = (today, today + dt.timedelta(days=3))

    def totals(locality: int) -> dict[dt.date, tuple[dict[SupportLevel, int], int, Fraction]]:
        out = {}
        for end in ends:
            scope = figures.Scope(today - dt.timedelta(days=1), end, (locality,))
            with world.db.session() as s:
                cells = figures.support_cells(s, scope, 365)
            people: dict[SupportLevel, int] = {}
            for c in cells:
                people[c.level] = people.get(c.level, 0) + c.count
            changed = sum(c.count for c in cells if c.changed)
            out[end] = (people, changed, sum((c.tariff(annual) for c in cells), Fraction(0)))
        return out

    r = new_referral(world)
    locality = _locality(world, r)
    before = totals(locality)
    move(world, r, "CONTACTED")
    assess_with(world, r, "MEDIUM", ["g"])
    with world.db.session() as s:
        levels.record_level(s, s.get(Referral, _pk(r)), SupportLevel.HIGH,
                            today + dt.timedelta(days=2), "test")  # fmt: skip
    after = totals(locality)

    def added(end: dt.date) -> tuple[list[SupportLevel], int, Fraction]:
        (p0, c0, t0), (p1, c1, t1) = before[end], after[end]
        grew = [lv for lv in SupportLevel if p1.get(lv, 0) - p0.get(lv, 0) == 1]
        return grew, c1 - c0, t1 - t0

    assert added(ends[0]) == ([SupportLevel.MEDIUM], 0, Fraction(150))
    # 150 and 260 a year: 2 days at 150, then 363 at 260, over 365 days.
    assert added(ends[1]) == ([SupportLevel.HIGH], 1, Fraction(2 * 150 + 363 * 260, 365))
