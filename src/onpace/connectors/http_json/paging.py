"""Walk the pages of a JSON API: by offset, by page number, by cursor or by next link.

The source option ``paginate`` is a mapping with ``style`` and the style's settings:

- ``offset`` (Jira: ``startAt``/``maxResults``/``total``): ``param`` (default ``startAt``),
  ``size_param`` (``maxResults``), ``size`` (50), ``total`` (dotted path of the total, optional).
- ``page``: ``param`` (``page``), ``start`` (1), ``size_param`` (``per_page``), ``size`` (100),
  ``total`` (dotted path of the total item count, optional).
- ``cursor``: ``param`` (``cursor``), ``next`` (dotted path of the next cursor in the body).
- ``next_link``: ``next`` (dotted path of the next URL in the body); without it, the
  ``Link: <…>; rel="next"`` response header.

A walk ends on an empty page, the total reached (or, with no total, a short page), or no next cursor/link; it is
refused after ``max_pages`` (default 10000) pages so a looping API cannot pull forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

from onpace.connectors.http_json.paths import MISSING, lookup

STYLES = ("none", "offset", "page", "cursor", "next_link")


class PagingError(ValueError):
    """Raise when the ``paginate`` option is not understood."""


@dataclass(frozen=True)
class Request:
    """The next request to make: an absolute or relative URL and its extra query parameters."""

    url: str
    params: Mapping[str, str]
    complete: bool = False
    """A next link carries its whole query: the source's own ``params`` are not added again."""


def _int(settings: Mapping[str, object], name: str, default: int) -> int:
    value = settings.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise PagingError(f"paginate.{name} must be a whole number, not {value!r}")
    return int(value)


class Pager:
    """Decide the first request and, from each response, the next one (or ``None`` at the end)."""

    def __init__(self, settings: Mapping[str, object], url: str) -> None:
        self.style = str(settings.get("style", "none"))
        if self.style not in STYLES:
            raise PagingError(f"paginate.style must be one of {', '.join(STYLES)}, not '{self.style}'")
        self.settings = settings
        self.url = url
        self.max_pages = _int(settings, "max_pages", 10000)
        defaults = {"offset": ("startAt", "maxResults", 50), "page": ("page", "per_page", 100)}
        param, size_param, size = defaults.get(self.style, ("cursor", "", 0))
        self.param = str(settings.get("param", param))
        self.size_param = str(settings.get("size_param", size_param))
        self.size = _int(settings, "size", size)
        self.position = _int(settings, "start", 1) if self.style == "page" else 0
        if self.style in ("offset", "page") and self.size < 1:
            raise PagingError("paginate.size must be at least 1")

    def first(self) -> Request:
        """Return the first request."""
        if self.style in ("offset", "page"):
            return Request(self.url, {self.param: str(self.position), self.size_param: str(self.size)})
        return Request(self.url, {})

    def next(self, body: object, items: int, link_header: str | None, base: str) -> Request | None:
        """Return the request after a response whose body held ``items`` records, or ``None``.

        ``base`` is the URL of the response, against which a relative next link is resolved.
        """
        if self.style == "none":
            return None
        if self.style in ("offset", "page"):
            if items == 0:
                return None
            self.position += items if self.style == "offset" else 1
            total_path = self.settings.get("total")
            total = lookup(body, str(total_path)) if total_path is not None else MISSING
            if isinstance(total, int) and not isinstance(total, bool):
                # A server may cap the page size below the one asked for: trust the total.
                if self.position >= total:
                    return None
            elif items < self.size:
                return None
            return Request(self.url, {self.param: str(self.position), self.size_param: str(self.size)})
        next_path = self.settings.get("next")
        if self.style == "cursor":
            cursor = lookup(body, str(next_path or "next_cursor"))
            if cursor is MISSING or cursor in (None, ""):
                return None
            return Request(self.url, {self.param: str(cursor)})
        link = lookup(body, str(next_path)) if next_path else _link_next(link_header)
        if link is MISSING or link in (None, ""):
            return None
        return Request(urljoin(base, str(link)), {}, complete=True)


def _link_next(header: str | None) -> str | None:
    """Return the ``rel="next"`` URL of an RFC 8288 ``Link`` header, if any."""
    for part in (header or "").split(","):
        url, _, attrs = part.partition(";")
        if 'rel="next"' in attrs.replace(" ", "") or "rel=next" in attrs.replace(" ", ""):
            return url.strip().strip("<>")
    return None
