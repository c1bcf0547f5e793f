"""The one rule for text that enters the directory, whatever the entrance (the form and its
raw POST, GraphQL, edit links, `petunia import`, `petunia load`).

A single-line field (a name, a title, a venue, an address line) and a multi-line field (a
description, a note) are treated by character class:

- line breaks (LF, CR, CRLF, VT, FF, NEL, U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR):
  a single-line field joins its lines with a space (an address with ", "); a multi-line field
  keeps them as LF (U+2029 as a blank line), at most one blank line in a row;
- tabs: a space;
- bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the byte order
  mark (U+FEFF): removed. They are invisible, they reorder what is shown around them (the
  "Trojan source" trick), and right-to-left text reads correctly without them. The marks
  LRM, RLM and ALM have no reach beyond themselves and are kept;
- NUL, the other C0 controls, DEL, the C1 controls and lone surrogates: refused with a
  message that says which character and where; they are not text, and no page, calendar,
  email or database column can carry them faithfully;
- everything else is kept as typed (combining marks, emoji, every script, long words), in
  Unicode NFC form so that "e" plus a combining acute and "é" are the same name;
- leading and trailing spaces are dropped; a single-line field has no runs of spaces.

``clean`` applies the rule (or raises ``TextRefused``); ``changes`` says in words what it
changed, and ``visible`` shows a text with its invisible characters made visible, for the
moderation page. Writers of output (sitegen, ORUK, email) need nothing more than their own
encoders for text that passed through here; ``screen`` finds older rows that did not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Line breaks: every character Unicode (and str.splitlines) treats as ending a line.
_BREAKS = "\r\n|[\n\r\x0b\x0c\x85\u2028]"
_PARAGRAPH = "\u2029"
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_REMOVED = re.compile("[\u202a-\u202e\u2066-\u2069\ufeff]")
_REFUSED = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]")
# Any character the rule would touch: one search tells whether a text may be clean already.
_TOUCHED = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)
# What cannot be published as stored: refused characters and bidi controls.
_UNPUBLISHABLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)


@dataclass(frozen=True)
class TextRefused(ValueError):
    """A character the rule refuses, and where it is."""

    char: str
    index: int  # in the text as given
    before: str  # up to 20 characters before it, for a person to find the place

    @property
    def code(self) -> str:
        return f"U+{ord(self.char):04X}"

    def message(self, label: str) -> str:
        where = f" after “{self.before}”" if self.before else " at the start"
        return (
            f"{label} has an invisible control character ({self.code}){where}: "
            "delete it, or type that part again"
        )

    def __str__(self) -> str:
        return f"control character {self.code} at character {self.index + 1} is not allowed"


def refused(value: str) -> TextRefused | None:
    """The first refused character of ``value``, or None."""
    found = _REFUSED.search(value)
    if found is None:
        return None
    start = found.start()
    before = _REMOVED.sub("", value[max(0, start - 20) : start])
    before = re.sub(_BREAKS + "|[\t\u2029]", " ", before).strip()
    return TextRefused(found.group(), start, _REFUSED.sub("", before))


def without_refused(value: str) -> str:
    """``value`` with the characters the rule refuses taken out: for other systems' data,
    where there is no one to ask (api/oruk/importing.py), in fields that are not essential."""
    return _REFUSED.sub("", value)


def clean(value: str, *, multiline: bool = False, join: str = " ") -> str:
    """``value`` by the rule above; raises TextRefused. ``join`` joins the lines of a
    single-line field (", " for an address)."""
    if (
        value == value.strip()
        and "  " not in value
        and ((value.isascii() and value.isprintable()) or not _TOUCHED.search(value))
        and unicodedata.is_normalized("NFC", value)
    ):
        return value  # the common case, kept cheap for bulk imports and loads
    problem = refused(value)
    if problem is not None:
        raise problem
    text = _REMOVED.sub("", value).replace("\t", " ")
    if multiline:
        text = re.sub(_BREAKS, "\n", text).replace(_PARAGRAPH, "\n\n")
        lines = [re.sub(" {2,}", " ", line).strip() for line in text.split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    else:
        parts = re.split(_BREAKS + "|" + _PARAGRAPH, text)
        text = join.join(p.strip() for p in parts if p.strip())
        text = re.sub(" {2,}", " ", text).strip()
    return unicodedata.normalize("NFC", text)


def changes(value: str, *, multiline: bool = False) -> list[str]:
    """What ``clean`` changes in ``value``, in words (empty when nothing but spaces at the
    ends): shown to moderators beside the text as typed."""
    said = []
    breaks = len(re.findall(_BREAKS + "|" + _PARAGRAPH, value.strip()))
    if breaks and not multiline:
        said.append(f"{breaks} line break{'s' if breaks > 1 else ''} joined into one line")
    elif multiline and re.search("\r(?!\n)|[\x0b\x0c\x85\u2028\u2029]", value):
        said.append("line breaks of other kinds made plain line breaks")
    if "\t" in value:
        said.append("tabs made spaces")
    removed = _REMOVED.findall(value)
    if removed:
        codes = ", ".join(sorted({f"U+{ord(c):04X}" for c in removed}))
        said.append(f"{len(removed)} invisible direction or format character(s) removed ({codes})")
    if problem := refused(value):
        said.append(f"refused: {problem}")
    elif not unicodedata.is_normalized("NFC", _REMOVED.sub("", value)):
        said.append("accents combined (Unicode NFC)")
    return said


_SHOW = {"\n": "⏎", "\r": "␍", "\t": "⇥", "\u2028": "⏎", "\u2029": "¶"}


def visible(value: str) -> str:
    """``value`` with every character the rule touches shown as a visible sign."""

    def show(match: re.Match[str]) -> str:
        c = match.group()
        return _SHOW.get(c) or f"⟨U+{ord(c):04X}⟩"

    return re.sub(
        "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]",
        show,
        value,
    )


def screen(value: str | None) -> str | None:
    """Why ``value`` (as stored) cannot be published safely, or None: text stored before
    this rule, or written around it. Line breaks in a single-line field are fine to publish
    (every writer encodes them), refused characters and bidi controls are not."""
    if not value or not _UNPUBLISHABLE.search(value):
        return None
    if problem := refused(value):
        return str(problem)
    if found := _BIDI.search(value):
        return f"bidi control U+{ord(found.group()):04X} is not allowed"
    return None
