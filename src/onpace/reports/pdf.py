"""Print a review pack to PDF with WeasyPrint, never loading anything from outside the document.

A pack carries text that people typed (explanations, action titles). Autoescaping keeps that
text from becoming markup, and the fetcher here is the second wall: WeasyPrint asks it for every
image, stylesheet and font a document names, and it refuses all but inline ``data:`` URLs, so
rendering can neither reach the network nor read a local file.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher

from onpace.domain.review import ReviewPack
from onpace.reports.html import render_html

ALLOWED_SCHEMES = frozenset({"data"})


class RefusedResourceError(ValueError):
    """A document named a resource outside itself (http, https, file, ftp …); it is not fetched."""


class InlineOnlyFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type hints
    """Fetch ``data:`` URLs only; refuse every other URL before any connection or file read."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=ALLOWED_SCHEMES, allow_redirects=False, fail_on_errors=False)

    def fetch(self, url: str, headers: Any = None) -> Any:
        """Return the resource of a ``data:`` URL; raise ``RefusedResourceError`` for any other URL."""
        try:
            scheme = urlsplit(url.strip()).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme not in ALLOWED_SCHEMES:
            raise RefusedResourceError(
                f"a review pack loads nothing from outside itself: refused {url[:200]!r}"
            )
        return super().fetch(url, headers)


def html_to_pdf(document: str) -> bytes:
    """Return the PDF of an HTML document; resources it names outside itself are left out."""
    return bytes(HTML(string=document, url_fetcher=InlineOnlyFetcher()).write_pdf())


def render_pdf(pack: ReviewPack, *, base_url: str | None = None) -> bytes:
    """Return the pack as an A4 PDF (charts as vector SVG); ``base_url`` makes items link to the app."""
    return html_to_pdf(render_html(pack, base_url=base_url))
