"""The server-drawn chart: a self-contained SVG with a path per series, a band only with a forecast, all inside its box."""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pack_samples import AS_OF, WEEKS, weekly_chart

from onpace.domain.review import Chart
from onpace.reports.svg_chart import chart_svg, format_number

NS = {"svg": "http://www.w3.org/2000/svg"}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def series_paths(root: ET.Element) -> dict[str, ET.Element]:
    return {p.get("data-series", ""): p for p in root.iterfind(".//svg:path", NS)}


def view_box(root: ET.Element) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in (root.get("viewBox") or "").split())
    return x, y, w, h


def coordinates(root: ET.Element) -> list[tuple[float, float]]:
    """Return every drawn point: path and polygon vertices, circle centres, line ends, text anchors."""
    found: list[tuple[float, float]] = []
    for element in root.iter():
        tag = element.tag.split("}")[-1]
        if tag == "path":
            numbers = [float(n) for n in NUMBER.findall(element.get("d", ""))]
            found += list(zip(numbers[::2], numbers[1::2], strict=True))
        elif tag == "polygon":
            for pair in element.get("points", "").split():
                x, y = pair.split(",")
                found.append((float(x), float(y)))
        elif tag == "circle":
            found.append((float(element.get("cx", "nan")), float(element.get("cy", "nan"))))
        elif tag == "line":
            found += [
                (float(element.get("x1", "nan")), float(element.get("y1", "nan"))),
                (float(element.get("x2", "nan")), float(element.get("y2", "nan"))),
            ]
        elif tag == "text":
            found.append((float(element.get("x", "nan")), float(element.get("y", "nan"))))
    return found


def assert_inside(root: ET.Element) -> None:
    x0, y0, w, h = view_box(root)
    points = coordinates(root)
    assert points
    for x, y in points:
        assert x0 <= x <= x0 + w, (x, y)
        assert y0 <= y <= y0 + h, (x, y)


def test_a_chart_with_a_forecast_draws_plan_actual_and_forecast_paths_and_a_band() -> None:
    root = parse(chart_svg(weekly_chart("fulfilment_spend", 20_000, 23_600)))
    paths = series_paths(root)
    assert set(paths) == {"plan", "actual", "forecast"}
    bands = root.findall(".//svg:polygon[@data-series='band']", NS)
    assert len(bands) == 1
    # The band spans the last actual bucket and the three after it: four vertices above, four below.
    assert len(bands[0].get("points", "").split()) == 2 * 4
    assert len(root.findall(".//svg:circle[@class='point actual']", NS)) == 9
    assert_inside(root)


def test_a_chart_without_a_forecast_has_no_band_and_no_forecast_path() -> None:
    root = parse(chart_svg(weekly_chart("fresh_days_cover", 4, 4, with_forecast=False, known_weeks=6)))
    assert set(series_paths(root)) == {"plan", "actual"}
    assert root.findall(".//svg:polygon", NS) == []
    assert_inside(root)


def test_the_as_of_marker_stands_between_the_buckets_around_the_date() -> None:
    root = parse(chart_svg(weekly_chart("online_orders", 3_200, 3_050)))
    marker = root.find(".//svg:line[@class='as-of']", NS)
    assert marker is not None
    labels = {t.text: float(t.get("x", "nan")) for t in root.iterfind(".//svg:text[@class='x-label']", NS)}
    # 2026-06-07 is the last day of the bucket starting 2026-06-01: just right of that label.
    assert labels["01 Jun"] < float(marker.get("x1", "nan")) < labels["01 Jun"] + 60
    texts = "".join(root.itertext())
    assert "as of 07 Jun" in texts


def test_the_axes_carry_round_readable_ticks_and_a_few_dates() -> None:
    root = parse(chart_svg(weekly_chart("fulfilment_spend", 20_000, 23_600)))
    ticks = [t.text for t in root.iterfind(".//svg:text[@class='y-tick']", NS)]
    assert ticks == ["0", "100k", "200k", "300k"]
    dates = [t.text for t in root.iterfind(".//svg:text[@class='x-label']", NS)]
    assert 2 <= len(dates) <= 5
    assert dates[0] == "06 Apr"
    assert dates[-1] == "22 Jun"


def test_gaps_in_a_series_break_its_line_instead_of_bridging_them() -> None:
    actual = (10.0, 11.0, None, 13.0, 14.0, float("nan"), 16.0)
    chart = Chart(
        "gappy", WEEKS[:7], (10.0,) * 7, actual, (None,) * 7, (None,) * 7, (None,) * 7, AS_OF, "level"
    )
    root = parse(chart_svg(chart))
    d = series_paths(root)["actual"].get("d", "")
    assert d.count("M") == 3
    # The lonely last point still shows as a dot, like every actual.
    assert len(root.findall(".//svg:circle[@class='point actual']", NS)) == 5
    assert_inside(root)


def test_a_single_bucket_is_drawn_in_the_middle() -> None:
    chart = Chart("one", WEEKS[:1], (5.0,), (4.0,), (None,), (None,), (None,), WEEKS[0], "level")
    root = parse(chart_svg(chart, width=300, height=120))
    circles = root.findall(".//svg:circle", NS)
    assert {c.get("class") for c in circles} == {"point actual", "point plan"}
    assert all(abs(float(c.get("cx", "0")) - (58 + (300 - 58 - 12) / 2)) < 0.1 for c in circles)
    assert_inside(root)


def test_a_constant_series_gets_a_band_of_ticks_around_it() -> None:
    chart = Chart("flat", WEEKS[:4], (0.0,) * 4, (0.0,) * 4, (None,) * 4, (None,) * 4, (None,) * 4, AS_OF)
    root = parse(chart_svg(chart))
    ticks = [float(t.text or "nan") for t in root.iterfind(".//svg:text[@class='y-tick']", NS)]
    assert len(ticks) >= 2
    assert min(ticks) < 0 < max(ticks)
    assert_inside(root)


def test_a_chart_with_no_value_at_all_is_a_small_no_data_picture() -> None:
    chart = Chart(
        "empty_kpi", WEEKS[:3], (None,) * 3, (None,) * 3, (None,) * 3, (None,) * 3, (None,) * 3, AS_OF
    )
    root = parse(chart_svg(chart))
    assert "no data for empty_kpi" in "".join(root.itertext())
    assert root.findall(".//svg:path", NS) == []
    assert float(root.get("height", "0")) < 100


def test_the_subject_is_escaped_and_the_svg_refers_to_nothing_outside_itself() -> None:
    chart = weekly_chart('<script>alert("x")</script>&', 10, 9)
    svg = chart_svg(chart)
    root = parse(svg)
    assert root.find(".//svg:script", NS) is None
    assert "<script>" not in svg
    assert '<script>alert("x")</script>&' in (root.findtext("svg:title", namespaces=NS) or "")
    assert "href" not in svg
    assert "url(" not in svg


def test_numbers_read_short_and_keep_the_precision_of_their_step() -> None:
    assert format_number(2_500, 500) == "2,500"
    assert format_number(283_000, 100_000) == "283k"
    assert format_number(1_250_000, 250_000) == "1.25M"
    assert format_number(12.5, 2.5) == "12.5"
    assert format_number(0.25, 0.05) == "0.25"
    assert format_number(-15_000, 5_000) == "-15k"
    assert format_number(12_345) == "12.3k"
    assert format_number(7) == "7"


values = st.one_of(st.none(), st.floats(-1e9, 1e9), st.sampled_from([math.nan, math.inf, -math.inf]))


@given(
    n=st.integers(1, 30),
    data=st.data(),
    offset=st.integers(-20, 300),
)
def test_every_drawn_coordinate_lies_inside_the_view_box_whatever_the_values(
    n: int, data: st.DataObject, offset: int
) -> None:
    periods = tuple(dt.date(2026, 1, 5) + dt.timedelta(weeks=k) for k in range(n))
    series = [tuple(data.draw(st.lists(values, min_size=n, max_size=n))) for _ in range(5)]
    chart = Chart("any", periods, *series, as_of=dt.date(2026, 1, 5) + dt.timedelta(days=offset))
    root = parse(chart_svg(chart))
    if root.get("class") == "chart-svg no-data":
        return
    assert_inside(root)
    bands = root.findall(".//svg:polygon", NS)
    if all(v is None or not math.isfinite(v) for v in series[2]):
        assert bands == []


@pytest.mark.parametrize(("width", "height"), [(240, 90), (560, 200), (900, 320)])
def test_the_chart_takes_the_size_it_is_given(width: int, height: int) -> None:
    root = parse(chart_svg(weekly_chart("online_orders", 3_200, 3_050), width=width, height=height))
    assert view_box(root) == (0, 0, width, height)
    assert_inside(root)
