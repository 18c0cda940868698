"""The KPI / KR page charts its own series: a KR measured by a KPI shows that KPI's buckets."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from web_world import Persona, sign_in

pytestmark = pytest.mark.store


def chart_of(page: str) -> dict[str, list[object]]:
    found = re.search(r"data-chart=\"plan\"[^>]*? data-series='([^']*)'", page)
    assert found is not None
    series: dict[str, list[object]] = json.loads(html.unescape(found.group(1)))
    return series


def test_a_kr_measured_by_a_kpi_charts_the_kpis_plan_actual_and_bands(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    kr = chart_of(client.get("/krs/KR1").text)
    kpi = chart_of(client.get("/kpis/online_orders").text)
    assert kr["dates"]
    assert kr["dates"] == kpi["dates"]
    assert kr["actual"] == kpi["actual"]
    assert kr["plan"] == kpi["plan"]
    assert any(value is not None for value in kr["actual"])
    assert any(value is not None for value in kr["amber"])


def test_a_weekly_kpi_page_charts_each_week_of_its_cycle_once_in_order(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    chart = chart_of(client.get("/kpis/online_orders").text)
    dates = chart["dates"]
    assert dates == sorted(dates)
    assert len(dates) == len(set(dates)) > 4
    assert len(chart["forecast"]) == len(dates)


def test_the_lead_lag_table_gives_each_lag_with_its_unit_and_the_pairs_behind_it(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/krs/KR1").text
    table = page.split("<h2>Does it lead?</h2>", 1)[1].split("</table>", 1)[0]
    assert "<th>Declared lag (days)</th>" in table
    assert "<th>Measured lag (buckets of the KPI's grain)</th>" in table
    assert "<th>Pairs</th>" in table
    cells = re.findall(r"<td>([^<]*)</td>", table)
    assert any(re.fullmatch(r"\d+ days", cell) for cell in cells)
