"""Refuse requests whose text holds a NUL character, before anything reaches the store.

PostgreSQL text cannot hold NUL (U+0000): storing one, or merely comparing a column with one,
fails inside the store, which a client would see as a server error (SQLite takes it silently,
so the two stores would also disagree). No name, title, comment or id of onpace needs it, so
every door refuses it the same way: 422 naming where it was found (``path.<name>``,
``query.<name>``, ``body`` or ``form.<name>``).
"""

from __future__ import annotations

import re

from fastapi import Request

from onpace.api.errors import ApiError

NUL = "\x00"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# In JSON a NUL is written \u0000; an escaped backslash before "u0000" is ordinary text.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _refused(where: str) -> ApiError:
    return ApiError(422, f"{where} holds a NUL character (U+0000), which onpace cannot store", where)


async def refuse_nul(request: Request) -> None:
    """Raise a 422 ApiError when the path, the query or a JSON or form body holds a NUL character."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and NUL in value:
            raise _refused(f"path.{name}")
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise _refused(f"query.{name.replace(NUL, '')}")
    if request.method not in BODY_METHODS:
        return
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        # Already read and kept by the framework to parse the body: no second read.
        body = await request.body()
        if b"\x00" in body or (b"\\u0000" in body and _JSON_NUL.search(body)):
            raise _refused("body")
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        for name, field in form.multi_items():
            if NUL in name or (isinstance(field, str) and NUL in field):
                raise _refused(f"form.{name.replace(NUL, '')}")
