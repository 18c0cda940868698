"""The weekly review pack on the web, as PDF and as Markdown: thin doors onto the services."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from onpace.api.deps import Context
from onpace.api.errors import not_found
from onpace.domain.review import ReviewPack
from onpace.errors import UserError
from onpace.reports.html import pack_css, render_body
from onpace.reports.markdown import render_markdown
from onpace.services import review as review_service
from onpace.web.pages import (
    Page,
    render,
)

router = APIRouter(include_in_schema=False)


def _review_pack(context: Context, unit: str | None, as_of: str | None) -> ReviewPack:
    """Build (never save) the pack the query asks for; refuse an unknown unit or a malformed date."""
    unit_id = (unit or "").strip() or None
    if unit_id is not None and context.model.unit(unit_id) is None:
        raise not_found(f"there is no unit {unit_id!r}")
    day: dt.date | None = None
    if as_of and as_of.strip():
        try:
            day = dt.date.fromisoformat(as_of.strip())
        except ValueError:
            raise UserError(f"as_of {as_of!r} is not a date (YYYY-MM-DD)") from None
    return review_service.build_pack(
        context.session, context.org_id, as_of=day, unit=unit_id, now=context.now
    )


def _review_query(unit: str | None, as_of: str | None) -> str:
    """Return the query string that asks the downloads for the pack on the page ("" for the default)."""
    kept = {
        key: value.strip() for key, value in (("unit", unit), ("as_of", as_of)) if value and value.strip()
    }
    return f"?{urlencode(kept)}" if kept else ""


def _download(content: bytes | str, media_type: str, pack: ReviewPack, suffix: str) -> Response:
    name = "-".join(["review", *([pack.unit] if pack.unit else []), pack.as_of.isoformat()])
    headers = {"Content-Disposition": f'attachment; filename="{quote(name)}.{suffix}"'}
    return Response(content, media_type=media_type, headers=headers)


ReviewUnit = Annotated[str | None, Query(max_length=200)]
ReviewDate = Annotated[str | None, Query(max_length=40)]


@router.get("/review")
def review_page(
    request: Request, context: Page, unit: ReviewUnit = None, as_of: ReviewDate = None
) -> HTMLResponse:
    """Show the weekly review pack: what needs a decision, ranked by impact, with links to the cases."""
    pack = _review_pack(context, unit, as_of)
    return render(
        request,
        "review.html",
        {
            "body": render_body(pack, base_url=""),
            "units": context.model.units,
            "unit": pack.unit,
            "as_of": (as_of or "").strip(),
            "query": _review_query(unit, as_of),
        },
    )


@router.get("/review.css")
def review_css() -> Response:
    """Serve the pack's stylesheet, so the page needs no inline style."""
    return Response(pack_css(), media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/review.pdf")
def review_pdf(context: Page, unit: ReviewUnit = None, as_of: ReviewDate = None) -> Response:
    """Download the weekly review pack as PDF (its items link back to this site)."""
    # WeasyPrint takes most of a second to import: load it on the first PDF, not at app start.
    from onpace.reports.pdf import render_pdf

    pack = _review_pack(context, unit, as_of)
    pdf = render_pdf(pack, base_url=context.state.settings.base_url)
    return _download(pdf, "application/pdf", pack, "pdf")


@router.get("/review.md")
def review_markdown(context: Page, unit: ReviewUnit = None, as_of: ReviewDate = None) -> Response:
    """Download the weekly review pack as Markdown."""
    pack = _review_pack(context, unit, as_of)
    markdown = render_markdown(pack, base_url=context.state.settings.base_url)
    return _download(markdown, "text/markdown; charset=utf-8", pack, "md")
