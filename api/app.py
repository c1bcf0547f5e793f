"""The ASGI application: GraphQL at /graphql, health at /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.access.tokens import authenticate
from api.config import Settings, get_settings
from api.db import Database
from api.graphql.context import Context
from api.graphql.schema import build_schema
from api.oruk.routes import oruk_app
from api.web import routes as web_routes


class PetuniaGraphQL(GraphQL[Context, None]):
    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(
            build_schema(production=settings.production),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
        )
        self.db = db
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(
            db=self.db,
            settings=self.settings,
            request=request if isinstance(request, Request) else None,
        )
        header = request.headers.get("authorization")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                context.auth_problem = "use `Authorization: Bearer <token>`"
            else:
                context.principal = await self.db.run_sync_write(
                    lambda db: authenticate(db, token.strip())
                )
                if context.principal is None:
                    context.auth_problem = (
                        "this token is not valid: it may be mistyped, rotated or revoked"
                    )
        return context


# Secrets the service cannot run without in production: checked at start, not first use.
REQUIRED_SECRETS = ("secret_key", "encryption_key")


def create_app(settings: Settings | None = None, db: Database | None = None) -> Starlette:
    settings = settings or get_settings()
    if settings.production:
        for name in REQUIRED_SECRETS:
            settings.secret(name)  # raises MissingSecret naming the variable to set
    db = db or Database.from_url(settings.resolved_database_url)

    async def healthz(_request: Request) -> Response:
        try:
            await db.run_sync(lambda s: s.execute(_SELECT_1))
        except Exception:  # noqa: BLE001 - health reports, it does not raise
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        db.dispose()

    graphql = PetuniaGraphQL(db, settings)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            *web_routes(),
            Mount("/oruk", app=oruk_app(db, settings)),
            # The public directory site (`petunia build-site`): last, so every route above
            # wins. check_dir=False: the site may be built after the app starts.
            Mount(
                "/",
                app=StaticFiles(directory=settings.resolved_site_dir, html=True, check_dir=False),
                name="site",
            ),
        ],
        middleware=[
            # Signed cookie for form CSRF tokens and notices of the HTML pages; staff sessions
            # are held on the server (api/staff/signin.py, cookie petunia_staff).
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret("secret_key"),
                session_cookie="petunia_session",
                max_age=12 * 60 * 60,
                same_site="lax",
                https_only=settings.public_url.startswith("https://"),
            )
        ],
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.settings = settings
    return app


def _select_1() -> Any:
    from sqlalchemy import text

    return text("SELECT 1")


_SELECT_1 = _select_1()
