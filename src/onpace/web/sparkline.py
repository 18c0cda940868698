"""Draw a trend sparkline as a small inline SVG on the server (no script per table row)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

WIDTH = 96
HEIGHT = 22


def sparkline_svg(values: Sequence[float | None], width: int = WIDTH, height: int = HEIGHT) -> Markup:
    """Return an SVG polyline of the finite ``values`` (empty markup when fewer than two)."""
    points = [float(v) for v in values if v is not None and math.isfinite(v)]
    if len(points) < 2:
        return Markup("")
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    step = (width - 2) / (len(points) - 1)
    coords = " ".join(
        f"{1 + i * step:.1f},{height - 2 - (p - low) / span * (height - 4):.1f}" for i, p in enumerate(points)
    )
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="trend"><polyline fill="none" stroke="currentColor" stroke-width="1.5" '
        f'points="{coords}"/></svg>'
    )
