"""The ASGI app: the REST API under ``/api/v1``, the pages, static files and Swagger UI at ``/docs``.

``create_app(settings)`` builds one app on one store. ``onpace serve --workers N`` runs it in N
processes (through :func:`serve_app`); or use uvicorn's factory mode::

    uvicorn --factory onpace.app:serve_app --host 127.0.0.1 --port 8000 --workers 2

The settings come from the environment (``ONPACE_DATABASE_URL``, ``ONPACE_SECRET_KEY`` …)
unless given. The app never migrates the store: run ``onpace db upgrade`` first.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from onpace.api import (
    errors,
    routes_approvals,
    routes_cases,
    routes_data,
    routes_metrics,
    routes_model,
    routes_orgs,
)
from onpace.api.security import SessionSigner
from onpace.api.state import AppState
from onpace.api.text_guard import refuse_nul
from onpace.config import Settings, SettingsError, get_settings
from onpace.errors import UserError
from onpace.storage.db import make_engine, make_session_factory
from onpace.web import account_pages, cycle_pages, organisations, pages, sign_in_pages, sign_on
from onpace.web.routers import ROUTERS
from onpace.web.security_headers import SecurityHeaders

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"
API_PREFIX = "/api/"
WORKER_THREADS = 8
POOL_SIZE = WORKER_THREADS
POOL_OVERFLOW = 8
MAX_DEFAULT_WORKERS = 4

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>onpace API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script nonce="{nonce}" src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script nonce="{nonce}" src="/static/docs.js"></script>
</body></html>
"""


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Return the onpace ASGI app on the store named by ``settings`` (or on ``engine``).

    Raise :class:`~onpace.config.SettingsError` when no secret key is set: sessions must be signed.
    """
    settings = settings or get_settings()
    secret_key = require_secret_key(settings)
    # One pooled connection per worker thread, so requests never queue for a connection while
    # a thread is free.
    engine = engine or make_engine(settings.database_url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    app = FastAPI(
        lifespan=_lifespan,
        title="onpace",
        summary="Strategy execution: OKRs bound to KPIs, planned vs actual, variance cases.",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(refuse_nul)],
    )
    app.state.onpace = AppState(settings, engine, make_session_factory(engine))
    app.state.signer = SessionSigner(secret_key, secure=settings.base_url.startswith("https://"))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(routes_model.router)
    app.include_router(routes_cases.router)
    app.include_router(routes_data.router)
    app.include_router(routes_approvals.router)
    app.include_router(sign_in_pages.router)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(account_pages.router)
    app.add_middleware(SecurityHeaders, https=settings.base_url.startswith("https://"))
    app.include_router(routes_metrics.router)
    app.include_router(sign_on.router)
    app.include_router(routes_orgs.router)
    app.include_router(organisations.router)
    app.add_middleware(routes_metrics.RequestMetrics)
    app.include_router(cycle_pages.router)

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE.format(nonce=request.state.csp_nonce))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True})

    _install_error_handlers(app)
    return app


def serve_app() -> FastAPI:
    """Return the app as ``onpace serve`` runs it in each worker process (a uvicorn factory).

    After the app is built, everything alive — modules, schemas, routes, templates, all kept for
    the life of the process — is frozen out of the garbage collector's sight. Its full passes,
    which pause every request in flight, then scan only what requests and caches made since:
    on the 1,000-KPI benchmark a pass drops from about 100 ms to 10–20 ms.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    return app


def default_workers() -> int:
    """Return how many server processes ``onpace serve`` runs by default: one per usable CPU, at most 4.

    Requests are CPU-bound under the GIL, so one process per core serves the most; the cap keeps
    the connections of every process's pool (up to 16 each) well within PostgreSQL's default
    limit of 100.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


def require_secret_key(settings: Settings) -> str:
    """Return the key that signs session cookies; raise SettingsError when it is unset or short."""
    if settings.secret_key is None or len(settings.secret_key.get_secret_value()) < 16:
        raise SettingsError("ONPACE_SECRET_KEY must be set (at least 16 characters) to sign session cookies")
    return settings.secret_key.get_secret_value()


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Few worker threads: requests are short and CPU-bound under the GIL, and 40 threads
    # contending for it serve a burst slower and less fairly than a short queue does.
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    yield


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _install_error_handlers(app: FastAPI) -> None:
    async def on_validation(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return await errors.validation_handler(request, exc)
        return pages.error_page(request, 422, _validation_message(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return await errors.http_handler(request, exc)
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 401:
            return pages.to_login(request)
        return pages.error_page(request, exc.status_code, str(exc.detail))

    async def on_user_error(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return await errors.user_error_handler(request, exc)
        return pages.error_page(request, 400, str(exc))

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)

    async def on_store_unavailable(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return await errors.unavailable_handler(request, exc)
        status, message, headers = errors.unavailable_response(exc)
        page = pages.error_page(request, status, message)
        page.headers.update(headers)
        return page

    app.add_exception_handler(UserError, on_user_error)
    # A busy or unreachable store is not a bug: 503 with Retry-After, never 500.
    app.add_exception_handler(OperationalError, on_store_unavailable)
    app.add_exception_handler(PoolTimeoutError, on_store_unavailable)


def _validation_message(exc: Exception) -> str:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    return "; ".join(errors.describe(e) for e in problems[:5]) or "the form is not valid"
