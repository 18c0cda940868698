"""Request dependencies shared by the API and the pages: store session, principal, CSRF, context.

A request is authenticated by ``Authorization: Bearer <token>`` (programs) or by the signed
session cookie naming a live server-side session (browsers). Unsafe requests authenticated by
the cookie must carry the CSRF token (``X-CSRF-Token`` header or ``csrf_token`` form field).
The request boundary commits: handlers call the services, then :meth:`Context.commit`.

Bearer tokens authenticate API routes (under ``/api/``) only. A page route — every path
outside ``/api/`` — takes a signed-in session and nothing else: a request to one that carries
an ``Authorization`` header is refused (403) here, in the one dependency every page and API
route authenticates through, so no page can be reached with a token, whatever its scope, and
no page needs its own token rule. Tokens therefore never create tokens, change accounts or
post forms through the pages; what they may do through the API is held to their scope by
:func:`writer` and the rules of :mod:`onpace.services.auth`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any, TypeVar, cast

import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from onpace.api.errors import ApiError, forbidden, unauthenticated
from onpace.api.org_choice import chosen_org
from onpace.api.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    BrowserSession,
    SessionSigner,
    csrf_matches,
)
from onpace.api.state import AppState
from onpace.domain.model import Model
from onpace.services.auth import Principal
from onpace.services.memberships import Seat, seat_in
from onpace.services.sessions import session_digest, session_user
from onpace.services.tokens import digest, token_org_id, user_for_token
from onpace.services.users import Role
from onpace.storage.contention import is_busy
from onpace.storage.db import writing
from onpace.storage.repositories import model_repo
from onpace.storage.tables import UserRow

_V = TypeVar("_V")

API_PREFIX = "/api/"
"""Paths under this prefix are API routes, which take bearer tokens; every other path is a page."""
METRICS_PATH = "/metrics"
"""The Prometheus endpoint: not a page, so a scraper's bearer token (an admin's) is accepted there."""


def is_api(request: Request) -> bool:
    """Return whether the request is for an API route (its path inside the app starts with ``/api/``)."""
    path, root = request.scope["path"], request.scope.get("root_path", "")
    # Behind a path prefix (root_path), the path may carry it: the app's own routes do not.
    inside = path[len(root) :] if root and path.startswith(root) else path
    return bool(inside.startswith(API_PREFIX))


def app_state(request: Request) -> AppState:
    """Return the app's shared state."""
    state: AppState = request.app.state.onpace
    return state


def signer(request: Request) -> SessionSigner:
    """Return the app's session cookie signer."""
    found: SessionSigner = request.app.state.signer
    return found


def browser_session(request: Request) -> BrowserSession | None:
    """Return the request's valid session cookie, read once per request."""
    if not hasattr(request.state, "browser_session"):
        request.state.browser_session = signer(request).read(request.cookies.get(SESSION_COOKIE))
    found: BrowserSession | None = request.state.browser_session
    return found


async def db(request: Request) -> AsyncIterator[Session]:
    """Yield a store session for the request; work not committed is rolled back.

    Async on purpose: a sync generator's teardown needs a worker thread, and when every worker
    thread waits for a pooled connection that only a teardown would return, the app deadlocks.
    The session takes its connection lazily, inside the handler's thread.
    """
    state = app_state(request)
    session = state.sessions()
    if request.method not in SAFE_METHODS:
        # A form or API call that changes something reads then writes: on SQLite its
        # transactions take the write lock at BEGIN, so it queues behind a busy worker or
        # ingest (up to the busy timeout) instead of failing with "database is locked".
        session.bind = writing(state.engine)
    try:
        yield session
    finally:
        session.close()


def now() -> dt.datetime:
    """Return the current time (UTC): the request boundary is where the clock is read."""
    return dt.datetime.now(dt.UTC)


def _principal(user: UserRow, *, via: str, scope: str, seat: Seat | None = None) -> Principal:
    role: Role = user.role  # type: ignore[assignment]  # checked when the user was stored
    return Principal(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=seat.role if seat is not None else role,
        person_id=seat.person_id if seat is not None else user.person_id,
        org_id=seat.org_id if seat is not None else user.org_id,
        via="token" if via == "token" else "session",
        scope="read" if scope == "read" else "write",
    )


def _token_principal(session: Session, token: str) -> Principal | None:
    found = user_for_token(session, token, now=now())
    if found is None:
        return None
    user, scope = found
    # A token works in the organisation it was made in, with the user's role there. Looked up
    # without flushing the noted use: on a busy store that write may fail only at the commit below.
    with session.no_autoflush:
        seat = seat_in(session, user, token_org_id(session, token))
    principal = (
        None
        if seat is None and user.org_id is not None
        else _principal(user, via="token", scope=scope, seat=seat)
    )
    try:
        session.commit()  # keeps last_used_at, and hands the connection back
    except OperationalError as err:
        # Noting the use is a courtesy: a store too busy for it must not refuse the request.
        session.rollback()
        if not is_busy(err):
            raise
    return principal  # None: the user no longer belongs to the token's organisation


def _session_principal(
    session: Session, uid: int, sid: str, chosen_org: int | None = None
) -> Principal | None:
    user_row = session_user(session, sid, user_id=uid, now=now())
    # The organisation chosen in this browser, if the user (still) belongs to it; else their own.
    seat = seat_in(session, user_row, chosen_org) if user_row is not None and chosen_org is not None else None
    found = None if user_row is None else _principal(user_row, via="session", scope="write", seat=seat)
    # Hand the connection back before the handler waits for a worker thread: a request holding
    # a connection while queued for a thread, and threads waiting for a connection, deadlock.
    session.rollback()
    return found


async def optional_principal(request: Request, session: Annotated[Session, Depends(db)]) -> Principal | None:
    """Return who makes the request, or None for an anonymous one.

    A bearer token that is unknown, revoked or malformed is refused (401) rather than treated
    as anonymous, so a broken integration fails loudly; any bearer token on a page route (a path
    outside ``/api/``) is refused (403): pages take sessions only. A cookie signs someone in only
    while the server-side session it names is live. Who a session or token belongs to is
    remembered for ``FINGERPRINT_TTL`` seconds (forgotten at once when this process commits), so
    a run of requests asks the store once; the store is asked on a worker thread.
    """
    header = request.headers.get("authorization")
    if header and not (is_api(request) or request.scope["path"] == METRICS_PATH):
        raise forbidden("pages take a signed-in session; send API tokens to /api/v1 only")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("the Authorization header must be 'Bearer <token>'")
        key, lookup = "token:" + digest(token.strip()), partial(_token_principal, session, token.strip())
    else:
        cookie = browser_session(request)
        if cookie is None or cookie.uid is None or cookie.sid is None:
            return None
        chosen = chosen_org(request)
        key = "session:" + session_digest(cookie.sid) + f":{chosen or ''}"
        lookup = partial(_session_principal, session, cookie.uid, cookie.sid, chosen)
    state = app_state(request)
    found = state.principal(key)
    if found is not None:
        return found
    since, read_at = state.generation(), time.monotonic()
    found = await anyio.to_thread.run_sync(lookup)
    if found is None:
        if header:
            raise unauthenticated("this API token is unknown or revoked")
        return None
    state.remember_principal(key, found, since=since, read_at=read_at)
    return found


async def check_csrf(request: Request, who: Principal | None) -> None:
    """Refuse (403) an unsafe cookie-authenticated request without the session's CSRF token."""
    if request.method in SAFE_METHODS or (who is not None and who.via == "token"):
        return
    given = request.headers.get(CSRF_HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not csrf_matches(browser_session(request), given):
        raise forbidden(
            "the form is out of date or did not come from this site (CSRF check); reload the page"
        )


@dataclass
class Context:
    """Everything a handler needs: the store session, who asks, their organisation and the clock."""

    session: Session
    who: Principal
    state: AppState
    now: dt.datetime
    _org_id: int | None = field(default=None)

    @property
    def org_id(self) -> int:
        """Return the organisation the principal works in (the store's only one when unset)."""
        if self._org_id is None:
            self._org_id = self.who.org_id or model_repo.find_org(self.session).id
        return self._org_id

    @property
    def model(self) -> Model:
        """Return the organisation's current model."""
        return self.state.model(self.session, self.org_id)

    async def view(self, key: tuple[Any, ...], build: Callable[[], _V], *, evaluations: bool = True) -> _V:
        """Return the view ``key`` of the organisation as the store stands, built by ``build`` if needed.

        A view depends on the model, and on the stored evaluations unless ``evaluations`` is
        False. While this process's fingerprints are fresh and the view was built from them, it
        comes from memory on the event loop: no query, no worker thread. Otherwise the
        fingerprints are re-read and, if they changed, the view rebuilt on a worker thread, where
        ``build`` may query the store through this context.
        """
        org_id = self.who.org_id
        if org_id is not None:
            fresh = self.state.remembered_fingerprints(org_id)
            if fresh is not None:
                found = self.state.cached_view((*key, org_id), fresh if evaluations else fresh[0])
                if found is not None:
                    return cast(_V, found)

        def built() -> _V:
            found = self.state.fingerprints(self.session, self.org_id)
            return self.state.view((*key, self.org_id), found if evaluations else found[0], build)

        return await anyio.to_thread.run_sync(built)

    def commit(self) -> None:
        """Commit the request's work, and forget what this process remembered of the store."""
        self.session.commit()
        self.state.forget()


async def reader(
    request: Request,
    session: Annotated[Session, Depends(db)],
    who: Annotated[Principal | None, Depends(optional_principal)],
) -> Context:
    """Return the context of a request anyone signed in may make; 401 for anonymous ones."""
    if who is None:
        raise unauthenticated()
    await check_csrf(request, who)
    return Context(session, who, app_state(request), now())


async def writer(context: Annotated[Context, Depends(reader)]) -> Context:
    """Return the context of a request that changes something; 403 for viewers and read tokens."""
    if not context.who.writes:
        reason = (
            "this API token is read-only" if context.who.scope == "read" else "viewers cannot change anything"
        )
        raise forbidden(reason)
    # The handler reads then writes: on SQLite its transaction takes the write lock at BEGIN,
    # so concurrent writers queue for it rather than fail (no connection is held yet).
    context.session.bind = writing(context.state.engine)
    return context


ReadContext = Annotated[Context, Depends(reader)]
WriteContext = Annotated[Context, Depends(writer)]


def deny(message: str) -> ApiError:
    """Return a 403 error for a permission rule that said no."""
    return forbidden(message)
