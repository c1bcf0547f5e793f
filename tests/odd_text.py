"""A corpus of odd text, written here (nothing is read from elsewhere), for the tests of the
text rule (api/directory/text.py) at every entrance and in every output."""

from __future__ import annotations

# Each becomes "Dog walking" in a one-line field.
NORMALISED = {
    "line feed": "Dog\nwalking",
    "carriage return": "Dog\rwalking",
    "CRLF": "Dog\r\nwalking",
    "tab": "Dog\twalking",
    "vertical tab": "Dog\x0bwalking",
    "form feed": "Dog\x0cwalking",
    "next line (C1)": "Dog\x85walking",
    "line separator": "Dog\u2028walking",
    "paragraph separator": "Dog\u2029walking",
    "bidi override": "Dog \u202ewalking\u202c",
    "bidi embedding": "Dog \u202bwalking\u202c",
    "bidi isolate": "Dog \u2067walking\u2069",
    "byte order mark": "\ufeffDog walking",
    "spaces around": "  Dog   walking  ",
}
# ... and this in a multi-line field.
MULTI_LINE = {
    "line feed": "Dog\nwalking",
    "carriage return": "Dog\nwalking",
    "CRLF": "Dog\nwalking",
    "vertical tab": "Dog\nwalking",
    "form feed": "Dog\nwalking",
    "next line (C1)": "Dog\nwalking",
    "line separator": "Dog\nwalking",
    "paragraph separator": "Dog\n\nwalking",
}
# Refused, with the character's code in the message.
REFUSED = {
    "NUL": ("Dog\x00walking", "U+0000"),
    "bell": ("Dog\x07walking", "U+0007"),
    "escape": ("Dog\x1b[31mwalking", "U+001B"),
    "delete": ("Dog\x7fwalking", "U+007F"),
    "C1 control": ("Dog\x9bwalking", "U+009B"),
    "lone surrogate": ("Dog\ud800walking", "U+D800"),
}
# Kept as typed (in NFC form).
KEPT = {
    "combining marks": ("Cafe\u0301 cre\u0300me", "Café crème"),
    "emoji": ("Dog walking 🐕\u200d🦺 👩🏽\u200d🦯", "Dog walking 🐕\u200d🦺 👩🏽\u200d🦯"),
    "right to left": ("مشي الكلاب", "مشي الكلاب"),
    "zero width non-joiner": ("می\u200cخواهم", "می\u200cخواهم"),
    "very long word": ("D" + "o" * 120 + "g", "D" + "o" * 120 + "g"),
    "markup": ('<script>alert(1)</script> & "q"', '<script>alert(1)</script> & "q"'),
}
