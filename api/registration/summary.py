"""A registration's answers as a person reads them back: the rows of the "check your answers"
page (each with the question it came from, for its Change link) and of the confirmation
email, which restates what was sent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import orm, select

from api.directory import schedules as sched
from api.directory.enums import Delivery, Domain
from api.directory.labels import language_name
from api.directory.models import DomainLabel
from api.registration.answers import ACCESSIBILITY_LABELS, HOW_TO_JOIN_LABELS, Answers

# Used when the database has no domain labels yet (an empty install).
DEFAULT_DOMAIN_LABELS = {
    Domain.PHYSICAL_ACTIVITY: "Getting active",
    Domain.HEALTHY_EATING: "Healthy eating",
    Domain.ARTS_FOR_HEALTH: "Arts and creativity",
    Domain.BEFRIENDING: "Friendship and company",
    Domain.WELFARE_RIGHTS: "Money, benefits and advice",
    Domain.VOLUNTEERING: "Volunteering",
}


@dataclass(frozen=True)
class Row:
    question: str  # the form field the answer came from (its Change link goes there)
    label: str
    value: str


def domain_labels(db: orm.Session) -> dict[Domain, str]:
    labels = dict(DEFAULT_DOMAIN_LABELS)
    labels.update({row.domain: row.label for row in db.scalars(select(DomainLabel))})
    return labels


def rows(answers: Answers, labels: dict[Domain, str]) -> list[Row]:
    where = {
        Delivery.AT_VENUE: ", ".join(
            part for part in (answers.venue_name, answers.address, answers.postcode) if part
        ),
        Delivery.ONLINE: "Online",
        Delivery.AT_HOME: "In people's homes or by phone",
        Delivery.VARIOUS_PLACES: "In various places",
    }[answers.delivery]
    when = (
        "As it is now"
        if answers.rules is None
        else "; ".join(sched.describe(r) for r in answers.rules) or "It varies: ask us"
    )
    cost = "Free"
    if not answers.is_free:
        cost = f"£{answers.cost_amount:.2f} each time" if answers.cost_amount else "A charge"
        if answers.concessions:
            cost += f" ({answers.concessions})"
    contact = [answers.email + (" (shown on the listing)" if answers.show_email else " (private)")]
    if answers.phone:
        contact.append(answers.phone)
    kinds = ", ".join(labels.get(d, d.value) for d in answers.domains) or "not given"
    more = [
        f"Kind of activity: {kinds}",
        f"Cost: {cost}",
        f"Languages: {', '.join(language_name(code) for code in answers.languages)}",
        f"Who it is for: {answers.who_for or 'anyone'}",
        f"How to join: {HOW_TO_JOIN_LABELS[answers.how_to_join]}",
    ]
    if answers.accessibility:
        features = ", ".join(ACCESSIBILITY_LABELS[f] for f in answers.accessibility)
        more.append(f"Accessibility: {features}")
    if answers.website:
        more.append(f"Website: {answers.website}")
    # The optional answers (or what they default to) in one row: fewer rows to check on a
    # phone, and its Change link opens them all.
    return [
        Row("organisation", "Organisation or group", answers.organisation),
        Row("title", "What it is called", answers.title),
        Row("description", "Description", answers.description),
        Row("where", "Where", where),
        Row("when", "When", when),
        Row("email", "Contact", "\n".join(contact)),
        Row("phone", "More about it", "\n".join(more)),
    ]
