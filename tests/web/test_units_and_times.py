"""Pages write figures in their unit of measure and moments in the organisation's time zone."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from web_world import Persona, sign_in

from onpace.web.pages import TEMPLATES


def test_a_kpi_page_shows_its_figures_in_their_unit(client: TestClient, personas: dict[str, Persona]) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/kpis/perfect_order_rate").text
    assert re.search(r"<dt>Actual to date</dt><dd>\d+\.\d%</dd>", page)
    spend = client.get("/kpis/fulfilment_spend").text
    assert re.search(r"<dt>Plan to date</dt><dd>€[\d,]+</dd>", spend)


def test_the_scorecard_shows_figures_in_their_unit(client: TestClient, personas: dict[str, Persona]) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/scorecard").text
    assert re.search(r"\d+\.\d% / \d+\.\d%", page)


def test_a_moment_on_a_page_is_shown_in_the_organisations_time_zone() -> None:
    template = TEMPLATES.env.from_string('{% from "_macros.html" import when with context %}{{ when(v) }}')
    moment = dt.datetime(2026, 1, 18, 23, 30, tzinfo=dt.UTC)
    assert template.render(v=moment, timezone="Europe/Oslo") == "2026-01-19 00:30 CET"
    assert template.render(v=moment, timezone="UTC") == "2026-01-18 23:30 UTC"
    assert template.render(v=None, timezone="UTC") == "–"
