"""Account pages: users (admins) and API tokens (everyone signed in), thin doors onto the services.

Admins list the organisation's users, add one, change a role, deactivate and reactivate; an
admin cannot do either of the last to themselves, so an organisation never locks out the admin
acting. Everyone manages their own API tokens: a new token's secret is shown once, on the answer
to the form that made it, and never again. Forms carry the session's CSRF token like every page.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from onpace.api.deps import Context
from onpace.api.errors import forbidden, not_found
from onpace.api.schemas import MAX_ROW_ID
from onpace.errors import UserError
from onpace.services import account_changes
from onpace.services import tokens as token_service
from onpace.services import users as user_service
from onpace.services.auth import may_manage_users, token_refusal
from onpace.storage.tables import UserRow
from onpace.web.pages import Page, render

router = APIRouter(include_in_schema=False)

RowIdPath = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]
RoleForm = Annotated[Literal["admin", "editor", "owner", "viewer"], Form()]


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------------------------------------
# users (admins)


def _admin(context: Context) -> None:
    if not may_manage_users(context.who):
        raise forbidden("only admins manage users")


def _user(context: Context, user_id: int) -> UserRow:
    found = user_service.user_by_id(context.session, user_id, org_id=context.org_id)
    if found is None:
        raise not_found(f"there is no user {user_id}")
    return found


def _not_self(context: Context, user: UserRow, what: str) -> None:
    # Another admin must do it: an admin who demotes or deactivates themselves may leave nobody
    # able to undo it.
    if user.id == context.who.user_id:
        raise UserError(f"you cannot {what} yourself; ask another admin")


@router.get("/users")
def users_page(request: Request, context: Page) -> HTMLResponse:
    """Show the organisation's users with role, person and state, and the forms to manage them."""
    _admin(context)
    return render(
        request,
        "users.html",
        {
            "users": user_service.list_users(context.session, org_id=context.org_id),
            "people": context.model.people,
            "roles": user_service.ROLES,
        },
    )


@router.post("/users")
def user_add(
    *,
    context: Page,
    email: Annotated[str, Form(max_length=320)],
    name: Annotated[str, Form(max_length=200)],
    role: RoleForm,
    password: Annotated[str, Form(max_length=1000)] = "",
    person: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add a user (a password lets them sign in; without one they may only hold API tokens)."""
    _admin(context)
    account_changes.add_user(
        context.session,
        by=context.who.email,
        email=email,
        name=name,
        role=role,
        password=password or None,
        now=context.now,
        person_id=person.strip() or None,
        org=context.model.org,
    )
    context.commit()
    return _back("/users")


@router.post("/users/{user_id}/role")
def user_role(user_id: RowIdPath, context: Page, role: RoleForm) -> Response:
    """Change a user's role."""
    _admin(context)
    user = _user(context, user_id)
    if role != user.role:
        _not_self(context, user, "change the role of")
    account_changes.change_role(context.session, user.email, role, by=context.who.email, now=context.now)
    context.commit()
    return _back("/users")


@router.post("/users/{user_id}/deactivate")
def user_deactivate(user_id: RowIdPath, context: Page) -> Response:
    """Stop a user from signing in or using their tokens, at once."""
    _admin(context)
    user = _user(context, user_id)
    _not_self(context, user, "deactivate")
    account_changes.deactivate(context.session, user.email, by=context.who.email, now=context.now)
    context.commit()
    return _back("/users")


@router.post("/users/{user_id}/reactivate")
def user_reactivate(user_id: RowIdPath, context: Page) -> Response:
    """Let a deactivated user sign in and use their tokens again."""
    _admin(context)
    user = _user(context, user_id)
    account_changes.reactivate(context.session, user.email, by=context.who.email, now=context.now)
    context.commit()
    return _back("/users")


# ---------------------------------------------------------------------------------------------
# API tokens (everyone signed in, their own)


def _tokens_page(request: Request, context: Page, new: token_service.NewToken | None = None) -> HTMLResponse:
    response = render(
        request,
        "tokens.html",
        {"tokens": token_service.list_tokens(context.session, context.who.user_id), "new": new},
        status=201 if new else 200,
    )
    # The page may show a token's secret: keep it out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/tokens")
def tokens_page(request: Request, context: Page) -> HTMLResponse:
    """Show my API tokens (never their secrets) and the form to create one."""
    return _tokens_page(request, context)


@router.post("/tokens")
def token_create(
    request: Request,
    context: Page,
    name: Annotated[str, Form(max_length=200)],
    scope: Annotated[Literal["read", "write"], Form()] = "read",
) -> HTMLResponse:
    """Create an API token for myself and show its secret this once (viewers: read-only tokens)."""
    refusal = token_refusal(context.who, scope)
    if refusal is not None:
        raise forbidden(refusal)
    new = account_changes.create_token(
        context.session,
        by=context.who.email,
        now=context.now,
        email=context.who.email,
        name=name,
        scope=scope,
        org_id=context.org_id,
    )
    context.commit()
    return _tokens_page(request, context, new)


@router.post("/tokens/{token_id}/revoke")
def token_revoke(token_id: RowIdPath, context: Page) -> Response:
    """Revoke one of my tokens (admins: anyone's); it stops working at once."""
    owner = None if context.who.admin else context.who.user_id
    try:
        # An admin may revoke anyone's token, within the organisation they work in.
        account_changes.revoke_token(
            context.session,
            token_id,
            by=context.who.email,
            now=context.now,
            user_id=owner,
            org_id=context.org_id,
        )
    except UserError:
        raise not_found(f"there is no token {token_id} of yours") from None
    context.commit()
    return _back("/tokens")
