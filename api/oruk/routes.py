"""The Open Referral UK read API at /oruk/ (open to any origin: CORS ``*``).

    GET /oruk/                          what this API is (HSDS version, profile)
    GET /oruk/services                  ?search= &taxonomy_term_id= &taxonomy_id= &day=
                                        &page= &per_page=
    GET /oruk/services/{id}             one service, fully nested
    GET /oruk/service_at_locations      the same filters, and ?postcode= &proximity= (metres):
                                        nearest first
    GET /oruk/taxonomies, /oruk/taxonomies/{id}, /oruk/taxonomy_terms, /oruk/taxonomy_terms/{id}

Lists use the ORUK page envelope. A bad parameter is a 400 with ``{"error", "field"}``.
Only the public directory is served (published, and not hidden for age).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import orm, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.config import Settings
from api.db import Database
from api.directory.enums import Domain, Weekday
from api.directory.models import Provider, Session
from api.directory.postcodes import InvalidPostcode, UnknownPostcode, locate
from api.directory.public import (
    FreshnessPolicy,
    public_provider_filter,
    read_public_directory,
)
from api.directory.search import Near, SessionQuery, search_sessions
from api.limits import BodyLimit
from api.oruk.mapping import OPENAPI_URL, PROFILE_URL, OrukMapper, page_envelope

MAX_PER_PAGE = 100
DEFAULT_PROXIMITY_M = 5000
MAX_PROXIMITY_M = 50000
_DAYS = {d.value: d for d in Weekday} | {
    name.upper(): d
    for d, name in zip(
        Weekday,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
}


class BadParameter(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Europe/London")).date()


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, f"{name} must be a whole number, not '{raw}'") from None
    if not low <= value <= high:
        raise BadParameter(name, f"{name} must be between {low} and {high}")
    return value


class OrukApi:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.policy = FreshnessPolicy.of(settings)

    def mapper(self, db: orm.Session, session_ids: list[int] | None, today: dt.date) -> OrukMapper:
        directory = read_public_directory(
            db, today=today, policy=self.policy, session_ids=session_ids
        )
        return OrukMapper(directory, self.settings.public_url, self.settings.resolved_site_url)

    def _domains(self, request: Request, mapper_ids: Any) -> list[Domain]:
        domains: list[Domain] = []
        term = request.query_params.get("taxonomy_term_id")
        if term:
            found = [d for d in Domain if mapper_ids.term(d) == term or d.value == term]
            if not found:
                raise BadParameter("taxonomy_term_id", f"no taxonomy term has the id '{term}'")
            domains += found
        taxonomy = request.query_params.get("taxonomy_id")
        if taxonomy and taxonomy != mapper_ids.taxonomy():
            raise BadParameter("taxonomy_id", f"no taxonomy has the id '{taxonomy}'")
        return domains

    def _query(
        self, request: Request, db: orm.Session, today: dt.date, *, near_ok: bool
    ) -> SessionQuery:
        from api.oruk.mapping import Ids

        ids = Ids(self.settings.public_url)
        days = []
        for raw in filter(None, (request.query_params.get("day") or "").split(",")):
            day = _DAYS.get(raw.strip().upper())
            if day is None:
                raise BadParameter("day", f"day must be MO..SU or Monday..Sunday, not '{raw}'")
            days.append(day)
        near = None
        postcode = request.query_params.get("postcode")
        proximity = request.query_params.get("proximity")
        if near_ok and (postcode or proximity):
            if not postcode:
                raise BadParameter("postcode", "proximity needs a postcode to measure from")
            try:
                lat, lon = locate(db, postcode)
            except (InvalidPostcode, UnknownPostcode) as exc:
                raise BadParameter("postcode", str(exc)) from None
            metres = DEFAULT_PROXIMITY_M
            if proximity:
                try:
                    metres = float(proximity)
                except ValueError:
                    raise BadParameter(
                        "proximity", f"proximity is a distance in metres, not '{proximity}'"
                    ) from None
                if not 0 < metres <= MAX_PROXIMITY_M:
                    raise BadParameter(
                        "proximity", f"proximity must be between 1 and {MAX_PROXIMITY_M} metres"
                    )
            near = Near(lat, lon, metres / 1000)
        return SessionQuery(
            text=request.query_params.get("search") or None,
            domains=self._domains(request, ids),
            days=days,
            near=near,
            confirmed_since=self.policy.hidden_before(today),
        )

    async def _run(self, fn: Any) -> Response:
        try:
            return await self.db.run_sync(fn)
        except BadParameter as exc:
            return JSONResponse({"error": str(exc), "field": exc.field}, status_code=400)

    async def root(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "version": "3.0",
                "profile": PROFILE_URL,
                "openapi_url": OPENAPI_URL,
            }
        )

    async def services(self, request: Request) -> Response:
        return await self._list(request, sal=False)

    async def service_at_locations(self, request: Request) -> Response:
        return await self._list(request, sal=True)

    async def _list(self, request: Request, *, sal: bool) -> Response:
        def work(db: orm.Session) -> Response:
            today = _today()
            page = _int(request, "page", 1, 1, 1_000_000)
            per_page = _int(request, "per_page", 20, 1, MAX_PER_PAGE)
            query = self._query(request, db, today, near_ok=sal)
            found = search_sessions(db, query, offset=(page - 1) * per_page, limit=per_page)
            mapper = self.mapper(db, found.items, today)
            sessions = [mapper.d.sessions[i] for i in found.items if i in mapper.d.sessions]
            if sal:
                # Sessions at people's homes have no location: a page lists the others.
                items = [mapper.service_at_location(s, full=False) for s in sessions]
                contents = [x for x in items if x]
            else:
                contents = [mapper.service_summary(s) for s in sessions]
            return JSONResponse(
                page_envelope(contents, total=found.total, page=page, per_page=per_page)
            )

        return await self._run(work)

    async def service(self, request: Request) -> Response:
        wanted = request.path_params["id"]

        def work(db: orm.Session) -> Response:
            from api.oruk.mapping import Ids

            today = _today()
            ids = Ids(self.settings.public_url)
            rows = db.execute(
                select(Session.id, Provider.key, Session.key)
                .join(Provider, Provider.id == Session.provider_id)
                .where(public_provider_filter(today, self.policy))
            )
            match = next((sid for sid, pk, sk in rows if ids.service(pk, sk) == wanted), None)
            if match is None:
                return JSONResponse({"error": f"no service has the id '{wanted}'"}, 404)
            mapper = self.mapper(db, [match], today)
            return JSONResponse(mapper.service(mapper.d.sessions[match]))

        return await self._run(work)

    async def taxonomies(self, request: Request) -> Response:
        return await self._taxonomy(request, terms=False)

    async def taxonomy_terms(self, request: Request) -> Response:
        return await self._taxonomy(request, terms=True)

    async def _taxonomy(self, request: Request, *, terms: bool) -> Response:
        wanted = request.path_params.get("id")

        def work(db: orm.Session) -> Response:
            mapper = self.mapper(db, [], _today())
            if terms:
                items = [mapper.term(d) for d in Domain]
            else:
                taxonomy = mapper.taxonomy()
                taxonomy["taxonomy_terms"] = [mapper.term(d) for d in Domain]
                items = [taxonomy]
            if wanted is not None:
                found = next((x for x in items if x["id"] == wanted), None)
                if found is None:
                    return JSONResponse({"error": f"nothing has the id '{wanted}'"}, 404)
                return JSONResponse(found)
            if not terms:
                items = [{k: v for k, v in x.items() if k != "taxonomy_terms"} for x in items]
            page = _int(request, "page", 1, 1, 1_000_000)
            per_page = _int(request, "per_page", 20, 1, MAX_PER_PAGE)
            chunk = items[(page - 1) * per_page : page * per_page]
            return JSONResponse(
                page_envelope(chunk, total=len(items), page=page, per_page=per_page)
            )

        return await self._run(work)


def oruk_app(db: Database, settings: Settings) -> Starlette:
    api = OrukApi(db, settings)
    return Starlette(
        routes=[
            Route("/", api.root),
            Route("/services", api.services),
            Route("/services/{id}", api.service),
            Route("/service_at_locations", api.service_at_locations),
            Route("/taxonomies", api.taxonomies),
            Route("/taxonomies/{id}", api.taxonomies),
            Route("/taxonomy_terms", api.taxonomy_terms),
            Route("/taxonomy_terms/{id}", api.taxonomy_terms),
        ],
        middleware=[
            Middleware(
                CORSMiddleware, allow_origins=["*"], allow_methods=["GET"], allow_headers=["*"]
            ),
            # Reads no body, so it never reads more than the limit of one it is sent.
            Middleware(BodyLimit, errors="oruk"),
        ],
    )
