"""Descriptions for the schema's types, fields, arguments and enum values that do not carry
one in their own code: what client generators put in their docs and editors show on hover.

A description written where the field is defined wins; this table fills the rest, keyed by
path ("Type", "Type.field", "Type.field(argument)", "Enum.VALUE"), and a few rules describe
what every connection, edge and payload has in common. Kept in one place so that the
domains' GraphQL modules stay as they are; tests/test_schema_lint.py lists anything left
undescribed, and any entry here that names nothing (or is shadowed by the code's own).

Referral fields also say which roles may read them: api/graphql/referrals/visibility.py adds
that from the policy's table, so it cannot drift from what the API does."""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from api.graphql.descriptions_care import CARE

_PAGE = "`first` 20 by default, at most 100"
_ID = "Global ID: opaque; `node(id:)` and the arguments that take this type's ID accept it."
_GIVEN_ID = "The global ID of the {}, as this API returned it."
_ERRORS = (
    "Expected failures, each with the input `field` it is about, a `message` a person can "
    "act on and a `code`; empty when it worked (then nothing else went wrong)."
)

DESCRIPTIONS: dict[str, str] = {
    **CARE,  # referrals, outcomes and reports: api/graphql/descriptions_care.py
    # --- Directory -------------------------------------------------------------------------
    "AccessibilityFeature": "A feature of a venue that makes it easier to get to or use.",
    "AccessibilityFeature.STEP_FREE": "Step-free access to the rooms used.",
    "AccessibilityFeature.ACCESSIBLE_TOILET": "A toilet for wheelchair users.",
    "AccessibilityFeature.HEARING_LOOP": "A hearing loop.",
    "AccessibilityFeature.PARKING": "Parking at or next to the venue.",
    "AccessibilityFeature.PUBLIC_TRANSPORT": "A bus stop or station close by.",
    "AccessibilityFeature.CHANGING_PLACES": "A Changing Places toilet (hoist and bench).",
    "AccessibilityFeature.ASSISTANCE_DOGS": "Assistance dogs welcome.",
    "AccessibilityFeature.QUIET_SPACE": "A quiet room to step away to.",
    "AccessibilityFeature.LARGE_PRINT": "Large-print materials.",
    "AccessibilityFeature.WHEELCHAIR_ACCESSIBLE_EQUIPMENT": "Equipment wheelchair users can use.",
    "DayOfWeek": "A day of the week.",
    "DayOfWeek.MONDAY": "Monday.",
    "DayOfWeek.TUESDAY": "Tuesday.",
    "DayOfWeek.WEDNESDAY": "Wednesday.",
    "DayOfWeek.THURSDAY": "Thursday.",
    "DayOfWeek.FRIDAY": "Friday.",
    "DayOfWeek.SATURDAY": "Saturday.",
    "DayOfWeek.SUNDAY": "Sunday.",
    "Delivery.AT_VENUE": "At a venue (see `Session.venue`).",
    "Delivery.ONLINE": "Online: the contact details say how to join.",
    "Delivery.AT_HOME": "In the person's home, or by phone.",
    "Delivery.VARIOUS_PLACES": "In different places (a walk that meets somewhere new each time).",
    "Domain.PHYSICAL_ACTIVITY": "Getting active: health walks, walking football, gardening.",
    "Domain.HEALTHY_EATING": "Healthy eating: cookery and lunch clubs, growing food.",
    "Domain.ARTS_FOR_HEALTH": "Arts and creativity: knit and natter, singing, pottery.",
    "Domain.BEFRIENDING": "Friendship and company: befriending, coffee mornings, groups.",
    "Domain.WELFARE_RIGHTS": "Money, benefits and advice: debt, housing, forms, appeals.",
    "Domain.VOLUNTEERING": "Volunteering: giving time to others.",
    "DomainInfo.domain": "The domain.",
    "DomainInfo.label": "Its name for the public, e.g. 'Getting active'.",
    "DomainInfo.description": "What it covers, in a sentence for people.",
    "DomainInfo.sessionCount": "Published sessions in it now (a session may be in several).",
    "Frequency": "How often a rule repeats, as iCalendar RRULE FREQ (with `interval`): every "
    "week, month, or once. Every other week is WEEKLY with `interval` 2.",
    "Frequency.WEEKLY": "Every `interval` weeks, on the days given.",
    "Frequency.MONTHLY": "Every `interval` months, on the weeks of the month given.",
    "Frequency.ONCE": "One dated occasion (`startsOn`).",
    "Gender": "Whom a session is open to.",
    "Gender.ANY": "Everyone.",
    "Gender.WOMEN_ONLY": "Women only.",
    "Gender.MEN_ONLY": "Men only.",
    "HowToJoin": "What someone does to come.",
    "HowToJoin.DROP_IN": "Just turn up.",
    "HowToJoin.BOOK_FIRST": "Book first with the contact.",
    "HowToJoin.REFERRAL_ONLY": "Only through a link worker's referral.",
    "ListedBy": "Who put a provider in the directory.",
    "ListedBy.SELF_REGISTERED": "The organisation itself, through the registration form.",
    "ListedBy.ADDED_BY_LEAD": "Its locality's lead provider.",
    "ProviderKind": "The kind of organisation.",
    "ProviderKind.LEAD_NTP": "A lead provider: runs social prescribing for a locality.",
    "ProviderKind.NTP": "Any other non-traditional provider (charity, group, business).",
    "Relationship.LEAD": "It is the lead provider.",
    "Relationship.SUB_CONTRACTED": "Paid by the lead provider to deliver sessions.",
    "Relationship.INFORMAL": "Works with the lead provider without a contract.",
    "Verification": "Whether a lead provider has checked the entry.",
    "Verification.UNVERIFIED": "Not checked yet.",
    "Verification.VERIFIED": "Checked by a lead provider (`Provider.verifiedBy`).",
    "TimeOfDay.MORNING": "Starts before 12:00.",
    "TimeOfDay.AFTERNOON": "Starts from 12:00 to 16:59.",
    "TimeOfDay.EVENING": "Starts at 17:00 or later.",
    "Locality.name": "Its name, e.g. 'Ashby'.",
    "Locality.leadProvider": "The provider that runs social prescribing there; null if none yet.",
    "Venue.name": "Its name, e.g. 'St Mark's Church Hall'.",
    "Venue.address": "Its address, as written.",
    "Venue.postcode": "UK postcode, formatted ('NT1 1AA'); null if not known.",
    "Venue.latitude": "WGS 84 degrees; null when the postcode could not be placed.",
    "Venue.longitude": "WGS 84 degrees; null when the postcode could not be placed.",
    "Venue.accessibility": "Features it has, in a fixed order.",
    "Venue.locality": "The locality it is in; null if not known.",
    "Cost.isFree": "True when it costs nothing; then `price` is null.",
    "Cost.price": "What it costs each time; null when free or not said.",
    "Cost.concessions": "Reduced prices, as the provider wrote them, e.g. '£2 for carers'.",
    "WhoFor.minAge": "The youngest age in years it is for; null: no lower limit.",
    "WhoFor.maxAge": "The oldest age in years it is for; null: no upper limit.",
    "WhoFor.gender": "Whom it is open to.",
    "WhoFor.notes": "Anything else about who it is for, as the provider wrote it.",
    "Contact.name": "A person or role to ask for.",
    "Contact.email": "An email address.",
    "Contact.phone": "A UK phone number, as written.",
    "ScheduleRule.frequency": "How often it repeats (with `interval`).",
    "ScheduleRule.interval": "Every how many weeks or months: 1 every, 2 every other.",
    "ScheduleRule.daysOfWeek": "The days it runs on (from `byDay`).",
    "ScheduleRule.opensAt": "When it starts, local time.",
    "ScheduleRule.closesAt": "When it ends, local time; null if not said.",
    "ScheduleRule.startsOn": "The first date it applies; null: already running.",
    "ScheduleRule.endsOn": "The last date it applies; null: no end date.",
    "ScheduleRule.note": "A note from the provider, e.g. 'term time only'.",
    "ScheduleRule.timeOfDay": "Morning, afternoon or evening, from `opensAt`.",
    "ScheduleBreak.startsOn": "The first date with no session.",
    "ScheduleBreak.endsOn": "The last date with no session (inclusive).",
    "ScheduleBreak.reason": "Why, e.g. 'Christmas'; null if not said.",
    "Occurrence.date": "The date.",
    "Occurrence.startsAt": "Start time, local time.",
    "Occurrence.endsAt": "End time, local time; null if not said.",
    "Session.title": "Its name, as the provider wrote it.",
    "Session.description": "What happens, in the provider's words (plain text).",
    "Session.delivery": "Where it happens.",
    "Session.howToJoin": "What someone does to come.",
    "Session.capacity": "How many people it can take; null if not said.",
    "Session.updatedAt": "When the listing last changed.",
    "Session.cost": "What it costs.",
    "Session.whoFor": "Who it is for.",
    "Session.contact": "Who to ask; null when no contact was given (use the provider's).",
    "Session.provider": "The organisation that runs it.",
    "Session.venue": "Where it happens; null unless `delivery` is AT_VENUE.",
    "Session.domains": "The domains it belongs to, in a fixed order.",
    "Session.schedule": "When it runs: its recurrence rules.",
    "Session.breaks": "Dates it does not run, e.g. holidays.",
    "Session.nextOccurrences(first)": "How many dates: 5 when not given, from 1 to 20.",
    "Session.nextOccurrences(from)": "The first date to consider; today in England when not given.",
    "Provider.name": "The organisation's name.",
    "Provider.description": "What it does, in its words.",
    "Provider.kind": "The kind of organisation.",
    "Provider.relationship": "How it stands to its locality's lead provider.",
    "Provider.charityNumber": "Charity Commission registration number, if a charity.",
    "Provider.companyNumber": "Companies House number, if a company.",
    "Provider.website": "Its website, an http(s) URL.",
    "Provider.email": "Its public email address.",
    "Provider.phone": "Its public phone number, as written.",
    "Provider.listedBy": "Who put it in the directory.",
    "Provider.verification": "Whether a lead provider has checked it.",
    "Provider.verifiedAt": "When a lead provider checked it; null if never.",
    "Provider.sessions": "Its published sessions by title: at most the first 100.",
    "Provider.locality": "The locality it is based in; null if not known.",
    "NearInput.postcode": "A UK postcode ('NT1 1AA'), or give `latitude` and `longitude`.",
    "NearInput.latitude": "WGS 84 degrees, -90 to 90, with `longitude`.",
    "NearInput.longitude": "WGS 84 degrees, -180 to 180, with `latitude`.",
    "SessionFilter.domains": "In any of these domains.",
    "SessionFilter.localityId": "In this locality (its `Locality.id`).",
    "SessionFilter.providerId": "Run by this provider (its `Provider.id`).",
    "SessionFilter.daysOfWeek": "Running on any of these days.",
    "SessionFilter.timeOfDay": "Starting at any of these times of day.",
    "SessionFilter.free": "True: free ones only; false: paid ones only.",
    "SessionFilter.howToJoin": "Joined in any of these ways.",
    "ProviderFilter": "Every condition given must hold; lists match any of their values.",
    "ProviderFilter.text": "Words in the name or description (each word must appear).",
    "ProviderFilter.localityId": "Based in this locality (its `Locality.id`).",
    "ProviderFilter.domains": "Running sessions in any of these domains.",
    "ProviderFilter.kinds": "Of any of these kinds.",
    "ProviderFilter.listedBy": "Put in the directory this way.",
    "Query.sessions(filter)": "What to find; every published session when not given.",
    "Query.providers(filter)": "What to find; every published provider when not given.",
    "Query.node(id)": "A global ID (Session, Provider, Venue, Locality...).",
    "Query.session": "A published session by its ID; null when there is none (or it is not "
    "published).",
    "Query.session(id)": _GIVEN_ID.format("session"),
    "Query.provider": "A published provider by its ID; null when there is none (or it is not "
    "published).",
    "Query.provider(id)": _GIVEN_ID.format("provider"),
    "Query.localities": "Every locality, by name.",
    # --- Access ------------------------------------------------------------------------------
    "Role.GP_PRACTICE": "A GP practice: refers people and sees its own referrals.",
    "Role.LEAD_PROVIDER": "A lead provider: link workers, moderation, its localities' referrals.",
    "Role.PROVIDER": "A provider: the people signposted to its sessions, minimal detail.",
    "Role.COMMISSIONER": "A commissioner: reports only, never a person.",
    "Role.ADMIN": "An administrator: everything, including the audit log.",
    "Viewer.name": "The client's name, as created with `petunia clients create`.",
    "Viewer.role": "What it may see and do.",
    "Viewer.practiceOdsCode": "For GP_PRACTICE: its practice's ODS code.",
    "Viewer.providerName": "For LEAD_PROVIDER and PROVIDER: its provider's name.",
    # --- Audit -------------------------------------------------------------------------------
    "AuditEntry": "One read or change of a protected record.",
    "AuditEntry.at": "When it happened.",
    "AuditEntry.clientId": "The API client's number; null for the command line.",
    "AuditEntry.action": "What was done, e.g. 'referral.read'.",
    "AuditEntry.recordType": "The kind of record, e.g. 'referral'.",
    "AuditFilter": "Every condition given must hold.",
    "AuditFilter.clientId": "Done by this API client (its number).",
    "AuditFilter.since": "At or after this time.",
    "Query.auditLog(filter)": "Which entries; every one when not given.",
    # --- Registration and moderation ---------------------------------------------------------
    "ErrorCode": "Why an input was not accepted (registration and moderation).",
    "ErrorCode.REQUIRED": "The field must be given.",
    "ErrorCode.TOO_LONG": "Longer than allowed (the message gives the limit).",
    "ErrorCode.INVALID": "Not a value that can be used (the message says why).",
    "ErrorCode.DUPLICATE": "Looks like one already listed; resend with `confirmDifferent` if "
    "it is not.",
    "ErrorCode.RATE_LIMITED": "Too many tries from here; try again later.",
    "ErrorCode.NOT_FOUND": "No such record, or not yours to act on.",
    "ErrorCode.INVALID_STATE": "Not possible in the record's present state.",
    "RegistrationError.code": "Why, for code.",
    "RegistrationKind.NEW": "A new organisation.",
    "RegistrationKind.UPDATE": "Changes to one already listed.",
    "RegistrationKind.JOIN": "A new activity sent for an organisation already listed, by "
    "someone who is not its registered contact.",
    "RegistrationKind.ACCESS": "A request for an edit link of one's own to an organisation "
    "already listed.",
    "RegistrationStatus.AWAITING_CONFIRMATION": "Waiting for the emailed link to be followed.",
    "RegistrationStatus.PENDING_REVIEW": "In the lead provider's queue.",
    "RegistrationStatus.CHANGES_REQUESTED": "Sent back with a note (`decisionNote`).",
    "RegistrationStatus.APPROVED": "Published.",
    "RegistrationStatus.REJECTED": "Not published (`decisionNote` says why).",
    "Registration.kind": "A new organisation, or an update.",
    "Registration.status": "Where it is in its journey.",
    "Registration.organisation": "The organisation's name, as typed.",
    "Registration.postcode": "The postcode given, formatted; null if none (online, at home).",
    "Registration.createdAt": "When it was sent.",
    "Registration.confirmedAt": "When its email link was followed; null until then.",
    "Registration.decidedAt": "When it was approved, rejected or sent back; null until then.",
    "Registration.session": "The session its approval created or updated; null until then.",
    "TimesKind.TIMES": "On set days and times (give `days`, `startsAt`...).",
    "TimesKind.ASK": "By arrangement: people ask.",
    "RegisterProviderInput.organisation": "The organisation's name.",
    "RegisterProviderInput.title": "The activity's name.",
    "RegisterProviderInput.description": "What happens, for the people who might come.",
    "RegisterProviderInput.when": "Set times, or by arrangement.",
    "RegisterProviderInput.venueName": "With AT_VENUE: the venue's name.",
    "RegisterProviderInput.postcode": "With AT_VENUE: its UK postcode.",
    "RegisterProviderInput.address": "With AT_VENUE: the street address, without the postcode.",
    "RegisterProviderInput.accessibility": "With AT_VENUE: features the venue has.",
    "RegisterProviderInput.days": "With `when: TIMES`: the days it runs.",
    "RegisterProviderInput.endsAt": "With `when: TIMES`: when it ends ('11:30', '3pm').",
    "RegisterProviderInput.phone": "A public phone number.",
    "RegisterProviderInput.website": "Its website, an http(s) URL.",
    "RegisterProviderInput.free": "True (the default) when it costs nothing; false: give "
    "`costAmount`.",
    "RegisterProviderInput.costAmount": "With `free: false`: the price each time, in pounds "
    "('3.50').",
    "RegisterProviderInput.concessions": "Reduced prices, in words.",
    "RegisterProviderInput.whoFor": "Who it is for, in words.",
    "RegisterProviderInput.howToJoin": "What someone does to come.",
    "RegisterProviderPayload.registration": "The registration stored (or the one a retry "
    "with the same `submissionKey` found); null on errors.",
    "ModerationPayload.registration": "The registration as it is now; null on errors.",
    "RegisterProviderPayload": "What `registerProvider` returns.",
    "ModerationPayload": "What a moderation decision returns.",
    "ProblemReportPayload": "What `reportProblem` and `resolveProblemReport` return.",
    "RequestEditLinkPayload": "What `requestEditLink` returns: only `errors` (whether a "
    "listing has that address is not told).",
    "ReportProblemInput": "A problem with a listing, as a member of the public reports it.",
    "ReportProblemInput.providerId": "The listing's `Provider.id`.",
    "ReportProblemInput.sessionId": "The session it is about, if one (`Session.id`).",
    "ReportProblemInput.kind": "What is wrong.",
    "ReportProblemInput.details": "What is wrong, in words (optional).",
    "ProblemReportPayload.report": "The report as stored; null on errors.",
    "ProblemReport.kind": "What is wrong.",
    "ProblemReport.details": "The reporter's words.",
    "ProblemReport.status": "Open until a moderator resolves it.",
    "ProblemReport.createdAt": "When it was reported.",
    "ProblemReport.resolvedAt": "When it was resolved; null while open.",
    "ProblemReport.resolutionNote": "The moderator's note; null while open.",
    "ProblemReport.provider": "The listing it is about.",
    "ReportKind.CLOSED": "It has stopped running.",
    "ReportKind.WRONG_TIME": "The days or times are wrong.",
    "ReportKind.WRONG_CONTACT": "The contact details are wrong.",
    "ReportKind.OTHER": "Something else (see `details`).",
    "ReportStatus": "Whether a problem report is still open.",
    "ReportStatus.OPEN": "Waiting for a moderator.",
    "ReportStatus.RESOLVED": "Dealt with (see `resolutionNote`).",
    "Query.moderationQueue(status)": "Which statuses; PENDING_REVIEW when not given.",
    "Mutation.registerProvider(input)": "The form's answers.",
    "Mutation.requestEditLink(email)": "The listing's email address; a link is sent only if "
    "it matches one (the answer is the same either way).",
    "Mutation.approveRegistration(id)": _GIVEN_ID.format("registration"),
    "Mutation.requestChanges(id)": _GIVEN_ID.format("registration"),
    "Mutation.requestChanges(note)": "What to change, for the provider (sent by email).",
    "Mutation.rejectRegistration(id)": _GIVEN_ID.format("registration"),
    "Mutation.rejectRegistration(reason)": "Why, for the provider (sent by email).",
    "Mutation.reportProblem(input)": "The problem.",
    "Mutation.resolveProblemReport(id)": _GIVEN_ID.format("problem report"),
    "Mutation.resolveProblemReport(note)": "What was done, for the record.",
    # --- Relay -------------------------------------------------------------------------------
    "Node.id": _ID,
    "PageInfo.hasNextPage": "True when more follow this page: continue with `after: endCursor`.",
    "PageInfo.hasPreviousPage": "True when this page was asked for with `after`.",
    "PageInfo.startCursor": "The first edge's cursor; null for an empty page.",
    "PageInfo.endCursor": "The last edge's cursor (pass it as `after`); null for an empty page.",
}

_CONNECTION = re.compile(r"^(\w+)Connection$")
_EDGE = re.compile(r"^(\w+)Edge$")


def _generic(type_name: str, field: str | None) -> str | None:
    """What every connection, edge and payload has in common."""
    if match := _CONNECTION.match(type_name):
        thing = match.group(1)
        return {
            None: f"A page of {thing} results (Relay cursor connection): {_PAGE}.",
            "edges": f"This page: each {thing} with its cursor.",
            "pageInfo": "Whether pages follow, and the cursors to continue from.",
            "totalCount": "How many match in all, across every page (not only this one).",
        }.get(field)
    if match := _EDGE.match(type_name):
        thing = match.group(1)
        return {
            None: f"One {thing} on a page, with its cursor.",
            "cursor": f"Opaque: pass as `after` to continue after this {thing}; valid only "
            "for the connection and order that returned it.",
            "node": f"The {thing}.",
        }.get(field)
    if type_name.endswith("Payload") and field == "errors":
        return _ERRORS
    if field == "id":
        return _ID
    return None


def describe(schema: GraphQLSchema) -> set[str]:
    """Give every type, field, argument and enum value that has no description its entry;
    returns the entries left unused because the code describes the thing itself."""
    used: set[str] = set()

    def entry(path: str, own: str | None, fallback: str | None = None) -> str | None:
        if own:
            return own
        if path in DESCRIPTIONS:
            used.add(path)
            return DESCRIPTIONS[path]
        return fallback

    for name, type_ in schema.type_map.items():
        if name.startswith("__"):
            continue
        type_.description = entry(name, type_.description, _generic(name, None))
        if isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                value.description = entry(f"{name}.{value_name}", value.description)
        elif isinstance(type_, GraphQLInputObjectType):
            for field_name, field in type_.fields.items():
                field.description = entry(f"{name}.{field_name}", field.description)
        elif isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                path = f"{name}.{field_name}"
                field.description = entry(path, field.description, _generic(name, field_name))
                for arg_name, arg in field.args.items():
                    arg.description = entry(f"{path}({arg_name})", arg.description)
    return set(DESCRIPTIONS) - used


def paths(schema: GraphQLSchema) -> set[str]:
    """Every path a description can be given to, in ``DESCRIPTIONS``' form."""
    found: set[str] = set()
    for name, type_ in schema.type_map.items():
        if name.startswith("__"):
            continue
        found.add(name)
        if isinstance(type_, GraphQLEnumType):
            found.update(f"{name}.{value}" for value in type_.values)
        elif isinstance(type_, GraphQLInputObjectType):
            found.update(f"{name}.{field}" for field in type_.fields)
        elif isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                found.add(f"{name}.{field_name}")
                found.update(f"{name}.{field_name}({arg})" for arg in field.args)
    return found
