"""Errors as JSON a person understands: ``{"error": "...", "where": ...}``, 4xx for bad input.

``where`` locates the problem: a request field path such as ``body.records[2].value``, a
query parameter, or null. Pages get the same message rendered as HTML (see ``onpace.web``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from onpace.storage.contention import is_busy
from onpace.storage.errors import OrgNotFoundError

#: Seconds a client is asked to wait before trying again when the store is busy or unreachable.
RETRY_AFTER_BUSY = 1
RETRY_AFTER_UNREACHABLE = 5


class ApiError(HTTPException):
    """An error with a status code, a message and where it happened."""

    def __init__(self, status: int, message: str, where: str | None = None) -> None:
        super().__init__(status_code=status, detail=message)
        self.where = where


def unauthenticated(message: str = "sign in or send an API token (Authorization: Bearer …)") -> ApiError:
    """Return a 401 error."""
    return ApiError(401, message)


def forbidden(message: str) -> ApiError:
    """Return a 403 error."""
    return ApiError(403, message)


def not_found(message: str) -> ApiError:
    """Return a 404 error."""
    return ApiError(404, message)


def location(loc: Sequence[int | str]) -> str:
    """Return a validation error location as a path: ``body.records[2].value``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def describe(error: dict[str, Any]) -> str:
    """Return one validation problem as a sentence."""
    kind = error.get("type", "")
    where = location(error.get("loc", ()))
    field = where.rsplit(".", 1)[-1] if where else "value"
    if kind == "missing":
        return f"{field} is required"
    if kind == "extra_forbidden":
        return f"{field} is not a field this request accepts"
    if kind == "json_invalid":
        return "the body is not valid JSON"
    message = str(error.get("msg", "is not valid"))
    return f"{field}: {message[0].lower() + message[1:] if message else 'is not valid'}"


def error_body(message: str, where: object = None, **extra: object) -> dict[str, object]:
    """Return the JSON body of an error."""
    return {"error": message, "where": where, **extra}


async def validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Answer a request that does not match its schema with 422 and every problem."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    problems = [{"error": describe(e), "where": location(e.get("loc", ()))} for e in errors]
    first = problems[0] if problems else {"error": "the request is not valid", "where": None}
    return JSONResponse(
        status_code=422, content=error_body(str(first["error"]), first["where"], problems=problems)
    )


async def http_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Answer an HTTP error (ours or the framework's) as JSON."""
    assert isinstance(exc, StarletteHTTPException)
    where = getattr(exc, "where", None)
    message = exc.detail if isinstance(exc.detail, str) else "the request cannot be served"
    if exc.status_code == 404 and message == "Not Found":
        message = "there is nothing at this address"
    if exc.status_code == 405 and message == "Method Not Allowed":
        message = "this address does not accept that method"
    return JSONResponse(status_code=exc.status_code, content=error_body(message, where), headers=exc.headers)


async def user_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Answer a refused request (a service said no) with 400, or 409 when no model is loaded."""
    status = 409 if isinstance(exc, OrgNotFoundError) else 400
    return JSONResponse(status_code=status, content=error_body(str(exc)))


def unavailable_response(exc: Exception) -> tuple[int, str, dict[str, str]]:
    """Return the status, message and headers for a store that is busy or unreachable: 503, Retry-After."""
    if is_busy(exc):
        return 503, "the store is busy; try again shortly", {"Retry-After": str(RETRY_AFTER_BUSY)}
    return (
        503,
        "the store cannot be reached; try again shortly",
        {"Retry-After": str(RETRY_AFTER_UNREACHABLE)},
    )


async def unavailable_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Answer a request the store could not take (busy, locked, unreachable) with 503 and Retry-After."""
    status, message, headers = unavailable_response(exc)
    return JSONResponse(status_code=status, content=error_body(message), headers=headers)
