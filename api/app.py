"""The ASGI application: GraphQL at /graphql, health at /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cross_web import HTTPException
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.types.unset import UNSET
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.access.tokens import authenticate
from api.caching import GRAPHQL_ERRORS, public_reads, server_token
from api.config import Settings, get_settings
from api.db import Database
from api.graphql.context import Context
from api.graphql.http import RequestLimits
from api.graphql.persisted import PersistedQueries, PersistedQueryError
from api.graphql.schema import build_schema
from api.health import healthz
from api.logs import protect as protect_logs
from api.oruk.routes import oruk_app
from api.web import routes as web_routes
from api.web.headers import SecurityHeaders, SiteHeaders
from api.web.site import SiteFiles

# GraphiQL's files, vendored from npm by scripts/vendor-graphiql: nothing from a CDN.
GRAPHIQL = Path(__file__).resolve().parent / "graphql" / "graphiql"


class DatabaseUnavailable(Exception):
    """The database could not be reached before the operation ran (checking a token)."""


class PetuniaGraphQL(RequestLimits, GraphQL[Context, None]):
    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(
            build_schema(production=settings.production),
            graphql_ide="graphiql" if settings.serve_graphiql else None,
            allow_queries_via_get=True,
        )
        self.db = db
        self.settings = settings
        self.persisted = PersistedQueries()

    async def parse_http_body(self, request: Any) -> Any:
        # Persisted queries (api/graphql/persisted.py): a hash in place of the query text.
        data = await super().parse_http_body(request)
        if isinstance(data, list):
            return [self.persisted.resolve(item) for item in data]
        return self.persisted.resolve(data)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET with only a persisted query's hash is a query, not a visit to GraphiQL.
        wanted = super().should_render_graphql_ide(request)
        return wanted and request.query_params.get("extensions") is None

    async def process_result(self, request: Any, result: Any) -> Any:
        if result.errors:  # an answer with errors is not kept by caches (api/caching.py)
            request.scope[GRAPHQL_ERRORS] = True
        return await super().process_result(request, result)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(
            db=self.db,
            settings=self.settings,
            request=request if isinstance(request, Request) else None,
            response=response,
        )
        header = request.headers.get("authorization")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                context.auth_problem = "use `Authorization: Bearer <token>`"
            else:
                try:
                    context.principal = await self.db.run_sync_write(
                        lambda db: authenticate(db, token.strip())
                    )
                except OperationalError as exc:
                    raise DatabaseUnavailable() from exc
                if context.principal is None:
                    context.auth_problem = (
                        "this token is not valid: it may be mistyped, rotated or revoked"
                    )
        return context

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context=context, root_value=root_value)
        except PersistedQueryError as exc:
            # Apollo's clients read these (200, a GraphQL error), and the request scope
            # marks it as not to be cached.
            request.scope[GRAPHQL_ERRORS] = True
            return JSONResponse(exc.body())
        except DatabaseUnavailable:
            # A GraphQL answer, as for any other error, and 503 so clients and proxies retry.
            return JSONResponse(UNAVAILABLE, status_code=503, headers={"Retry-After": "5"})
        except HTTPException as exc:
            # A request GraphQL cannot read (not UTF-8, not a JSON object, nested too deep, no
            # query...): the same shape as every other error, not strawberry's plain text.
            body = {
                "data": None,
                "errors": [{"message": exc.reason, "extensions": {"code": "BAD_REQUEST"}}],
            }
            return JSONResponse(body, status_code=exc.status_code)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse((GRAPHIQL / "index.html").read_text())


UNAVAILABLE = {
    "data": None,
    "errors": [
        {
            "message": "The service cannot reach its database just now: try again shortly.",
            "extensions": {"code": "SERVICE_UNAVAILABLE"},
        }
    ],
}


def create_app(settings: Settings | None = None, db: Database | None = None) -> Starlette:
    settings = settings or get_settings()
    settings.check_production()  # secrets, an https:// public URL: at start, not first use
    db = db or Database.from_url(settings.resolved_database_url)
    protect_logs()  # however the app is started (api/logs.py)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        db.dispose()

    graphql = PetuniaGraphQL(db, settings)
    # What decides a public answer besides the data: the code and these settings (ETags).
    token = server_token(
        settings.public_url,
        settings.resolved_site_url,
        settings.site_stale_after_days,
        settings.site_hide_after_days,
    )
    graphiql_on = settings.serve_graphiql
    app = Starlette(
        routes=[
            # Compression, ETags and 304s for public reads (api/caching.py).
            Route(
                "/graphql",
                public_reads(graphql, db, token, graphql=True),
                methods=["GET", "POST"],
            ),
            Route("/healthz", healthz(db)),
            *web_routes(),
            Mount("/oruk", app=public_reads(oruk_app(db, settings), db, token, graphql=False)),
            *(_benchmark_routes(db) if settings.benchmark_routes else []),
            *([Mount("/graphiql", app=StaticFiles(directory=GRAPHIQL))] if graphiql_on else []),
            # The public directory site (`petunia build-site`): last, so every route above
            # wins. It may be built after the app starts (api/web/site.py); its own
            # headers file (a CSP with the theme's inline-script hashes) goes with it.
            Mount(
                "/",
                app=SiteHeaders(SiteFiles(settings.resolved_site_dir), settings.resolved_site_dir),
                name="site",
            ),
        ],
        middleware=[
            # Security headers on every response (api/web/headers.py).
            Middleware(SecurityHeaders),
            # X-Forwarded-For / -Proto only from the proxies in PETUNIA_TRUSTED_PROXIES.
            *(
                [Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)]
                if settings.trusted_proxy_list
                else []
            ),
            # Signed cookie for form CSRF tokens and notices of the HTML pages; staff sessions
            # are held on the server (api/staff/signin.py, cookie petunia_staff).
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret("secret_key"),
                session_cookie="petunia_session",
                max_age=12 * 60 * 60,
                same_site="lax",
                https_only=settings.public_url.startswith("https://"),
            ),
        ],
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.settings = settings
    return app


def _benchmark_routes(db: Database) -> list[Any]:
    # benchmarks/http_latency.py's baseline, on the same server as what it is compared with.
    from benchmarks.http_latency import baseline_routes

    return baseline_routes(db)
