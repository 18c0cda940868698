"""``GET /metrics`` (Prometheus text format) and the middleware that counts every request.

Who may read it: a request from the loopback interface that came through no proxy (the
scraper runs beside the server), or an admin (session or token). A loopback request carrying
``X-Forwarded-For`` or ``Forwarded`` came through a proxy on this machine and counts as remote.
An admin sees the store's figures of their own organisation only; the loopback scraper sees all.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onpace import metrics
from onpace.api.deps import db, now, optional_principal
from onpace.services.auth import Principal
from onpace.storage.repositories.metrics_repo import store_counts

router = APIRouter(include_in_schema=False)
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
UNMATCHED = "unmatched"


class RequestMetrics:
    """Count each HTTP request by its route template (not its path: ids would explode the series)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, noting its status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            route = scope.get("route")
            template = str(getattr(route, "path", UNMATCHED)) if route is not None else UNMATCHED
            metrics.REQUESTS.labels(template, scope["method"], str(status)).inc()
            metrics.REQUEST_SECONDS.labels(template).observe(time.perf_counter() - start)


def from_loopback(request: Request) -> bool:
    """Return whether the request came straight from this machine (no proxy in between)."""
    if request.client is None or any(h in request.headers for h in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


@router.get("/metrics")
async def read_metrics(
    request: Request,
    session: Annotated[Session, Depends(db)],
    who: Annotated[Principal | None, Depends(optional_principal)],
) -> Response:
    """Return the metrics to the loopback scraper or an admin; 401/403 to anyone else."""
    org_ids: set[int] | None = None
    if not from_loopback(request):
        # Plain answers, not the pages' redirect to the sign-in form: the reader is a program.
        if who is None:
            return PlainTextResponse("metrics are for admins, or for a scraper on this machine\n", 401)
        if who.role != "admin":
            return PlainTextResponse("metrics are for admins\n", 403)
        org_ids = {who.org_id} if who.org_id is not None else None
    moment = now()

    def read() -> bytes:
        try:
            return metrics.exposition(store_counts(session, now=moment, org_ids=org_ids))
        finally:
            session.rollback()

    body = await anyio.to_thread.run_sync(read)
    return Response(body, media_type=metrics.CONTENT_TYPE)
