"""Sign in and out: the password form, throttled and audited, onto a server-side session.

A successful sign-in starts a session in the store and rotates the cookie (new CSRF token,
the session's secret); a refused one says why — wrong credentials (401) or too many failed
sign-ins (429, with ``Retry-After``). Signing out ends the server-side session, so the old
cookie stops working at once even if it was copied, and hands out an anonymous one.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from onpace.api.deps import app_state, browser_session, check_csrf, now, signer
from onpace.api.security import new_session
from onpace.services.sign_in import SignIn, sign_in, sign_out
from onpace.web.pages import error_page, render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path of this site, else ``/``."""
    # Only local paths: an open redirect would let a link send people elsewhere after sign-in.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def client_address(request: Request) -> str | None:
    """Return the client's address as the server sees it (the proxy's, unless it forwards one)."""
    return request.client.host if request.client is not None else None


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """Show the sign-in form."""
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials; on success start a session and go where the visitor was going."""
    await check_csrf(request, None)
    state = app_state(request)
    if not state.settings.password_login and state.settings.oidc_issuer:
        return error_page(request, 403, "sign in with single sign-on: passwords are turned off here")
    address = client_address(request)

    def attempt() -> SignIn:
        with state.writing_session() as session:
            outcome = sign_in(session, email=email, password=password, address=address, now=now())
            session.commit()
        return outcome

    # Checking a password takes tens of milliseconds of argon2: keep it off the event loop.
    outcome = await anyio.to_thread.run_sync(attempt)
    if outcome.user_id is None or outcome.secret is None:
        answer = render(
            request, "login.html", {"next": safe_next(next), "error": outcome.refusal}, outcome.status
        )
        if outcome.retry_after is not None:
            answer.headers["Retry-After"] = str(outcome.retry_after)
        return answer
    response = RedirectResponse(safe_next(next), status_code=303)
    signer(request).write(response, new_session(outcome.user_id, outcome.secret))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out: end the server-side session and replace the cookie with an anonymous one."""
    await check_csrf(request, None)
    cookie = browser_session(request)
    if cookie is not None and cookie.sid is not None:
        state, address, secret = app_state(request), client_address(request), cookie.sid

        def end() -> None:
            with state.writing_session() as session:
                sign_out(session, secret, address=address, now=now())
                session.commit()

        await anyio.to_thread.run_sync(end)
        # Forget who this process remembered the cookie to be, so it is refused from now on.
        state.forget()
    response = RedirectResponse("/login", status_code=303)
    signer(request).write(response, new_session())
    return response
