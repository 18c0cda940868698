"""The keys each part of onpace.yaml accepts, in the order the export writes them."""

from __future__ import annotations

from typing import Literal

TOP = (
    "org",
    "calendar",
    "units",
    "people",
    "cycles",
    "objectives",
    "kpis",
    "initiatives",
    "dependencies",
    "sources",
    "policy",
    "notify",
)
CALENDAR = ("week_start", "timezone")
UNIT = ("id", "name", "parent", "head")
PERSON = ("id", "name", "email", "unit")
CYCLE = ("id", "start", "end")
OBJECTIVE = ("id", "title", "cycle", "unit", "owner", "perspective", "key_results")
KEY_RESULT = (
    "id",
    "title",
    "owner",
    "kpi",
    "weight",
    "measure",
    "direction",
    "grain",
    "aggregate",
    "tolerance",
    "plan",
    "plans",
)
KPI = (
    "id",
    "title",
    "formula",
    "kind",
    "unit",
    "uom",
    "owner",
    "measure",
    "direction",
    "grain",
    "aggregate",
    "tolerance",
    "plan",
    "plans",
    "source",
    "leading",
    "constraint",
    "cycle",
    "feeds",
)
FEED = ("kr", "weight", "lag")
TOLERANCE = ("amber", "red")
PLAN = ("baseline", "target", "phasing", "points", "per_bucket", "band", "seasonal_from", "growth")
INITIATIVE = ("id", "title", "owner", "unit", "supports", "cost", "capacity")
DEPENDENCY = ("id", "title", "provider", "consumer", "due", "delivered", "kpi", "blocks")
SIDE = ("unit", "owner")
SOURCE_FIELDS = ("id", "kind", "every")
_LAYOUT = ("format", "date_column", "metrics")
#: The options each source kind reads (see each connector's docstring); any other is a mistake.
SOURCE_OPTIONS: dict[str, tuple[str, ...]] = {
    "csv": ("path", "pattern", "delimiter", *_LAYOUT),
    "excel": ("path", "pattern", "sheet", "header_row", *_LAYOUT),
    "sql": ("url", "query"),
    "http": (
        "url",
        "params",
        "since_default",
        "headers",
        "token",
        "username",
        "password",
        "timeout",
        "records",
        "fields",
        "paginate",
        "aggregate",
    ),
    "push": (),
}
#: Other spellings of a kind accepted in a model file.
SOURCE_KIND_ALIASES = {"xlsx": "excel", "http_json": "http", "json": "http", "database": "sql"}
POLICY = (
    "open_case_on",
    "default_tolerance",
    "sla",
    "escalation",
    "auto_resolve_after",
    "threat_weight",
    "stale_after",
    "at_risk_on",
    "approve_manual",
    "review_weekday",
    "at_risk_after",
    "checkin_valid_for",
)
SLA = ("explain", "act")
NOTIFY = ("id", "url", "units", "people", "events", "digest", "secret")

# The rungs of the escalation ladder, walked from the case owner upwards (DESIGN.md §1 step 5).
ESCALATION_RUNGS = ("owner", "unit_head", "parent_unit_head", "unit_heads_to_top")
# The events a notification route can subscribe to: the `event` values of DESIGN.md §5.
NOTIFY_EVENTS = ("case_opened", "case_escalated", "case_resolved", "status_changed")
AT_RISK_ON: tuple[Literal["red", "amber"], ...] = ("red", "amber")
