"""The engine's verdict on one subject (KPI, KR or objective) as of a date.

This is the hand-off between evaluation (``onpace.domain.evaluate``/``graph``) and governance
(``onpace.domain.governance``): the engine computes polars frames over all series at once and
turns the final frame into one :class:`SubjectResult` per subject for the decisions that follow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Status = Literal["green", "amber", "red", "no_data", "unplanned"]
Level = Literal["kpi", "kr", "objective"]
STATUSES: tuple[Status, ...] = ("green", "amber", "red", "no_data", "unplanned")

# Scores used by the objective roll-up (DESIGN.md §4): green 0, amber or at risk 1, red 2.
STATUS_SCORE: dict[str, int] = {"green": 0, "amber": 1, "red": 2}


#: The fields of a verdict, in the order the engine builds them and the store compares them.
VERDICT_FIELDS = (
    "subject",
    "level",
    "status",
    "at_risk",
    "stale",
    "threatened_by",
    "plan_to_date",
    "actual_to_date",
    "variance_abs",
    "variance_pct",
    "forecast_end",
    "forecast_low",
    "forecast_high",
    "plan_end",
    "p_target",
    "weeks_to_red",
    "attainment",
    "last_point",
)


@dataclass(frozen=True)
class SubjectResult:
    """Return value of the engine for one subject; every float is finite or None (never NaN/inf).

    ``status`` is today's status; when ``stale`` it is the last status computed from data.
    ``at_risk`` means today green/amber but the end-of-cycle projection is red (or amber,
    per policy). ``threatened_by`` lists the KPIs that threaten a KR (empty for KPIs).
    """

    subject: str
    level: Level
    as_of: dt.date
    status: Status
    at_risk: bool = False
    stale: bool = False
    threatened_by: tuple[str, ...] = ()
    plan_to_date: float | None = None
    actual_to_date: float | None = None
    variance_abs: float | None = None
    variance_pct: float | None = None
    forecast_end: float | None = None
    forecast_low: float | None = None
    forecast_high: float | None = None
    plan_end: float | None = None
    p_target: float | None = None
    weeks_to_red: int | None = None
    attainment: float | None = None
    last_point: dt.date | None = None

    @property
    def effective_status(self) -> str:
        """Return the status with at-risk folded in: 'at_risk' when green/amber but projected to miss."""
        if self.at_risk and self.status in ("green", "amber"):
            return "at_risk"
        return self.status
