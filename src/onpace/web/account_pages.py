"""My account: change my own password, which ends every session of mine but this browser's new one.

The current password is asked for, under the sign-in throttle (a wrong one counts as a failed
sign-in), so a session left open does not let someone else take the account over.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from onpace.api.deps import signer
from onpace.api.security import new_session
from onpace.errors import UserError
from onpace.services import account_changes, login_throttle
from onpace.services.sessions import start_session
from onpace.services.users import authenticate
from onpace.web.pages import Page, render
from onpace.web.sign_in_pages import client_address

router = APIRouter(include_in_schema=False)


def _form(
    request: Request, *, changed: bool = False, error: str | None = None, status: int = 200
) -> HTMLResponse:
    response = render(request, "password.html", {"changed": changed, "error": error}, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/account/password")
def password_form(request: Request, context: Page, changed: bool = False) -> HTMLResponse:
    """Show the form to change my password."""
    return _form(request, changed=changed)


@router.post("/account/password")
def password_change(
    request: Request,
    context: Page,
    current: Annotated[str, Form(max_length=1000)],
    new: Annotated[str, Form(max_length=1000)],
    again: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Change my password: every session of mine ends, and this browser gets a new one."""
    email, address = context.who.email, client_address(request)
    held = login_throttle.lockout(context.session, email=email, address=address, now=context.now)
    if held is not None:
        return _form(request, error=held.message(context.now), status=429)
    if authenticate(context.session, email, current) is None:
        login_throttle.record_failure(
            context.session, email=email, address=address, now=context.now, org_id=context.who.org_id
        )
        context.commit()
        return _form(request, error="the current password is wrong", status=400)
    if new != again:
        raise UserError("the two new passwords differ")
    user = account_changes.change_password(context.session, email, new, by=email, now=context.now)
    secret = start_session(context.session, user, now=context.now)
    context.commit()
    response = RedirectResponse("/account/password?changed=true", status_code=303)
    signer(request).write(response, new_session(user.id, secret))
    return response
