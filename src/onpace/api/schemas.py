"""Request and response bodies of the REST API, and their conversion to and from the model values.

Requests are strict (``strict=True``: no silent coercion of "12" to 12) and refuse unknown
fields (``extra="forbid"``), so a typo is an error, not an ignored field. Dates are ISO text
(``2026-04-06``), the one non-strict conversion JSON needs.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

IsoDate = Annotated[dt.date, Field(strict=False, description="ISO date, e.g. 2026-04-06")]
IsoDateTime = Annotated[dt.datetime, Field(strict=False)]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=5000)]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Weight = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
# Stored rows are numbered by 32-bit integer keys (PostgreSQL ``integer``): a larger number names
# no row, and handed to the store it would fail there (500) rather than be "not found".
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID, description="a stored row's number")]


class Strict(BaseModel):
    """Base of every request body."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Out(BaseModel):
    """Base of every response body."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------
# model objects


class ThresholdBody(Strict):
    value: Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
    relative: bool = Field(description="true: a fraction of the plan (0.05 = 5 %); false: an absolute amount")


class ToleranceBody(Strict):
    amber: ThresholdBody
    red: ThresholdBody


class PlanPoint(Strict):
    date: IsoDate
    value: Finite


class PlanBody(Strict):
    """A plan: baseline/target with a phasing, explicit points, per_bucket, or seasonal (one form).

    A seasonal plan names its reference period in ``seasonal_from`` (a cycle id, or
    ``YYYY-MM-DD..YYYY-MM-DD``) and its ``growth`` as a fraction (0.05 for 5 %).
    """

    baseline: Finite | None = None
    target: Finite | None = None
    phasing: Literal["linear", "front", "back", "step"] = "linear"
    points: list[PlanPoint] = Field(default_factory=list, max_length=1000)
    per_bucket: Finite | None = None
    band: tuple[Finite, Finite] | None = None
    seasonal_from: ShortText | None = None
    growth: Finite = 0.0


class UnitBody(Strict):
    id: Id
    name: ShortText
    parent: Id | None = None
    head: Id | None = None


class PersonBody(Strict):
    id: Id
    name: ShortText
    email: ShortText | None = None
    unit: Id | None = None


class ObjectiveBody(Strict):
    """An objective; its key results are edited through ``/krs``."""

    id: Id
    title: ShortText
    cycle: Id
    unit: Id | None = None
    owner: Id | None = None
    perspective: Literal["financial", "customer", "internal_process", "learning_growth"] | None = None


class KeyResultBody(Strict):
    id: Id
    title: ShortText
    objective: Id
    owner: Id | None = None
    weight: Weight = 1.0
    kpi: Id | None = None
    measure: Literal["flow", "level", "ratio"] = "level"
    direction: Literal["up", "down", "range"] = "up"
    grain: Literal["day", "week", "month"] = "week"
    aggregate: Literal["sum", "mean", "last", "min", "max"] = "last"
    tolerance: ToleranceBody | None = None
    plan: PlanBody | None = None


class FeedBody(Strict):
    kr: Id
    weight: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    lag_days: Annotated[int, Field(ge=0, le=3660)] = 0


class KpiBody(Strict):
    id: Id
    title: ShortText
    unit: Id | None = None
    owners: list[Id] = Field(default_factory=list, max_length=20)
    measure: Literal["flow", "level", "ratio"] = "level"
    direction: Literal["up", "down", "range"] = "up"
    grain: Literal["day", "week", "month"] = "week"
    aggregate: Literal["sum", "mean", "last", "min", "max"] = "mean"
    tolerance: ToleranceBody | None = None
    plan: PlanBody | None = None
    source: Id | None = None
    leading: bool = False
    feeds: list[FeedBody] = Field(default_factory=list, max_length=200)
    formula: ShortText | None = None
    kind: Literal["outcome", "cost", "capacity"] = "outcome"
    constraint: bool = False
    cycle: Id | None = None
    # Unit of measure (``unit`` is the organisational unit): %, count, days, hours, minutes or a currency code.
    uom: Annotated[str, Field(pattern=r"^(%|count|days|hours|minutes|[A-Z]{3})$")] | None = None


class SideBody(Strict):
    unit: Id
    owner: Id


class DependencyBody(Strict):
    id: Id
    title: ShortText
    provider: SideBody
    consumer: SideBody
    due: IsoDate
    delivered: IsoDate | None = None
    kpi: Id | None = None
    blocks: list[Id] = Field(default_factory=list, max_length=200)


class SaveOut(Out):
    """What an edit changed in the store."""

    changed: bool
    summary: str


# ---------------------------------------------------------------------------------------------
# actuals


class ActualsBody(Strict):
    """A batch of actuals: each record ``{"metric", "date", "value"[, "source"]}``.

    Records are checked one by one; bad ones are reported with their index and reason and the
    good ones kept. Sending the same batch again changes nothing (idempotent).
    """

    model_config = ConfigDict(strict=True, extra="forbid")

    source: Id | None = Field(
        default=None,
        description="A source the model declares with `kind: push`; may be left out when it declares only one.",
    )
    records: list[Any] = Field(max_length=50_000)


class RejectedRecord(Out):
    index: int
    reason: str


class ActualsOut(Out):
    run_id: int
    received: int
    added: int
    corrected: int
    unchanged: int
    rejected: list[RejectedRecord]


# ---------------------------------------------------------------------------------------------
# cases


class ActionOut(Out):
    id: int | None
    title: str
    owner: str
    due: dt.date
    done_at: dt.datetime | None


class CaseOut(Out):
    id: int
    subject: str
    subject_level: str
    family: str
    kind: str
    state: str
    owner: str | None
    holder: str | None
    level: int = Field(description="escalation rung: 0 = the owner")
    participants: list[str]
    joint_review: bool
    opened_at: dt.datetime
    explain_due: dt.datetime
    act_due: dt.datetime
    explained_at: dt.datetime | None
    acted_at: dt.datetime | None
    resolved_at: dt.datetime | None
    severity: float | None
    actions: list[ActionOut]


class CaseEventOut(Out):
    at: dt.datetime
    event: str
    actor: str | None
    detail: dict[str, Any]


class CaseDetailOut(Out):
    case: CaseOut
    events: list[CaseEventOut]


class ExplainBody(Strict):
    category: ShortText
    text: Text


class ActBody(Strict):
    title: ShortText
    owner: Id
    due: IsoDate


class CommentBody(Strict):
    text: Text


class CloseBody(Strict):
    note: Annotated[str, Field(max_length=5000)] = ""


class CompleteBody(Strict):
    action: RowId


# ---------------------------------------------------------------------------------------------
# check-ins, evaluations, what-if, tokens


class CheckinBody(Strict):
    subject: Id
    date: IsoDate
    status: Literal["green", "amber", "red"]
    confidence: Annotated[int, Field(ge=0, le=10)]
    comment: Annotated[str, Field(max_length=5000)] = ""


class CheckinOut(Out):
    subject: str
    date: dt.date
    status: str
    confidence: int | None
    by: str | None
    comment: str | None


class EvaluationOut(Out):
    subject: str
    level: str
    as_of: dt.date
    status: str
    effective_status: str
    at_risk: bool
    stale: bool
    threatened_by: list[str]
    plan_to_date: float | None
    actual_to_date: float | None
    variance_abs: float | None
    variance_pct: float | None
    forecast_end: float | None
    forecast_low: float | None
    forecast_high: float | None
    plan_end: float | None
    p_target: float | None
    weeks_to_red: int | None
    attainment: float | None
    last_point: dt.date | None

    @field_validator(
        "plan_to_date",
        "actual_to_date",
        "variance_abs",
        "variance_pct",
        "forecast_end",
        "forecast_low",
        "forecast_high",
        "plan_end",
        "p_target",
        "attainment",
    )
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        # The engine promises finite numbers; a stray NaN must never reach a client as invalid JSON.
        return value if value is None or math.isfinite(value) else None


class ShiftBody(Strict):
    subject: Id
    pct: Annotated[float, Field(ge=-1000, le=1000, allow_inf_nan=False)] | None = None
    value: Finite | None = None


class WhatIfBody(Strict):
    as_of: IsoDate | None = None
    shifts: list[ShiftBody] = Field(min_length=1, max_length=100)


class FlipOut(Out):
    subject: str
    level: str
    before: str
    after: str


class WhatIfOut(Out):
    as_of: dt.date
    flips: list[FlipOut]


class TokenBody(Strict):
    name: ShortText
    scope: Literal["read", "write"] = "read"


class TokenOut(Out):
    id: int
    name: str
    scope: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewTokenOut(Out):
    id: int
    name: str
    scope: str
    token: str = Field(description="the secret; shown this once, store it now")


class MeOut(Out):
    email: str
    name: str
    role: str
    person: str | None
    via: str
    scope: str


class OrgSeatOut(Out):
    name: str
    role: str
    person: str | None
    current: bool


class RebaselineBody(Strict):
    subject: Id
    plan: PlanBody
    reason: Text
    effective: IsoDate


class DecisionBody(Strict):
    note: Annotated[str, Field(max_length=5000)] = ""


class RebaselineOut(Out):
    id: int
    subject: str
    subject_level: str
    reason: str
    effective: dt.date
    requested_by: str
    requested_at: dt.datetime
    status: str
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str | None
