"""Draw a review chart (plan, actual, forecast band) as a self-contained SVG on the server.

The pack is printed, mailed and opened offline, so its charts cannot depend on a script or a
remote resource: each one is plain SVG markup with no script, no link and no external reference.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

from onpace.domain.review import Chart
from onpace.reports.format import format_day

WIDTH = 560
HEIGHT = 200
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 30, 26
X_LABELS = 5
COLOURS = {"plan": "#718096", "actual": "#2b6cb0", "forecast": "#b7791f", "band": "#f6e05e"}
DASHES = {"plan": 'stroke-dasharray="5 3" ', "actual": "", "forecast": 'stroke-dasharray="2 2" '}


def chart_svg(chart: Chart, *, width: int = WIDTH, height: int = HEIGHT, title: str | None = None) -> str:
    """Return an SVG of the chart's plan, actual and forecast with its band and an "as of" marker.

    ``title`` names the subject in the picture's text (its id when none is given). Missing values (``None``, NaN, infinities) leave gaps in the lines; a chart with no value at
    all is a small "no data" picture. Every coordinate lies inside the ``viewBox``.
    """
    n = len(chart.periods)
    series = {
        name: _finite(getattr(chart, name), n) for name in ("plan", "actual", "forecast", "low", "high")
    }
    values = [v for vs in series.values() for v in vs if v is not None]
    label = escape(f"{title or chart.subject}: plan, actual and forecast as of {format_day(chart.as_of)}")
    if n == 0 or not values:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg no-data" width="{width}" height="48" '
            f'viewBox="0 0 {width} 48" role="img"><title>{label}</title>'
            f'<text x="{width / 2:.1f}" y="28" text-anchor="middle" font-size="12" fill="#718096">'
            f"no data for {escape(chart.subject)}</text></svg>"
        )
    ticks = _ticks(min(values), max(values))
    low, high = ticks[0], ticks[-1]
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM

    def x_at(i: float) -> float:
        return LEFT + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    def y_at(v: float) -> float:
        return TOP + plot_h - (v - low) / (high - low) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="DejaVu Sans, sans-serif">',
        f"<title>{label}</title>",
    ]
    step = ticks[1] - ticks[0]
    for tick in ticks:
        y = y_at(tick)
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{width - RIGHT}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            f'<text class="y-tick" x="{LEFT - 4}" y="{y + 3.5:.1f}" text-anchor="end" font-size="10" '
            f'fill="#4a5568">{escape(format_number(tick, step))}</text>'
        )
    for i in _label_indices(n):
        # The last label ends at the right edge so that it is never cut off.
        anchor = "end" if n > 1 and i == n - 1 else "middle"
        parts.append(
            f'<text class="x-label" x="{x_at(i):.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="10" '
            f'fill="#4a5568">{chart.periods[i].strftime("%d %b")}</text>'
        )
    # The band is drawn only where a forecast exists, so a chart without one never shows a band.
    band = [
        (i, lo, hi)
        for i, (lo, hi, mid) in enumerate(zip(series["low"], series["high"], series["forecast"], strict=True))
        if lo is not None and hi is not None and mid is not None
    ]
    for run in _runs(band):
        upper = [f"{x_at(i):.1f},{y_at(hi):.1f}" for i, _, hi in run]
        lower = [f"{x_at(i):.1f},{y_at(lo):.1f}" for i, lo, _ in reversed(run)]
        parts.append(
            f'<polygon class="band" data-series="band" points="{" ".join(upper + lower)}" '
            f'fill="{COLOURS["band"]}" fill-opacity="0.45" stroke="none"/>'
        )
    for name, dash in DASHES.items():
        points = [(x_at(i), y_at(v)) if v is not None else None for i, v in enumerate(series[name])]
        if not any(points):
            continue
        parts.append(
            f'<path class="line {name}" data-series="{name}" d="{_path(points)}" fill="none" '
            f'stroke="{COLOURS[name]}" stroke-width="2" {dash}stroke-linejoin="round"/>'
        )
        lonely = [p for k, p in enumerate(points) if p and not _neighbour(points, k)]
        shown = [p for p in points if p] if name == "actual" else lonely
        parts.extend(
            f'<circle class="point {name}" cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{COLOURS[name]}"/>'
            for px, py in shown
        )
    marker = x_at(_position(chart.periods, chart.as_of))
    parts.append(
        f'<line class="as-of" x1="{marker:.1f}" y1="{TOP}" x2="{marker:.1f}" y2="{TOP + plot_h}" '
        f'stroke="#1a202c" stroke-width="1" stroke-dasharray="3 3"/>'
        f'<text class="as-of-label" x="{min(max(marker, LEFT + 30), width - RIGHT - 30):.1f}" y="{TOP - 6}" '
        f'text-anchor="middle" font-size="10" fill="#1a202c">as of {chart.as_of.strftime("%d %b")}</text>'
    )
    parts.append(_legend())
    parts.append("</svg>")
    return "".join(parts)


def format_number(value: float, step: float = 0.0) -> str:
    """Return ``value`` short and readable (1,250 · 12.5k · 3.4M · 0.25), exact to the tick ``step``.

    Without a step the value keeps three significant digits.
    """
    size = abs(value)
    free = step <= 0
    if free:
        step = 10 ** (math.floor(math.log10(size)) - 2) if size > 0 else 1.0
    scale, suffix = 1.0, ""
    # Thousands get a "k" from 10,000 up: "2,500" reads better than "2.5k" on a small axis.
    for threshold, unit, letter in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if size >= threshold:
            scale, suffix = unit, letter
            break
    text = f"{value / scale:,.{_decimals(step / scale)}f}"
    if free and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + suffix


def _decimals(step: float) -> int:
    """Return how many decimals show ``step`` exactly (at most 4): 2.5 → 1, 0.25 → 2, 100 → 0."""
    for digits in range(4):
        scaled = step * 10**digits
        if abs(scaled - round(scaled)) < 1e-6 * max(1.0, scaled):
            return digits
    return 4


def _finite(values: Sequence[float | None], n: int) -> list[float | None]:
    """Return exactly ``n`` values with every non-finite one as ``None`` (short series are padded)."""
    kept = [float(v) if v is not None and math.isfinite(v) else None for v in values[:n]]
    return kept + [None] * (n - len(kept))


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Return round tick values that cover ``low``..``high`` (a constant series gets a band around it)."""
    if high - low < 1e-12 * max(1.0, abs(high)):
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - 1e-9 * step:
        ticks.append(first + len(ticks) * step)
    return ticks if len(ticks) > 1 else [first, first + step]


def _label_indices(n: int) -> list[int]:
    if n <= X_LABELS:
        return list(range(n))
    return sorted({round(k * (n - 1) / (X_LABELS - 1)) for k in range(X_LABELS)})


def _runs(band: list[tuple[int, float, float]]) -> list[list[tuple[int, float, float]]]:
    """Split the band into runs of consecutive buckets (a gap ends one polygon)."""
    runs: list[list[tuple[int, float, float]]] = []
    for entry in band:
        if runs and runs[-1][-1][0] == entry[0] - 1:
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


def _path(points: list[tuple[float, float] | None]) -> str:
    commands, pen_down = [], False
    for point in points:
        if point is None:
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{point[0]:.1f} {point[1]:.1f}")
        pen_down = True
    return " ".join(commands)


def _neighbour(points: list[tuple[float, float] | None], k: int) -> bool:
    return (k > 0 and points[k - 1] is not None) or (k + 1 < len(points) and points[k + 1] is not None)


def _position(periods: Sequence[dt.date], day: dt.date) -> float:
    """Return the fractional bucket index of ``day`` (clamped to the chart)."""
    if day <= periods[0] or len(periods) == 1:
        return 0.0
    for i in range(len(periods) - 1):
        start, end = periods[i], periods[i + 1]
        if start <= day < end:
            return i + (day - start).days / max((end - start).days, 1)
    return float(len(periods) - 1)


def _legend() -> str:
    items = []
    for k, name in enumerate(("plan", "actual", "forecast")):
        x = LEFT + k * 78
        items.append(
            f'<line x1="{x}" y1="8" x2="{x + 14}" y2="8" stroke="{COLOURS[name]}" stroke-width="2" '
            f"{DASHES[name]}/>"
            f'<text x="{x + 18}" y="11" font-size="10" fill="#4a5568">{name}</text>'
        )
    return f'<g class="legend">{"".join(items)}</g>'
