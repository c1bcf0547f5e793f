"""The directory's closed vocabularies. Values are stored as these strings."""

from enum import StrEnum


class Domain(StrEnum):
    PHYSICAL_ACTIVITY = "PHYSICAL_ACTIVITY"
    HEALTHY_EATING = "HEALTHY_EATING"
    ARTS_FOR_HEALTH = "ARTS_FOR_HEALTH"
    BEFRIENDING = "BEFRIENDING"
    WELFARE_RIGHTS = "WELFARE_RIGHTS"
    VOLUNTEERING = "VOLUNTEERING"


class ProviderKind(StrEnum):
    LEAD_NTP = "LEAD_NTP"
    NTP = "NTP"


class Relationship(StrEnum):
    """How a provider stands to its locality's lead provider."""

    LEAD = "LEAD"
    SUB_CONTRACTED = "SUB_CONTRACTED"
    INFORMAL = "INFORMAL"


class ListedBy(StrEnum):
    SELF_REGISTERED = "SELF_REGISTERED"
    ADDED_BY_LEAD = "ADDED_BY_LEAD"


class Verification(StrEnum):
    UNVERIFIED = "UNVERIFIED"
    VERIFIED = "VERIFIED"


class ListingStatus(StrEnum):
    """Only PUBLISHED providers (and their PUBLISHED sessions) are shown to the public."""

    PUBLISHED = "PUBLISHED"
    PENDING = "PENDING"
    WITHDRAWN = "WITHDRAWN"  # taken down by a lead provider (api/directory/lifecycle.py)
    SUSPENDED = "SUSPENDED"  # taken down for now by a lead provider; reversible
    STOPPED = "STOPPED"  # the provider said it has stopped


class Delivery(StrEnum):
    AT_VENUE = "AT_VENUE"
    ONLINE = "ONLINE"
    AT_HOME = "AT_HOME"
    # Self-registered groups that meet in different places (walks from changing spots).
    VARIOUS_PLACES = "VARIOUS_PLACES"


class HowToJoin(StrEnum):
    DROP_IN = "DROP_IN"
    BOOK_FIRST = "BOOK_FIRST"
    REFERRAL_ONLY = "REFERRAL_ONLY"


class Gender(StrEnum):
    ANY = "ANY"
    WOMEN_ONLY = "WOMEN_ONLY"
    MEN_ONLY = "MEN_ONLY"


class AccessibilityFeature(StrEnum):
    STEP_FREE = "STEP_FREE"
    ACCESSIBLE_TOILET = "ACCESSIBLE_TOILET"
    HEARING_LOOP = "HEARING_LOOP"
    PARKING = "PARKING"
    PUBLIC_TRANSPORT = "PUBLIC_TRANSPORT"
    CHANGING_PLACES = "CHANGING_PLACES"
    ASSISTANCE_DOGS = "ASSISTANCE_DOGS"
    QUIET_SPACE = "QUIET_SPACE"
    LARGE_PRINT = "LARGE_PRINT"
    WHEELCHAIR_ACCESSIBLE_EQUIPMENT = "WHEELCHAIR_ACCESSIBLE_EQUIPMENT"


class Frequency(StrEnum):
    """RRULE frequencies (as in HSDS ``schedule.freq``), plus ONCE for a dated one-off."""

    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    ONCE = "ONCE"


class Weekday(StrEnum):
    """RRULE two-letter days; the order is Python's ``date.weekday()``."""

    MO = "MO"
    TU = "TU"
    WE = "WE"
    TH = "TH"
    FR = "FR"
    SA = "SA"
    SU = "SU"

    @property
    def index(self) -> int:
        return list(Weekday).index(self)


class TimeOfDay(StrEnum):
    MORNING = "MORNING"  # starts before 12:00
    AFTERNOON = "AFTERNOON"  # starts 12:00 to 16:59
    EVENING = "EVENING"  # starts 17:00 or later
