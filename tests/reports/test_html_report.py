"""The pack as HTML: a standalone printable document and the body the web page shows, from one template."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from pack_samples import ORDERS, POLLUTION, SPEND, THREATENED, sample_pack, section

from onpace.domain.review import SECTION_TITLES, Chart, ReviewItem
from onpace.reports.html import render_body, render_html


class Outline(HTMLParser):
    """Collect what the checks need: tags, links, inline SVGs, sources and scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        for name in ("src", "srcset", "background"):
            if found.get(name):
                self.sources.append(found[name] or "")
        if tag == "link":
            self.sources.append(found.get("href") or "")


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def test_the_document_is_standalone_with_inline_css_and_an_a4_page() -> None:
    html = render_html(sample_pack())
    assert html.startswith("<!doctype html>")
    found = outline(html)
    assert "style" in found.tags
    assert "script" not in found.tags
    assert found.sources == []
    assert "size: A4" in html
    assert "break-inside: avoid" in html
    assert "<title>Weekly review · Greenway Grocers · 7 Jun 2026</title>" in html


def test_the_header_names_the_org_the_unit_and_the_date() -> None:
    html = render_html(sample_pack(unit="online", unit_name="Online shop"))
    assert "Weekly review · Greenway Grocers · Online shop" in html
    assert "As of 7 Jun 2026" in html
    assert "<strong>9</strong> decisions needed" in html


def test_sections_come_in_pack_order_with_their_items_ranked() -> None:
    pack = sample_pack(sections=(section("new_breaches", SPEND, ORDERS), section("pollution", POLLUTION)))
    html = render_html(pack)
    headings = re.findall(r"<h2>([^<]+) <small>(\d+)</small></h2>", html)
    assert headings == [(SECTION_TITLES["new_breaches"], "2"), (SECTION_TITLES["pollution"], "1")]
    assert html.index(SPEND.title) < html.index(ORDERS.title)
    assert re.search(r'<span class="rank">2\.</span>\s*Online orders delivered', html)


def test_an_item_shows_owner_since_explanation_actions_and_its_chart() -> None:
    html = render_html(sample_pack())
    item = html[html.index('data-key="new_breaches:fulfilment_spend"') :]
    item = item[: item.index("</article>")]
    for text in (
        "Micro-fulfilment pilot spend (EUR)",
        "EUR 212,400 vs plan 180,000, +18.0 %",
        "Ana Costa",
        "24 May 2026",
        "#6",
        "Grace Obi",
        "Explained (capacity):",
        "Courier rates rose in May",
        "Renegotiate the courier contract — Ana Costa, due 5 Jun 2026 (overdue)",
        "Freeze pilot hiring — Ana Costa, due 30 May 2026 (done)",
        'class="badge s-red">red<',
    ):
        assert text in item, text
    svg = item[item.index("<svg") : item.index("</svg>") + len("</svg>")]
    assert ET.fromstring(svg).find(".//{http://www.w3.org/2000/svg}path[@data-series='plan']") is not None


def test_an_item_without_an_explanation_or_actions_says_so() -> None:
    html = render_html(sample_pack())
    item = html[html.index('data-key="at_risk:online_orders"') :]
    item = item[: item.index("</article>")]
    assert "Not explained yet." in item
    assert "No corrective action committed." in item


def test_threatened_items_name_their_causes() -> None:
    html = render_html(sample_pack(sections=(section("threatened", THREATENED),)))
    assert "Because: online_orders at risk (weight 0.6); fulfilment_spend red (weight 0.4)" in html


def test_the_changes_since_the_last_pack_are_listed() -> None:
    html = render_html(sample_pack())
    changes = html[html.index('id="changes"') : html.index('id="section-new_breaches"')]
    assert "What changed since 31 May 2026" in changes
    assert "new</span> · New breaches: Micro-fulfilment pilot spend (EUR)" in changes
    # Each side of a change is quoted: a state holding semicolons cannot run into the other.
    assert "(<q>amber</q> → <q>at risk</q>)" in changes
    assert "gone</span> · New breaches: Perfect orders (%)" in changes


def test_a_first_pack_and_a_quiet_week_say_so_instead_of_an_empty_list() -> None:
    first = render_html(sample_pack(previous_as_of=None, changes=()))
    assert "This is the first pack" in first
    quiet = render_html(sample_pack(changes=()))
    assert "Nothing changed since the last pack." in quiet
    empty = render_html(sample_pack(sections=(section("mirages"),)))
    assert "Nothing here this week." in empty
    assert "<strong>0</strong> decisions needed" in empty


def test_items_link_to_their_case_or_subject_only_when_a_base_url_is_given() -> None:
    linked = outline(render_html(sample_pack(), base_url="https://onpace.example/"))
    assert "https://onpace.example/cases/6" in linked.links
    assert "https://onpace.example/kpis/fulfilment_spend" in linked.links
    assert "https://onpace.example/krs/KR1" in linked.links
    assert "https://onpace.example/dependencies" in linked.links
    unlinked = outline(render_html(sample_pack()))
    assert all(link.startswith("#section-") for link in unlinked.links)


def test_an_item_without_a_case_links_to_its_subject_page() -> None:
    item = ReviewItem(
        key="at_risk:perfect_order_rate",
        section="at_risk",
        subject="perfect_order_rate",
        subject_level="kpi",
        title="Perfect orders (%)",
        headline="red in 4 weeks",
    )
    body = render_body(sample_pack(sections=(section("at_risk", item),)), base_url="")
    assert '<a href="/kpis/perfect_order_rate">Perfect orders (%)</a>' in body


def test_typed_text_is_escaped_so_it_can_never_become_markup() -> None:
    hostile = '<img src="http://127.0.0.1:9/x.png"><script>alert(1)</script>'
    item = ReviewItem(
        key="new_breaches:x",
        section="new_breaches",
        subject="x",
        subject_level="kpi",
        title=hostile,
        headline=hostile,
        owner_name=hostile,
        case_id=1,
        explanation=hostile,
    )
    html = render_html(sample_pack(sections=(section("new_breaches", item),), org=hostile))
    found = outline(html)
    assert "img" not in found.tags
    assert "script" not in found.tags
    assert "&lt;img src=&#34;http://127.0.0.1:9/x.png&#34;&gt;" in html


def test_the_web_body_is_the_document_body_without_the_frame() -> None:
    pack = sample_pack()
    body = render_body(pack, base_url="")
    assert "<html" not in body
    assert "<style" not in body
    assert body.strip().startswith('<div class="pack"')
    assert str(body) in render_html(pack, base_url="")
    assert 'href="/cases/6"' in body


def test_a_charts_text_names_its_subject_by_title() -> None:
    from onpace.reports.svg_chart import chart_svg

    chart = Chart(
        subject="KR2",
        periods=(dt.date(2026, 11, 2), dt.date(2026, 11, 9)),
        plan=(1.0, 2.0),
        actual=(1.0, 1.5),
        forecast=(None, 2.1),
        low=(None, 1.9),
        high=(None, 2.3),
        as_of=dt.date(2026, 11, 11),
    )
    svg = chart_svg(chart, title="Perfect orders from 91% to 97%")
    assert "<title>Perfect orders from 91% to 97%: plan, actual and forecast as of 11 Nov 2026</title>" in svg
    assert "KR2" not in svg
    assert "<b>" not in chart_svg(chart, title="<b>bold</b>")
