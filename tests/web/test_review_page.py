"""The weekly review page: the demo organisation's pack, its links to cases and its PDF and Markdown downloads."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_world import Persona, sign_in

pytestmark = pytest.mark.store

ITEM = re.compile(
    r'<article class="item s-(?P<status>\w+)" data-key="[^"]*" data-subject="(?P<subject>[^"]*)"[^>]*>(?P<body>.*?)</article>',
    re.S,
)


def items(page: str) -> list[re.Match[str]]:
    return list(ITEM.finditer(page))


def test_the_owner_follows_the_red_spend_item_to_its_case_and_downloads_the_pack(
    client: TestClient, personas: dict[str, Persona], tmp_path: Path
) -> None:
    sign_in(client, personas["owner"])
    page = client.get("/review")
    assert page.status_code == 200
    assert "Weekly review · " in page.text
    # The spend went red and its case is still open (unexplained, escalated): the pack lists it.
    spend = [m for m in items(page.text) if m["subject"] == "fulfilment_spend"]
    assert spend, "the fulfilment_spend item is in the pack"
    link = re.search(r'<h3>.*?<a href="(/cases/\d+)">', spend[0]["body"], re.S)
    assert link is not None
    assert "Ana Costa" in spend[0]["body"]
    case = client.get(link.group(1))
    assert case.status_code == 200
    # The case page leads with its subject by name, linked to its page, and its figures.
    assert (
        '<a href="/kpis/fulfilment_spend" title="fulfilment_spend">Micro-fulfilment pilot spend' in case.text
    )
    assert 'id="fig-plan"' in case.text
    assert 'data-chart="plan"' in case.text

    assert 'href="/review.pdf"' in page.text
    pdf = client.get("/review.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    path = tmp_path / "review.pdf"
    path.write_bytes(pdf.content)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages
    assert all(p.stat().st_size > 2_000 for p in pages)

    markdown = client.get("/review.md")
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "fulfilment_spend" in markdown.text or "Micro-fulfilment pilot spend" in markdown.text


def test_the_unit_filter_narrows_the_pack_and_carries_over_to_the_downloads(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/review", params={"unit": "online"}).text
    assert '<option value="online" selected>' in page
    assert "Online shop" in page[page.index('<div class="pack"') :]
    assert 'href="/review.pdf?unit=online"' in page
    assert 'href="/review.md?unit=online"' in page
    everything = client.get("/review").text
    assert len(items(page)) <= len(items(everything))


def test_a_past_date_shows_the_pack_as_of_that_date(client: TestClient, personas: dict[str, Persona]) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/review", params={"as_of": "2026-05-31"}).text
    assert 'data-as-of="2026-05-31"' in page
    assert 'href="/review.pdf?as_of=2026-05-31"' in page


def test_an_unknown_unit_or_a_bad_date_is_a_clear_error_page(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    unknown = client.get("/review", params={"unit": "nope"})
    assert unknown.status_code == 404
    assert "there is no unit &#39;nope&#39;" in unknown.text
    bad = client.get("/review.pdf", params={"as_of": "31/05/2026"})
    assert bad.status_code == 400
    assert "as_of" in bad.text
    assert "YYYY-MM-DD" in bad.text


def test_the_navigation_leads_to_the_review(client: TestClient, personas: dict[str, Persona]) -> None:
    sign_in(client, personas["viewer"])
    assert '<a href="/review">Review</a>' in client.get("/").text
