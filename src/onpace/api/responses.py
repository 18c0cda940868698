"""Document in the OpenAPI schema every error status each API route can answer, with the error body.

A route's error statuses follow from how it is built, so they are derived, not listed by hand
(a hand-kept list goes stale the day a route gains a check):

- every route: **422** (a NUL character in the path, query or body is refused by the app-wide
  guard, and malformed parameters or bodies by validation);
- a route behind sign-in (``ReadContext``): **401** (no or a bad credential) and **409** (the
  store holds no model yet);
- a route that changes something (``WriteContext``): **403** (a viewer, a read-scope token, a
  missing CSRF token) and **400** (a service refusing the change);
- a route with a path parameter: **404** (nothing has that id);
- whatever the route's own code raises: ``forbidden``/``deny`` (403), ``not_found`` (404),
  ``unauthenticated`` (401), ``ApiError(<status>, …)`` and ``UserError`` (400), found by
  reading the endpoint's source.

Routers are built with ``route_class=DocumentedRoute``, which adds them to each route's
``responses`` as the route is made.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from onpace.api.deps import reader, writer

DESCRIPTIONS = {
    400: "Refused: the service said no (the message says why).",
    401: "No credential, or an unknown, revoked or malformed one.",
    403: "Signed in, but not allowed: the role or the token's scope, or a missing CSRF token.",
    404: "Nothing has that id.",
    409: "The store holds no model yet (load one first).",
    422: "The request does not match its schema, or holds a NUL character; `where` says where.",
}
_HELPERS = {"forbidden": 403, "deny": 403, "not_found": 404, "unauthenticated": 401}


class ErrorProblem(BaseModel):
    """One validation problem: what is wrong and where."""

    error: str
    where: str | None = None


class ErrorOut(BaseModel):
    """The body of every error: a sentence, where the problem is, and (422) each problem."""

    error: str
    where: str | None = None
    problems: list[ErrorProblem] | None = None


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _raised_in(endpoint: Callable[..., Any]) -> set[int]:
    """Return the statuses the endpoint's own code raises (read from its source)."""
    try:
        source = textwrap.dedent(inspect.getsource(endpoint))
    except (OSError, TypeError):
        return set()
    found: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in _HELPERS:
                found.add(_HELPERS[name])
            elif name == "ApiError" and node.args and isinstance(node.args[0], ast.Constant):
                status = node.args[0].value
                if isinstance(status, int):
                    found.add(status)
        elif isinstance(node, ast.Name) and node.id == "UserError":
            found.add(400)
    return found


def error_statuses(dependant: Dependant, endpoint: Callable[..., Any]) -> set[int]:
    """Return the error statuses a route can answer (see the module docstring)."""
    statuses = {422}
    calls = set(_calls(dependant))
    if reader in calls:
        statuses |= {401, 409}
    if writer in calls:
        statuses |= {400, 403}
    if dependant.path_params:
        statuses.add(404)
    return statuses | _raised_in(endpoint)


class DocumentedRoute(APIRoute):
    """An API route whose OpenAPI responses list every error status it can answer, with the error body."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        dependant = get_dependant(path=path, call=endpoint)
        for extra in kwargs.get("dependencies") or ():
            if extra.dependency is not None:
                dependant.dependencies.append(get_dependant(path=path, call=extra.dependency))
        responses: dict[int | str, dict[str, Any]] = dict(kwargs.get("responses") or {})
        for status in sorted(error_statuses(dependant, endpoint)):
            entry = dict(responses.get(status, {}))
            entry.setdefault("model", ErrorOut)
            entry.setdefault("description", DESCRIPTIONS.get(status, "Refused."))
            responses[status] = entry
        kwargs["responses"] = responses
        super().__init__(path, endpoint, **kwargs)
