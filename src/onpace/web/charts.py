"""Mark a plan chart's events on its time axis: re-baselines, cases opened and check-ins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from onpace.domain.cases import Case
from onpace.domain.checkins import CheckIn
from onpace.domain.model import PlanVersion


def chart_markers(
    chart: Mapping[str, Any],
    *,
    versions: Sequence[PlanVersion] = (),
    cases: Iterable[Case] = (),
    checkins: Iterable[CheckIn] = (),
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return ``chart`` with ``markers``: one per re-baseline (a version after the first), case and check-in.

    Only markers inside the chart's dates are kept; each has a date, a kind and a label in words.
    """
    dates = list(chart.get("dates") or [])
    if not dates:
        return dict(chart)
    first, last = dates[0], max(dates[-1], str(chart.get("as_of") or ""))
    people = names or {}
    found: list[dict[str, str]] = []
    for version in versions:
        if version.version > 1:
            found.append(
                {
                    "date": version.effective.isoformat(),
                    "kind": "re-baseline",
                    "label": f"plan v{version.version}: {version.reason}".strip(": "),
                }
            )
    for case in cases:
        found.append(
            {
                "date": case.opened_at.date().isoformat(),
                "kind": "case",
                "label": f"case #{case.id} opened ({case.kind.replace('_', ' ')})",
            }
        )
    for checkin in checkins:
        who = people.get(checkin.by, checkin.by)
        found.append(
            {
                "date": checkin.date.isoformat(),
                "kind": "check-in",
                "label": f"{who} reported {checkin.status.replace('_', ' ')} (confidence {checkin.confidence})",
            }
        )
    kept = [m for m in found if first <= m["date"] <= last]
    return {**chart, "markers": sorted(kept, key=lambda m: m["date"])}
