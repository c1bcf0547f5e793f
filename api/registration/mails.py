"""The emails of registration and upkeep. Each is a few paragraphs and links, rendered as
plain text and as HTML (jinja2 with autoescape: names and notes people typed are escaped).
``queue`` writes them to the mail queue in the caller's transaction (api/mail/queue.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, select_autoescape
from sqlalchemy import orm

from api.directory import text
from api.mail.outbox import Email
from api.mail.queue import enqueue

_HTML = Environment(
    autoescape=select_autoescape(default=True, default_for_string=True)
).from_string(
    """<!doctype html>
<html lang="en"><body style="font-family: Arial, sans-serif; font-size: 16px; line-height: 1.5">
{% for p in paragraphs %}<p style="white-space: pre-line">{{ p }}</p>
{% endfor %}{% for label, href in links %}<p><a href="{{ href }}">{{ label }}</a></p>
{% endfor %}<p style="color:#505a5f">{{ footer }}</p>
</body></html>"""
)
FOOTER = "Petunia, the local directory of community support."


@dataclass
class Message:
    to: str
    subject: str
    paragraphs: list[str]
    links: list[tuple[str, str]] = field(default_factory=list)

    def email(self) -> Email:
        text = "\n\n".join(
            [*self.paragraphs, *(f"{label}:\n{href}" for label, href in self.links), FOOTER]
        )
        html = _HTML.render(paragraphs=self.paragraphs, links=self.links, footer=FOOTER)
        return Email(to=self.to, subject=_subject(self.subject), text=text + "\n", html=html)


def _subject(value: str) -> str:
    # A name typed into a form must not break the header: one line (text.clean joins the
    # lines Unicode knows of, U+2028 included), nothing invisible, a sane length.
    try:
        line = text.clean(value)
    except text.TextRefused:
        line = re.sub(r"[\u202a-\u202e\u2066-\u2069]", "", value)
        line = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+", " ", line)
    return " ".join(line.split())[:150]


def queue(db: orm.Session, messages: list[Message]) -> list[int]:
    """Queue each message in the caller's transaction; returns their ids in the queue. They
    are sent once it commits, and never if it rolls back."""
    return [enqueue(db, message.email()).id for message in messages]


def confirm_registration(
    to: str,
    organisation: str,
    confirm_link: str,
    edit_link: str,
    days: int,
    *,
    lead: str = "the local lead provider",
    review_days: int | None = None,
    sent: list[Any] | None = None,
) -> Message:
    """The first email: confirm the address; it restates what was sent (``sent``: rows with
    ``label`` and ``value``) and says what happens next, and who does it."""
    within = f", usually within {review_days} days" if review_days else ""
    restated = (
        ["This is what you sent:", "\n".join(f"{row.label}: {row.value}" for row in sent)]
        if sent
        else []
    )
    return Message(
        to,
        f"Confirm your listing: {organisation}",
        [
            f"Thank you for listing {organisation}.",
            *restated,
            "What happens next:",
            f"1. Confirm your email address with the link below (it works for {days} days).\n"
            f"2. {lead[:1].upper() + lead[1:]} then checks your listing{within}.\n"
            "3. We email you when it is in the directory, or if they ask for a change.",
            "Keep this email: the second link lets you change your listing at any time, "
            "without a password.",
            "If you did not ask to be listed, ignore this email and nothing will happen.",
        ],
        [("Confirm your listing", confirm_link), ("Edit your listing", edit_link)],
    )


def confirm_joining(
    to: str,
    organisation: str,
    what: str,
    confirm_link: str,
    days: int,
    *,
    lead: str,
    review_days: int,
    sent: list[Any],
) -> Message:
    """Confirm the address of someone adding to (or asking for access to) a listed
    organisation; it restates what they sent and what happens next."""
    return Message(
        to,
        f"Confirm your email: {organisation}",
        [
            f"Thank you for sending {what}.",
            "This is what you sent:",
            "\n".join(f"{row.label}: {row.value}" for row in sent),
            "What happens next:",
            f"1. Confirm your email address with the link below (it works for {days} days).\n"
            f"2. {lead[:1].upper() + lead[1:]} then checks it, usually within {review_days} "
            "days.\n"
            "3. We email you when they have decided.",
            "If you did not send this, ignore this email and nothing will happen.",
        ],
        [("Confirm your email", confirm_link)],
    )


def access_granted(to: str, organisation: str, lead: str, edit_link: str) -> Message:
    return Message(
        to,
        f"You can now change the listing of {organisation}",
        [
            f"{lead} has given you access to the listing of {organisation} in the directory.",
            "Use the link below to change it, add activities or say it is still right. It "
            "works without a password; keep this email.",
        ],
        [("Edit the listing", edit_link)],
    )


def joined(to: str, title: str, organisation: str, lead: str) -> Message:
    return Message(
        to,
        f"Your activity is in the directory: {title}",
        [
            f"{lead} has checked {title} and added it to the listing of {organisation}.",
            "To change it later, ask them for access to the listing.",
        ],
    )


def new_in_queue(to: str, organisation: str, queue_link: str) -> Message:
    return Message(
        to,
        f"New listing to check: {organisation}",
        [f"{organisation} has confirmed a listing and it is waiting in your moderation queue."],
        [("Open the moderation queue", queue_link)],
    )


def approved(to: str, organisation: str, lead: str, edit_link: str, shows: str) -> Message:
    """``shows``: when it reaches the public site (api/directory/publishing.when_visible)."""
    return Message(
        to,
        f"Your listing is approved: {organisation}",
        [
            f"{lead} has checked your listing for {organisation} and approved it. {shows}",
            "Please keep it up to date: use the link below whenever something changes.",
        ],
        [("Edit your listing", edit_link)],
    )


def changes_requested(to: str, organisation: str, lead: str, note: str, edit_link: str) -> Message:
    return Message(
        to,
        f"Please change your listing: {organisation}",
        [
            f"{lead} has looked at your listing for {organisation} and asks for a change "
            "before it goes into the directory:",
            note,
            "Use the link below to change it; it comes back to them when you save it.",
        ],
        [("Edit your listing", edit_link)],
    )


def rejected(to: str, organisation: str, lead: str, reason: str) -> Message:
    return Message(
        to,
        f"Your listing was not accepted: {organisation}",
        [
            f"{lead} has looked at your listing for {organisation} and cannot add it to "
            "the directory, for this reason:",
            reason,
            "If you think this is a mistake, reply to them or register again.",
        ],
    )


def edit_links(to: str, listings: list[tuple[str, str]]) -> Message:
    return Message(
        to,
        "Your link to edit your listing",
        [
            "You asked for a link to edit your listing. Each link below works without a "
            "password; keep this email.",
            "If you did not ask for this, ignore this email.",
        ],
        [(f"Edit: {name}", link) for name, link in listings],
    )


def reminder(to: str, organisation: str, last: str, still_right: str, edit_link: str) -> Message:
    return Message(
        to,
        f"Is your listing still right? {organisation}",
        [
            f"Your listing for {organisation} in the local directory was last confirmed "
            f"{last}. Listings nobody has checked for a long time stop being trusted.",
            "If everything is still right, one click on the first link is all it takes. "
            "If something has changed, use the second link to change it.",
            "Every organisation that confirms or updates its listing in a month is entered "
            "into that month's prize draw.",
        ],
        [("Yes, it is still right", still_right), ("Change my listing", edit_link)],
    )


def problem_reported(
    to: str, organisation: str, what: str, session: str | None, details: str, link: str, label: str
) -> Message:
    about = f"{organisation}: {session}" if session else organisation
    return Message(
        to,
        f"Problem reported with a listing: {organisation}",
        [
            f"Someone using the directory reported a problem with {about}.",
            f"What is wrong: {what}.",
            *([f"They said: {details}"] if details else []),
        ],
        [(label, link)],
    )
