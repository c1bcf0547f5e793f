"""The Open Referral UK read API at /oruk/ (open to any origin: CORS ``*``).

    GET /oruk/                          what this API is (HSDS version, profile, OpenAPI URL)
    GET /oruk/openapi.json              the OpenAPI document (api/oruk/openapi.py)
    GET /oruk/services                  ?search= &taxonomy_term_id= &taxonomy_id= &day=
                                        &minimum_age= &maximum_age= &start_time= &end_time=
                                        &modified_after= &organization_id= &page= &per_page=
    GET /oruk/services/{id}             one service, fully nested
    GET /oruk/service_at_locations      the same filters, and ?postcode= &proximity= (metres):
                                        nearest first
    GET /oruk/service_at_locations/{id} one service at its location, fully nested
    GET /oruk/organizations             ?search= &page= &per_page=
    GET /oruk/organizations/{id}        one organization with its identifiers and services
    GET /oruk/taxonomies, /oruk/taxonomies/{id}, /oruk/taxonomy_terms, /oruk/taxonomy_terms/{id}

Lists use the ORUK page envelope, whose totals count exactly what the pages hold. A bad or
empty parameter is a 400 with ``{"error", "field"}``; an unknown id or path a JSON 404.
Only the public directory is served (published, and not hidden for age).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import orm, select
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.config import Settings
from api.db import Database
from api.directory.enums import Domain
from api.directory.models import Provider, Session
from api.directory.postcodes import InvalidPostcode, UnknownPostcode, locate
from api.directory.public import (
    FreshnessPolicy,
    public_provider_filter,
    public_session_filter,
    read_public_directory,
)
from api.directory.search import (
    Near,
    ProviderQuery,
    SessionQuery,
    search_providers,
    search_sessions,
)
from api.limits import BodyLimit
from api.oruk.mapping import Ids, OrukMapper, api_index, page_envelope
from api.oruk.openapi import openapi_document
from api.oruk.parameters import MAX_PROXIMITY_M, PATTERNS, SCHEMAS, BadParameter, Parameters

DEFAULT_PROXIMITY_M = 5000


class NothingMatches(Exception):
    """A filter names something well formed that is not here: the list is empty."""


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/London")).date()


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

    def _domains(self, params: Parameters, ids: Ids) -> list[Domain]:
        # Both read (and a bad value refused with its 400) before either can match nothing.
        term = params.matching(
            "taxonomy_term_id", PATTERNS["term"], "a taxonomy term's id or a domain's code"
        )
        taxonomy = params.uuid("taxonomy_id")
        domains: list[Domain] = []
        if term:
            found = [d for d in Domain if ids.term(d) == term.lower() or d.value == term]
            if not found:
                raise NothingMatches()
            domains += found
        if taxonomy and taxonomy != ids.taxonomy():
            raise NothingMatches()
        return domains

    def _organization(self, params: Parameters, db: orm.Session, ids: Ids) -> int | None:
        wanted = params.uuid("organization_id")
        if wanted is None:
            return None
        rows = db.execute(
            select(Provider.id, Provider.key).where(public_provider_filter(_today(), self.policy))
        )
        found = next((pid for pid, key in rows if ids("organization", key) == wanted), None)
        if found is None:
            raise NothingMatches()
        return found

    def _near(self, params: Parameters, db: orm.Session) -> Near | None:
        postcode = params.given("postcode")
        proximity = params.matching(
            "proximity", SCHEMAS["proximity"]["pattern"], "a distance in metres"
        )
        if not (postcode or proximity):
            return None
        if not postcode:
            raise BadParameter("postcode", "proximity needs a postcode to measure from")
        try:
            lat, lon = locate(db, postcode)
        except (InvalidPostcode, UnknownPostcode) as exc:
            raise BadParameter("postcode", str(exc)) from None
        metres = float(proximity) if proximity else DEFAULT_PROXIMITY_M
        if not 1 <= metres <= MAX_PROXIMITY_M:
            raise BadParameter(
                "proximity", f"proximity must be between 1 and {MAX_PROXIMITY_M} metres"
            )
        return Near(lat, lon, metres / 1000)

    def _query(
        self, params: Parameters, db: orm.Session, today: dt.date, *, sal: bool
    ) -> SessionQuery:
        # Every value is checked before any is looked up, so that a bad one is always a 400
        # (and never hidden behind an id that matches nothing).
        query = SessionQuery(
            text=params.query.get("search") or None,
            days=params.days(),
            confirmed_since=self.policy.hidden_before(today),
            minimum_age_at_least=params.age("minimum_age"),
            maximum_age_at_most=params.age("maximum_age"),
            starts_from=params.time_of_day("start_time"),
            ends_by=params.time_of_day("end_time"),
            modified_since=params.instant("modified_after"),
            # A service at a location needs a location: leave out sessions at people's
            # homes, so that totals count what the pages hold.
            located=sal,
        )
        ids = Ids(self.settings.public_url)
        domains = self._domains(params, ids)
        provider_id = self._organization(params, db, ids)
        return replace(
            query,
            domains=domains,
            provider_id=provider_id,
            near=self._near(params, db) if sal else None,
        )

    async def _run(self, fn: Any) -> Response:
        try:
            return await self.db.run_sync(fn)
        except BadParameter as exc:
            return JSONResponse({"error": str(exc), "field": exc.field}, status_code=400)

    async def root(self, _request: Request) -> Response:
        return JSONResponse(api_index(self.settings.public_url))

    async def openapi(self, _request: Request) -> Response:
        return JSONResponse(openapi_document(self.settings.public_url))

    async def services(self, request: Request) -> Response:
        return await self._list(request, sal=False)

    async def service_at_locations(self, request: Request) -> Response:
        return await self._list(request, sal=True)

    async def _list(self, request: Request, *, sal: bool) -> Response:
        def work(db: orm.Session) -> Response:
            today = _today()
            params = Parameters(request.query_params)
            page, per_page = params.page()
            try:
                query = self._query(params, db, today, sal=sal)
            except NothingMatches:
                return JSONResponse(page_envelope([], total=0, page=page, per_page=per_page))
            found = search_sessions(db, query, offset=(page - 1) * per_page, limit=per_page)
            mapper = self.mapper(db, found.items, today)
            sessions = [mapper.d.sessions[i] for i in found.items if i in mapper.d.sessions]
            if sal:
                items = [mapper.service_at_location(s, full=False) for s in sessions]
                contents = [x for x in items if x]
                # The query kept only sessions with a location: none may be left out here.
                assert len(contents) == len(items), "a service at a location had none"
            else:
                contents = [mapper.service_summary(s) for s in sessions]
            return JSONResponse(
                page_envelope(contents, total=found.total, page=page, per_page=per_page)
            )

        return await self._run(work)

    def _public_session(
        self, db: orm.Session, today: dt.date, kind: str, wanted: str
    ) -> int | None:
        """The id of the public session whose ``kind`` record ("service" or
        "service_at_location") has the id ``wanted``."""
        ids = Ids(self.settings.public_url)
        rows = db.execute(
            select(Session.id, Provider.key, Session.key)
            .join(Provider, Provider.id == Session.provider_id)
            .where(public_provider_filter(today, self.policy), public_session_filter())
        )
        return next((sid for sid, pk, sk in rows if ids(kind, pk, sk) == wanted), None)

    async def service(self, request: Request) -> Response:
        wanted = request.path_params["id"]

        def work(db: orm.Session) -> Response:
            today = _today()
            match = self._public_session(db, today, "service", wanted)
            if match is None:
                return _not_found(f"no service has the id '{wanted}'")
            mapper = self.mapper(db, [match], today)
            return JSONResponse(mapper.service(mapper.d.sessions[match]))

        return await self._run(work)

    async def service_at_location(self, request: Request) -> Response:
        wanted = request.path_params["id"]

        def work(db: orm.Session) -> Response:
            today = _today()
            match = self._public_session(db, today, "service_at_location", wanted)
            mapper = self.mapper(db, [match] if match else [], today)
            found = (
                mapper.service_at_location(mapper.d.sessions[match], full=True) if match else None
            )
            if found is None:
                return _not_found(f"no service at a location has the id '{wanted}'")
            found["service"] = mapper.service(mapper.d.sessions[match])
            found["service"].pop("service_at_locations", None)
            return JSONResponse(found)

        return await self._run(work)

    async def organizations(self, request: Request) -> Response:
        def work(db: orm.Session) -> Response:
            today = _today()
            page, per_page = Parameters(request.query_params).page()
            found = search_providers(
                db,
                ProviderQuery(text=request.query_params.get("search") or None),
                offset=(page - 1) * per_page,
                limit=per_page,
                public=public_provider_filter(today, self.policy),
            )
            mapper = self.mapper(db, [], today)
            contents = [mapper.organization(p) for p in found.items]
            return JSONResponse(
                page_envelope(contents, total=found.total, page=page, per_page=per_page)
            )

        return await self._run(work)

    async def organization(self, request: Request) -> Response:
        wanted = request.path_params["id"]

        def work(db: orm.Session) -> Response:
            today = _today()
            ids = Ids(self.settings.public_url)
            providers = db.scalars(
                select(Provider).where(public_provider_filter(today, self.policy))
            )
            provider = next((p for p in providers if ids("organization", p.key) == wanted), None)
            if provider is None:
                return _not_found(f"no organization has the id '{wanted}'")
            session_ids = db.scalars(
                select(Session.id)
                .where(Session.provider_id == provider.id, public_session_filter())
                .order_by(Session.title)
            ).all()
            mapper = self.mapper(db, list(session_ids), today)
            data = mapper.organization(provider, full=True)
            services = []
            for sid in session_ids:
                if sid in mapper.d.sessions:
                    summary = mapper.service_summary(mapper.d.sessions[sid])
                    summary.pop("organization", None)
                    services.append(summary)
            data["services"] = services
            return JSONResponse(data)

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
                    what = "taxonomy term" if terms else "taxonomy"
                    return _not_found(f"no {what} has the id '{wanted}'")
                return JSONResponse(found)
            if not terms:
                items = [{k: v for k, v in x.items() if k != "taxonomy_terms"} for x in items]
            page, per_page = Parameters(request.query_params).page()
            chunk = items[(page - 1) * per_page : page * per_page]
            return JSONResponse(
                page_envelope(chunk, total=len(items), page=page, per_page=per_page)
            )

        return await self._run(work)


def _not_found(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=404)


async def _http_error(_request: Request, exc: Exception) -> Response:
    # Unknown paths and methods answer in JSON too, like everything else here.
    assert isinstance(exc, HTTPException)
    message = {404: "nothing here: see /oruk/openapi.json for the paths"}.get(
        exc.status_code, str(exc.detail)
    )
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


def oruk_app(db: Database, settings: Settings) -> Starlette:
    api = OrukApi(db, settings)
    return Starlette(
        routes=[
            Route("/", api.root),
            Route("/openapi.json", api.openapi),
            Route("/services", api.services),
            Route("/services/{id}", api.service),
            Route("/service_at_locations", api.service_at_locations),
            Route("/service_at_locations/{id}", api.service_at_location),
            Route("/organizations", api.organizations),
            Route("/organizations/{id}", api.organization),
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
        exception_handlers={HTTPException: _http_error},
    )
