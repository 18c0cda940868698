"""Render a review pack as HTML: a standalone printable document, or the body for the web page.

The file and the web page share one template (``templates/pack_body.html``), so a pack reads
the same wherever it is opened. Every text of the pack is escaped; only the charts, which are
drawn here from numbers, are inserted as markup.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from onpace.domain.review import SECTION_TITLES, ChangeKind, Chart, ReviewItem, ReviewPack
from onpace.domain.review_merge import summarise
from onpace.reports.svg_chart import chart_svg

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATUS_LABELS = {
    "green": "on track",
    "amber": "amber",
    "red": "red",
    "at_risk": "at risk",
    "no_data": "no data",
    "unplanned": "unplanned",
    "stale": "stale",
}
CHANGE_LABELS: dict[ChangeKind, str] = {"new": "new", "gone": "gone", "changed": "changed"}
SUBJECT_PAGES = {"kpi": "kpis", "kr": "krs", "objective": "objectives"}
LEVEL_LABELS = {"kpi": "KPI", "kr": "Key result", "objective": "Objective", "dependency": "Hand-off"}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["chart"] = _chart_markup
    env.globals.update(
        CHANGE_LABELS=CHANGE_LABELS,
        status_label=lambda status: STATUS_LABELS.get(status, status.replace("_", " ")),
        section_title=lambda key: SECTION_TITLES.get(key, key),
        summarise=summarise,
        LEVEL_LABELS=LEVEL_LABELS,
    )
    return env


def _chart_markup(chart: Chart, title: str | None = None) -> Markup:
    # Safe: chart_svg builds the markup itself and escapes every text it places in it.
    return Markup(chart_svg(chart, title=title))


def pack_css() -> Markup:
    """Return the pack's stylesheet (scoped to ``.pack``) to place in a ``<style>`` element."""
    return Markup((TEMPLATES / "pack.css").read_text(encoding="utf-8"))


def _links(base_url: str | None) -> dict[str, object]:
    """Return the template helpers that build links, or none when the pack has nowhere to link."""
    base = None if base_url is None else base_url.rstrip("/")

    def subject_link(item: ReviewItem) -> str | None:
        page = SUBJECT_PAGES.get(item.subject_level)
        if base is None:
            return None
        if page is not None:
            return f"{base}/{page}/{quote(item.subject, safe='')}"
        return f"{base}/dependencies" if item.subject_level == "dependency" else None

    def item_link(item: ReviewItem) -> str | None:
        if base is not None and item.case_id is not None:
            return f"{base}/cases/{item.case_id}"
        return subject_link(item)

    return {"base_url": base, "subject_link": subject_link, "item_link": item_link}


def render_body(pack: ReviewPack, *, base_url: str | None = None) -> Markup:
    """Return the pack's body (header, changes, sections) as markup for a page that has its own frame.

    With ``base_url`` (``""`` for links relative to the site) every item links to its case page,
    or to its subject's page when it has no case; without it, nothing links.
    """
    template = _environment().get_template("pack_body.html")
    return Markup(template.render(pack=pack, **_links(base_url)))


def render_html(pack: ReviewPack, *, base_url: str | None = None) -> str:
    """Return the pack as a complete standalone HTML document: inline CSS and SVG, A4 print layout.

    The document references nothing outside itself, so it opens offline and prints as shown.
    """
    template = _environment().get_template("pack.html")
    return template.render(pack=pack, css=pack_css(), **_links(base_url))
