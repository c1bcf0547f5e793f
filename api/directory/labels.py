"""Plain-English words for the directory's codes, as the public site shows them."""

from __future__ import annotations

import re

from api.directory.enums import (
    AccessibilityFeature,
    Delivery,
    Gender,
    HowToJoin,
    TimeOfDay,
    Weekday,
)

DAY_NAMES = {
    Weekday.MO: "Monday",
    Weekday.TU: "Tuesday",
    Weekday.WE: "Wednesday",
    Weekday.TH: "Thursday",
    Weekday.FR: "Friday",
    Weekday.SA: "Saturday",
    Weekday.SU: "Sunday",
}

TIME_OF_DAY = {
    TimeOfDay.MORNING: "Morning",
    TimeOfDay.AFTERNOON: "Afternoon",
    TimeOfDay.EVENING: "Evening",
}

ACCESSIBILITY = {
    AccessibilityFeature.STEP_FREE: "Step-free access",
    AccessibilityFeature.ACCESSIBLE_TOILET: "Accessible toilet",
    AccessibilityFeature.HEARING_LOOP: "Hearing loop",
    AccessibilityFeature.PARKING: "Parking",
    AccessibilityFeature.PUBLIC_TRANSPORT: "Near public transport",
    AccessibilityFeature.CHANGING_PLACES: "Changing Places toilet",
    AccessibilityFeature.ASSISTANCE_DOGS: "Assistance dogs welcome",
    AccessibilityFeature.QUIET_SPACE: "Quiet space",
    AccessibilityFeature.LARGE_PRINT: "Large print materials",
    AccessibilityFeature.WHEELCHAIR_ACCESSIBLE_EQUIPMENT: "Wheelchair-accessible equipment",
}

HOW_TO_JOIN = {
    HowToJoin.DROP_IN: "Drop in: just turn up",
    HowToJoin.BOOK_FIRST: "Book first",
    HowToJoin.REFERRAL_ONLY: "By referral: ask your GP practice or link worker",
}
# Short forms for filters.
HOW_TO_JOIN_SHORT = {
    HowToJoin.DROP_IN: "Drop in",
    HowToJoin.BOOK_FIRST: "Book first",
    HowToJoin.REFERRAL_ONLY: "Referral",
}

DELIVERY = {
    Delivery.AT_VENUE: "In person",
    Delivery.ONLINE: "Online",
    Delivery.AT_HOME: "At home (visits or phone calls)",
    Delivery.VARIOUS_PLACES: "In various places: ask the organiser",
}

GENDER = {
    Gender.ANY: None,
    Gender.WOMEN_ONLY: "Women only",
    Gender.MEN_ONLY: "Men only",
}

# ISO 639-1 names of the languages most often offered in England; others show their code.
LANGUAGES = {
    "en": "English",
    "ar": "Arabic",
    "bn": "Bengali",
    "bg": "Bulgarian",
    "zh": "Chinese",
    "cy": "Welsh",
    "fa": "Persian (Farsi)",
    "fr": "French",
    "gu": "Gujarati",
    "hi": "Hindi",
    "it": "Italian",
    "ku": "Kurdish",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "ml": "Malayalam",
    "ne": "Nepali",
    "pa": "Punjabi",
    "pl": "Polish",
    "ps": "Pashto",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "so": "Somali",
    "es": "Spanish",
    "sq": "Albanian",
    "ta": "Tamil",
    "ti": "Tigrinya",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "yi": "Yiddish",
    "sgn": "Sign language",
}


def language_name(code: str) -> str:
    return LANGUAGES.get(code.lower(), code)


_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")


def slug(text: str) -> str:
    """'PHYSICAL_ACTIVITY' -> 'physical-activity'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def safe_segment(key: str, fallback: str) -> str:
    """A URL path segment and folder name for a record key. Keys are slugs; anything else
    (a future import that allows other keys) gets the fallback, never a path of its own."""
    return key if _SLUG.match(key) else fallback
