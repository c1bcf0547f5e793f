"""The registration questions and how answers are checked.

A registration keeps the answers exactly as typed (``raw``: field name -> text or list of
texts), so a form can always be shown again with everything in it. ``check`` turns them into
``Answers`` or a list of errors, one per field, each with a message a person can act on. The
HTML form, GraphQL ``registerProvider`` and approval all go through ``check``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from api.directory import addresses, labels, text
from api.directory.enums import AccessibilityFeature, Delivery, Domain, HowToJoin, Weekday
from api.directory.phrases import parse_date, parse_time
from api.directory.postcodes import InvalidPostcode, normalise_postcode
from api.directory.schedules import InvalidSchedule, Rule, make_rule

Raw = dict[str, Any]


class Where(StrEnum):
    VENUE = "VENUE"
    ONLINE = "ONLINE"
    HOME = "HOME"  # home visits or phone calls
    VARIOUS = "VARIOUS"


class When(StrEnum):
    TIMES = "TIMES"
    ASK = "ASK"
    KEEP = "KEEP"  # editing a listing whose times the form cannot show: leave them as they are


class HowOften(StrEnum):
    WEEKLY = "WEEKLY"
    FORTNIGHTLY = "FORTNIGHTLY"
    MONTHLY = "MONTHLY"


class ErrorCode(StrEnum):
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    INVALID = "INVALID"
    DUPLICATE = "DUPLICATE"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_FOUND = "NOT_FOUND"
    INVALID_STATE = "INVALID_STATE"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    code: ErrorCode


# Every text field and its size limit (characters). Lists are limited in count.
TEXT_LIMITS: dict[str, int] = {
    "organisation": 200,
    "title": 200,
    "description": 2000,
    "where": 20,
    "venue_name": 200,
    "postcode": 10,
    "address": 500,
    "when": 20,
    "starts": 20,
    "ends": 20,
    "how_often": 20,
    "first_date": 40,
    "email": 320,
    "show_email": 10,
    "phone": 40,
    "website": 500,
    "cost": 10,
    "cost_amount": 12,
    "concessions": 300,
    "languages": 200,
    "who_for": 500,
    "how_to_join": 20,
    "confirm_different": 10,
}
# Fields whose line breaks are kept (textareas); every other field is one line. The rule
# for odd characters is api/directory/text.py.
MULTI_LINE = frozenset({"description", "who_for"})
LIST_FIELDS: dict[str, int] = {"domains": 6, "days": 7, "month_weeks": 5, "accessibility": 10}
MONTH_WEEKS = {"1": 1, "2": 2, "3": 3, "4": 4, "-1": -1}

# Plain-language names of things the form offers.
DAY_LABELS = {
    Weekday.MO: "Monday",
    Weekday.TU: "Tuesday",
    Weekday.WE: "Wednesday",
    Weekday.TH: "Thursday",
    Weekday.FR: "Friday",
    Weekday.SA: "Saturday",
    Weekday.SU: "Sunday",
}
WEEK_LABELS = {"1": "First", "2": "Second", "3": "Third", "4": "Fourth", "-1": "Last"}
# One wording for accessibility features, shared with the site (api/directory/labels.py).
ACCESSIBILITY_LABELS = labels.ACCESSIBILITY
HOW_TO_JOIN_LABELS = {
    HowToJoin.DROP_IN: "Just turn up",
    HowToJoin.BOOK_FIRST: "Get in touch first",
    HowToJoin.REFERRAL_ONLY: "By referral only (for example from a link worker)",
}
# Languages most asked for in English communities; two-letter codes are accepted as well.
LANGUAGES = {
    "english": "en",
    "arabic": "ar",
    "bengali": "bn",
    "bangla": "bn",
    "sylheti": "bn",
    "british sign language": "bfi",
    "bsl": "bfi",
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "zh",
    "farsi": "fa",
    "persian": "fa",
    "french": "fr",
    "gujarati": "gu",
    "hindi": "hi",
    "italian": "it",
    "kurdish": "ku",
    "lithuanian": "lt",
    "pashto": "ps",
    "polish": "pl",
    "portuguese": "pt",
    "punjabi": "pa",
    "romanian": "ro",
    "somali": "so",
    "spanish": "es",
    "tamil": "ta",
    "tigrinya": "ti",
    "turkish": "tr",
    "ukrainian": "uk",
    "urdu": "ur",
    "welsh": "cy",
}
_PHONE = re.compile(r"^[0-9+() \-]{6,40}$")


@dataclass
class Answers:
    """Checked answers: what approval writes into the directory."""

    organisation: str
    title: str
    description: str
    domains: list[Domain]
    delivery: Delivery
    venue_name: str | None
    postcode: str | None
    address: str
    # None: keep the listed session's rules as they are.
    rules: list[Rule] | None
    email: str
    show_email: bool
    phone: str | None
    website: str | None = None
    is_free: bool = True
    cost_amount: Decimal | None = None
    concessions: str | None = None
    accessibility: list[AccessibilityFeature] = field(default_factory=list)
    languages: list[str] = field(default_factory=lambda: ["en"])
    who_for: str | None = None
    how_to_join: HowToJoin = HowToJoin.DROP_IN


def clean(form: Mapping[str, Any]) -> Raw:
    """The known fields of a submitted form, as typed (lists for the multi-choice ones).
    Unknown fields are dropped; nothing typed in a known field is changed or lost."""
    raw: Raw = {}
    getlist = getattr(form, "getlist", None)
    for name in TEXT_LIMITS:
        value = form.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            raw[name] = str(value)
    for name in LIST_FIELDS:
        if getlist is not None:
            values = getlist(name)
        else:
            value = form.get(name) or []
            values = value if isinstance(value, list) else [value]
        raw[name] = [str(v) for v in values]
    return raw


def _text(raw: Raw, name: str) -> str:
    value = raw.get(name)
    return value.strip() if isinstance(value, str) else ""


def _list(raw: Raw, name: str) -> list[str]:
    value = raw.get(name) or []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


class _Checker:
    def __init__(self, raw: Raw) -> None:
        self.raw = raw
        self.errors: list[FieldError] = []

    def error(self, name: str, message: str, code: ErrorCode = ErrorCode.INVALID) -> None:
        if not any(e.field == name for e in self.errors):  # one message per field
            self.errors.append(FieldError(name, message, code))

    def text(self, name: str, label: str, *, required: str | None = None) -> str:
        try:
            value = text.clean(
                _text(self.raw, name),
                multiline=name in MULTI_LINE,
                join=", " if name == "address" else " ",
            )
        except text.TextRefused as problem:
            self.error(name, problem.message(label))
            return ""
        limit = TEXT_LIMITS[name]
        if len(value) > limit:
            self.error(
                name,
                f"{label} must be {limit} characters or fewer (it has {len(value)})",
                ErrorCode.TOO_LONG,
            )
        elif not value and required:
            self.error(name, required, ErrorCode.REQUIRED)
        return value

    def choice(self, name: str, options: type[StrEnum], required: str) -> Any:
        value = _text(self.raw, name)
        try:
            return options(value)
        except ValueError:
            self.error(name, required, ErrorCode.REQUIRED if not value else ErrorCode.INVALID)
            return None

    def many(self, name: str, options: Mapping[str, Any], label: str) -> list[Any]:
        values = _list(self.raw, name)
        if len(values) > LIST_FIELDS[name]:
            self.error(name, f"Choose at most {LIST_FIELDS[name]} {label}", ErrorCode.TOO_LONG)
            return []
        chosen = []
        for value in values:
            if value not in options:
                self.error(name, f"'{value[:40]}' is not one of the {label} on offer")
                return []
            chosen.append(options[value])
        return list(dict.fromkeys(chosen))


# The questions a person must answer (at most six: what a lead provider needs to check a
# listing and a person needs to find it). Follow-up fields (the postcode of a place, the days
# and start time of set times, the amount of a charge) are part of the question they follow.
REQUIRED_QUESTIONS = ("organisation", "title", "description", "where", "when", "email")


def check(raw: Raw, *, allow_keep: bool = False) -> tuple[Answers | None, list[FieldError]]:
    """Check every answer; all problems are reported at once, in the order of the form."""
    c = _Checker(raw)
    organisation = c.text(
        "organisation",
        "The name of your organisation",
        required="Enter the name of your organisation",
    )
    title = c.text(
        "title",
        "The name of what you offer",
        required="Enter the name of what you offer, for example 'Dog walking'",
    )
    description = c.text(
        "description",
        "The description",
        required="Describe what you offer in a few sentences",
    )
    # Optional: the lead provider can file it under a kind when they check it.
    domains = c.many("domains", {d.value: d for d in Domain}, "kinds of activity")

    where = c.choice("where", Where, "Choose where it happens")
    venue_name = c.text("venue_name", "The name of the place")
    postcode_text = c.text("postcode", "The postcode")
    address = c.text("address", "The address")
    postcode = None
    if where is Where.VENUE:
        # The place's name is optional: most groups meet at their own premises, and the
        # postcode is what a person needs to find it.
        if not postcode_text and not any(e.field == "postcode" for e in c.errors):
            c.error("postcode", "Enter the postcode of the place", ErrorCode.REQUIRED)
        elif postcode_text:
            try:
                postcode = normalise_postcode(postcode_text)
            except InvalidPostcode:
                c.error("postcode", "Enter a real postcode, like AT1 2AB")
    delivery = {
        Where.VENUE: Delivery.AT_VENUE,
        Where.ONLINE: Delivery.ONLINE,
        Where.HOME: Delivery.AT_HOME,
        Where.VARIOUS: Delivery.VARIOUS_PLACES,
        None: Delivery.AT_VENUE,
    }[where]

    rules = _check_when(c, allow_keep)

    email = c.text(
        "email",
        "The email address",
        required="Enter an email address: we send the link to confirm your listing there",
    )
    if email and not any(e.field == "email" for e in c.errors):
        try:
            email = addresses.email(email)
        except addresses.InvalidAddress as problem:
            c.error("email", str(problem))
    show_email = _text(raw, "show_email").lower() in ("yes", "true", "on", "1")
    phone = c.text("phone", "The phone number") or None
    if phone and not any(e.field == "phone" for e in c.errors) and not _PHONE.match(phone):
        c.error("phone", "Enter a phone number using only numbers, spaces and +, like 01632 960123")
    if not show_email and not phone and not any(e.field in ("email", "phone") for e in c.errors):
        c.error(
            "phone",
            "Give people a way to contact you: tick 'show my email address', "
            "or enter a phone number",
            ErrorCode.REQUIRED,
        )

    website = c.text("website", "The website") or None
    if website and not any(e.field == "website" for e in c.errors):
        website = _website(c, website)

    cost = _text(raw, "cost") or "FREE"
    is_free = cost != "PAID"
    cost_amount = None
    amount_text = c.text("cost_amount", "The cost")
    concessions = c.text("concessions", "Concessions") or None
    if cost not in ("FREE", "PAID"):
        c.error("cost", "Choose whether it is free")
    elif not is_free:
        if not amount_text:
            c.error("cost_amount", "Enter what it costs each time, like 2.50", ErrorCode.REQUIRED)
        else:
            try:
                cost_amount = Decimal(amount_text.replace("£", "").strip())
                if (
                    not cost_amount.is_finite()
                    or cost_amount < 0
                    or cost_amount > 10000
                    or cost_amount.as_tuple().exponent < -2
                ):  # type: ignore[operator]
                    raise InvalidOperation
            except InvalidOperation:
                c.error("cost_amount", "Enter the cost in pounds, like 2.50")
                cost_amount = None
            if cost_amount == 0:
                is_free, cost_amount = True, None

    accessibility = c.many(
        "accessibility", {f.value: f for f in AccessibilityFeature}, "accessibility features"
    )
    languages = _languages(c)
    who_for = c.text("who_for", "Who it is for") or None
    how_to_join = HowToJoin.DROP_IN
    if _text(raw, "how_to_join"):
        how_to_join = c.choice("how_to_join", HowToJoin, "Choose how people join")
    # The answers are stored as typed: nothing the text rule refuses may be in any of them
    # (a NUL in a yes/no answer would be stored too, and PostgreSQL refuses it).
    for name, value in raw.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and (problem := text.refused(item)):
                c.error(name, problem.message("This answer"))
                break
    if c.errors:
        return None, c.errors
    return (
        Answers(
            organisation=organisation,
            title=title,
            description=description,
            domains=domains,
            delivery=delivery,
            venue_name=(venue_name or organisation) if where is Where.VENUE else None,
            postcode=postcode,
            address=address if where is Where.VENUE else "",
            rules=rules,
            email=email.lower() if email else email,
            show_email=show_email,
            phone=phone,
            website=website,
            is_free=is_free,
            cost_amount=cost_amount,
            concessions=concessions if not is_free else None,
            accessibility=accessibility if where is Where.VENUE else [],
            languages=languages,
            who_for=who_for,
            how_to_join=how_to_join,
        ),
        [],
    )


# What moderators call the free-text fields (the moderation page says what the text rule
# changed in them).
TEXT_LABELS = {
    "organisation": "Organisation",
    "title": "Activity",
    "description": "Description",
    "venue_name": "Place",
    "address": "Address",
    "phone": "Phone",
    "email": "Email",
    "website": "Website",
    "concessions": "Concessions",
    "languages": "Languages",
    "who_for": "Who it is for",
}


def text_changes(raw: Raw) -> list[tuple[str, str]]:
    """(label, what the text rule changed or refused, and the text as typed with its
    invisible characters shown) for each field where it did anything."""
    found = []
    for name, label in TEXT_LABELS.items():
        value = raw.get(name)
        if not isinstance(value, str):
            continue
        said = text.changes(value, multiline=name in MULTI_LINE)
        if said:
            typed = text.visible(value.strip())
            found.append((label, f"{'; '.join(said)}. As typed: {typed}"))
    return found


def _check_when(c: _Checker, allow_keep: bool) -> list[Rule] | None:
    when = c.choice("when", When, "Choose when it happens, or 'Ask us'")
    starts_text = c.text("starts", "The start time")
    ends_text = c.text("ends", "The end time")
    first_text = c.text("first_date", "The date")
    days = c.many("days", {d.value: d for d in Weekday}, "days")
    how_often = HowOften.WEEKLY
    if _text(c.raw, "how_often"):
        how_often = c.choice("how_often", HowOften, "Choose how often it happens")
    weeks = c.many("month_weeks", MONTH_WEEKS, "weeks of the month")
    if when is When.ASK:
        return []
    if when is When.KEEP:
        if not allow_keep:
            c.error("when", "Choose when it happens, or 'Ask us'")
        return None
    if when is not When.TIMES:
        return []
    if not days and not any(e.field == "days" for e in c.errors):
        c.error("days", "Choose the day or days it happens", ErrorCode.REQUIRED)
    opens_at = closes_at = None
    if not starts_text:
        if not any(e.field == "starts" for e in c.errors):
            c.error("starts", "Enter the time it starts, like 10am", ErrorCode.REQUIRED)
    else:
        try:
            opens_at = parse_time(starts_text)
        except InvalidSchedule as exc:
            c.error("starts", str(exc))
    if ends_text:
        try:
            closes_at = parse_time(ends_text)
        except InvalidSchedule as exc:
            c.error("ends", str(exc))
        if opens_at and closes_at and closes_at <= opens_at:
            c.error("ends", f"The end time must be after the start time ({opens_at:%H:%M})")
    starts_on = None
    if how_often is HowOften.FORTNIGHTLY:
        if not first_text:
            c.error(
                "first_date",
                "Enter a date it next happens, so we know which weeks",
                ErrorCode.REQUIRED,
            )
        else:
            try:
                starts_on = parse_date(first_text)
            except InvalidSchedule as exc:
                c.error("first_date", str(exc))
            if starts_on and days and list(Weekday)[starts_on.weekday()] not in days:
                c.error(
                    "first_date",
                    f"{starts_on.day} {starts_on:%B %Y} is a {starts_on:%A}: "
                    "enter a date it happens",
                )
    if (
        how_often is HowOften.MONTHLY
        and not weeks
        and not any(e.field == "month_weeks" for e in c.errors)
    ):
        c.error("month_weeks", "Choose which week or weeks of the month", ErrorCode.REQUIRED)
    if c.errors or opens_at is None or not days:
        return []
    try:
        return [
            make_rule(
                days=days,
                opens_at=opens_at,
                closes_at=closes_at,
                every_weeks=2 if how_often is HowOften.FORTNIGHTLY else 1,
                monthly=weeks if how_often is HowOften.MONTHLY else (),
                starts_on=starts_on,
            )
        ]
    except InvalidSchedule as exc:
        c.error("days", str(exc))
        return []


def _website(c: _Checker, value: str) -> str | None:
    try:
        return addresses.website(value)
    except addresses.InvalidAddress as problem:
        c.error("website", str(problem))
        return None


def _languages(c: _Checker) -> list[str]:
    text = c.text("languages", "Languages")
    if not text:
        return ["en"]
    codes = []
    for part in re.split(r"[,;/]|\band\b", text):
        name = part.strip().lower()
        if not name:
            continue
        if name in LANGUAGES:
            codes.append(LANGUAGES[name])
        elif re.fullmatch(r"[a-z]{2,3}", name):
            codes.append(name)
        else:
            c.error(
                "languages",
                f"We do not know the language '{part.strip()[:40]}': write its name in English, "
                "like 'Bengali', or its two-letter code",
            )
            return ["en"]
    return list(dict.fromkeys(codes)) or ["en"]


def name_key(name: str) -> str:
    """An organisation name folded for the duplicate check."""
    s = name.lower().replace("&", " and ")
    s = re.sub(r"[^\w\s]", "", s)
    return " ".join(w for w in s.split() if w != "the")[:200]


def today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Europe/London")).date()
