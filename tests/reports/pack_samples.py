"""Review packs built by hand for the renderer tests: the demo organisation's week of 2026-06-07."""

from __future__ import annotations

import datetime as dt

from onpace.domain.review import (
    SECTION_TITLES,
    ActionLine,
    Change,
    Chart,
    ReviewItem,
    ReviewPack,
    Section,
    SectionKey,
)

AS_OF = dt.date(2026, 6, 7)
WEEKS = tuple(dt.date(2026, 4, 6) + dt.timedelta(weeks=k) for k in range(12))


def weekly_chart(
    subject: str,
    plan_step: float,
    actual_step: float,
    *,
    measure: str = "flow",
    with_forecast: bool = True,
    known_weeks: int = 9,
) -> Chart:
    """Return a to-date chart over the 12 weeks of 2026-Q2: actuals for the first weeks, a forecast after."""
    plan = tuple(plan_step * (k + 1) for k in range(12))
    actual = tuple(actual_step * (k + 1) if k < known_weeks else None for k in range(12))
    last = actual_step * known_weeks
    forecast: tuple[float | None, ...] = tuple(
        last + actual_step * (k + 1 - known_weeks) if with_forecast and k >= known_weeks - 1 else None
        for k in range(12)
    )
    spread = tuple(
        0.0 if k < known_weeks else abs(actual_step) * 0.15 * (k + 1 - known_weeks) for k in range(12)
    )
    low = tuple(f - s if f is not None else None for f, s in zip(forecast, spread, strict=True))
    high = tuple(f + s if f is not None else None for f, s in zip(forecast, spread, strict=True))
    return Chart(subject, WEEKS, plan, actual, forecast, low, high, AS_OF, measure)


def section(key: SectionKey, *items: ReviewItem) -> Section:
    """Return the section ``key`` with its heading and ``items``."""
    return Section(key, SECTION_TITLES[key], items)


SPEND = ReviewItem(
    key="new_breaches:fulfilment_spend",
    section="new_breaches",
    subject="fulfilment_spend",
    subject_level="kpi",
    title="Micro-fulfilment pilot spend (EUR)",
    headline="EUR 212,400 vs plan 180,000, +18.0 %",
    impact=0.9,
    status="red",
    owner="ana",
    owner_name="Ana Costa",
    unit="online",
    since=dt.date(2026, 5, 24),
    case_id=6,
    holder_name="Grace Obi",
    explanation="Courier rates rose in May and the pilot ran two extra vans.",
    cause="capacity",
    actions=(
        ActionLine("Renegotiate the courier contract", "Ana Costa", dt.date(2026, 6, 5), overdue=True),
        ActionLine("Return the second van", "Lina Berg", dt.date(2026, 6, 19)),
        ActionLine("Freeze pilot hiring", "Ana Costa", dt.date(2026, 5, 30), done=True),
    ),
    facts={"escalation": "unit head", "explain by": "2026-05-26"},
    chart=weekly_chart("fulfilment_spend", 20_000, 23_600),
)
ORDERS = ReviewItem(
    key="at_risk:online_orders",
    section="at_risk",
    subject="online_orders",
    subject_level="kpi",
    title="Online orders delivered",
    headline="on plan today; red in 3 weeks (forecast 34,100 vs 38,400)",
    impact=0.6,
    status="at_risk",
    owner="lina",
    owner_name="Lina Berg",
    unit="online",
    since=dt.date(2026, 5, 31),
    case_id=9,
    chart=weekly_chart("online_orders", 3_200, 3_050),
)
MIRAGE = ReviewItem(
    key="mirages:KR1",
    section="mirages",
    subject="KR1",
    subject_level="kr",
    title="3,200 online orders every week",
    headline="reported green (confidence 8) while the data says at risk",
    impact=0.5,
    status="at_risk",
    owner="ana",
    owner_name="Ana Costa",
    since=dt.date(2026, 6, 7),
    case_id=11,
)
THREATENED = ReviewItem(
    key="threatened:O1",
    section="threatened",
    subject="O1",
    subject_level="objective",
    title="Make online grocery the easy choice in our region",
    headline="amber: 2 of 3 key results threatened",
    impact=1.0,
    status="amber",
    owner="grace",
    owner_name="Grace Obi",
    causes=("online_orders at risk (weight 0.6)", "fulfilment_spend red (weight 0.4)"),
)
LATE_ACTION = ReviewItem(
    key="overdue:6",
    section="overdue",
    subject="fulfilment_spend",
    subject_level="kpi",
    title="Renegotiate the courier contract",
    headline="action due 2026-06-05, 2 days late",
    impact=0.9,
    owner="ana",
    owner_name="Ana Costa",
    since=dt.date(2026, 6, 5),
    case_id=6,
)
ESCALATED = ReviewItem(
    key="escalations:6",
    section="escalations",
    subject="fulfilment_spend",
    subject_level="kpi",
    title="Micro-fulfilment pilot spend (EUR)",
    headline="escalated to Grace Obi (unit head) on 2026-05-27",
    impact=0.9,
    status="red",
    owner="ana",
    owner_name="Ana Costa",
    case_id=6,
    holder_name="Grace Obi",
)
HANDOFF = ReviewItem(
    key="handoffs:D1",
    section="handoffs",
    subject="D1",
    subject_level="dependency",
    title="Live stock levels from the warehouse system to the online shop",
    headline="due 2026-05-15, not delivered: 23 days late",
    impact=0.6,
    owner="sam",
    owner_name="Sam Whitfield",
    unit="supply",
    since=dt.date(2026, 5, 15),
    case_id=4,
    facts={"consumer": "Ana Costa (online)"},
)
REBASELINE = ReviewItem(
    key="rebaselines:waste_value",
    section="rebaselines",
    subject="waste_value",
    subject_level="kpi",
    title="Fresh food written off (EUR)",
    headline="target 41,000 → 46,000 (+12.2 %), approved by Grace Obi",
    owner="ivo",
    owner_name="Ivo Marin",
    since=dt.date(2026, 5, 2),
)
STALE = ReviewItem(
    key="data_health:fresh_days_cover",
    section="data_health",
    subject="fresh_days_cover",
    subject_level="kpi",
    title="Days of fresh stock on hand",
    headline="no data since 2026-05-20 (stale); 30 % of points entered by hand",
    owner="ivo",
    owner_name="Ivo Marin",
    since=dt.date(2026, 5, 20),
    case_id=7,
    chart=weekly_chart("fresh_days_cover", 4, 4, measure="level", with_forecast=False, known_weeks=6),
)
POLLUTION = ReviewItem(
    key="pollution:substitution_rate",
    section="pollution",
    subject="substitution_rate",
    subject_level="kpi",
    title="Online items substituted or missing (%)",
    headline="feeds no key result and is not marked a constraint",
    owner="sam",
    owner_name="Sam Whitfield",
    case_id=3,
)

NOISY = ReviewItem(
    key="tolerances:basket_size",
    section="tolerances",
    subject="basket_size",
    subject_level="kpi",
    title="Average basket (EUR)",
    headline=(
        "KPI basket_size: its value moves by about 12 % of plan from one week to the next, beyond what its "
        "plan moves (the median over its last 9 weeks), but its red tolerance is 10 %. Ordinary swings will "
        "turn it red and raise alarms that mean nothing. Widen the red tolerance to at least 24 %, judge it "
        "at a coarser grain, or, if the swings are seasonal, plan it from a reference period (a seasonal plan)."
    ),
    owner="sam",
    owner_name="Sam Whitfield",
    status="hygiene",
)


def sample_pack(**overrides: object) -> ReviewPack:
    """Return a realistic pack: every section, charts with and without forecasts, actions, changes."""
    values: dict[str, object] = {
        "org": "Greenway Grocers",
        "as_of": AS_OF,
        "generated_at": dt.datetime(2026, 6, 8, 6, 0, tzinfo=dt.UTC),
        "sections": (
            section("new_breaches", SPEND),
            section("at_risk", ORDERS),
            section("mirages", MIRAGE),
            section("threatened", THREATENED),
            section("overdue", LATE_ACTION),
            section("escalations", ESCALATED),
            section("handoffs", HANDOFF),
            section("still_open"),
            section("rebaselines", REBASELINE),
            section("data_health", STALE),
            section("pollution", POLLUTION),
            section("tolerances", NOISY),
        ),
        "changes": (
            Change("new", "new_breaches:fulfilment_spend", "new_breaches", SPEND.title, after="red"),
            Change(
                "changed", "at_risk:online_orders", "at_risk", ORDERS.title, before="amber", after="at risk"
            ),
            Change(
                "gone", "new_breaches:perfect_order_rate", "new_breaches", "Perfect orders (%)", before="red"
            ),
        ),
        "previous_as_of": dt.date(2026, 5, 31),
        "id": 3,
    }
    values.update(overrides)
    return ReviewPack(**values)  # type: ignore[arg-type]
