"""Server-rendered HTML pages: registration, listing upkeep, staff sign-in and accounts, and
moderation. They work with JavaScript off and follow the GOV.UK Design System's patterns;
the logic is in the domains."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from api.web import (
    equality_pages,
    listing_moderation,
    moderation,
    outcome_pages,
    plan_pages,
    practice_pages,
    referral_pages,
    register_pages,
    registration,
    report_pages,
    staff_accounts,
    staff_auth,
    stopping_pages,
)
from api.web.common import HERE


def routes() -> list[BaseRoute]:
    return [
        *registration.routes(),
        *moderation.routes(),
        *stopping_pages.routes(),
        *listing_moderation.routes(),
        *staff_auth.routes(),
        *staff_accounts.routes(),
        *referral_pages.routes(),
        *practice_pages.routes(),
        *outcome_pages.routes(),
        *plan_pages.routes(),
        *equality_pages.routes(),
        *report_pages.routes(),
        *register_pages.routes(),
        Mount("/forms/assets", StaticFiles(directory=HERE / "static"), name="forms-assets"),
    ]
