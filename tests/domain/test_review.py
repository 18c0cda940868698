"""The review pack's pure parts: ranking by impact, the subjects' weights, week-over-week changes, the schedule."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from onpace.domain.model import (
    Dependency,
    Feed,
    Initiative,
    KeyResult,
    Kpi,
    Model,
    Objective,
    Side,
    Source,
    Unit,
)
from onpace.domain.review import (
    SECTION_TITLES,
    ActionLine,
    Chart,
    ReviewItem,
    ReviewPack,
    SectionKey,
    assemble_sections,
    diff_packs,
    next_review_at,
    pack_digest,
    rank_items,
    subject_weights,
    unit_tree,
)
from onpace.domain.review_codec import pack_from_doc, pack_to_doc

AS_OF = dt.date(2026, 6, 7)
NOW = dt.datetime(2026, 6, 8, 6, 0, tzinfo=dt.UTC)


def item(
    key: str,
    *,
    section: SectionKey = "new_breaches",
    impact: float = 0.0,
    status: str | None = "red",
    since: dt.date | None = None,
    headline: str = "412 vs plan 500 to date (-17.6 %)",
    state: str | None = None,
    subject: str | None = None,
) -> ReviewItem:
    return ReviewItem(
        key=f"{section}:{key}",
        section=section,
        subject=subject or key,
        subject_level="kpi",
        title=f"Title of {key}",
        headline=headline,
        impact=impact,
        status=status,
        since=since,
        state=state,
    )


def pack(*items: ReviewItem) -> ReviewPack:
    return ReviewPack(org="Acme", as_of=AS_OF, generated_at=NOW, sections=assemble_sections(items))


# ---------------------------------------------------------------------------------------------
# ranking


def test_items_are_ranked_by_impact_then_worse_status_then_the_longer_wait() -> None:
    ranked = rank_items(
        [
            item("small", impact=0.1),
            item("amber", impact=0.5, status="amber"),
            item("red_new", impact=0.5, since=dt.date(2026, 6, 1)),
            item("red_old", impact=0.5, since=dt.date(2026, 5, 1)),
            item("big", impact=0.9, status="amber"),
        ]
    )
    assert [i.subject for i in ranked] == ["big", "red_old", "red_new", "amber", "small"]


def test_every_section_is_in_the_pack_in_order_even_when_empty() -> None:
    sections = assemble_sections(
        [item("b", impact=0.2), item("a", impact=0.7), item("x", section="pollution")]
    )
    assert [s.key for s in sections] == list(SECTION_TITLES)
    assert [s.title for s in sections] == list(SECTION_TITLES.values())
    by_key = {s.key: s for s in sections}
    assert [i.subject for i in by_key["new_breaches"].items] == ["a", "b"]
    assert [i.subject for i in by_key["pollution"].items] == ["x"]
    assert by_key["at_risk"].items == ()


# ---------------------------------------------------------------------------------------------
# weights


def weighted_model() -> Model:
    return Model(
        org="Acme",
        units=(
            Unit("exec", "Executive"),
            Unit("ops", "Operations", parent="exec"),
            Unit("wh", "Warehouse", "ops"),
        ),
        objectives=(
            Objective(
                "O1",
                "Deliver",
                "Q1",
                "exec",
                "ceo",
                key_results=(
                    KeyResult("KR1", "On time", "O1", "maria", weight=2, kpi="on_time"),
                    KeyResult("KR2", "Cheap", "O1", "maria", weight=1),
                ),
            ),
        ),
        kpis=(
            Kpi("on_time", "On time", "ops", ("maria",), feeds=(Feed("KR2", 0.5),)),
            Kpi("orders", "Orders", "ops", ("lee",), feeds=(Feed("KR2", 0.6),)),
            Kpi("late", "Late", "ops", ("lee",), source="wms"),
            Kpi(
                "share_late",
                "Share late",
                "ops",
                ("lee",),
                formula="late / orders",
                feeds=(Feed("KR1", 0.3),),
            ),
            Kpi("spend", "Spend", "ops", ("lee",), kind="cost"),
            Kpi("vanity", "Page views", "ops", ("lee",), source="wms"),
        ),
        initiatives=(Initiative("I1", "Routes", "maria", "ops", supports=("KR1", "KR2"), cost="spend"),),
        dependencies=(
            Dependency(
                "D1", "API", Side("it", "raj"), Side("ops", "lee"), AS_OF, kpi="late", blocks=("KR2",)
            ),
        ),
        sources=(Source("wms", "push"),),
    )


def test_weights_carry_each_subjects_share_of_the_objectives_along_every_path() -> None:
    weights = subject_weights(weighted_model())
    kr1, kr2 = 2 / 3, 1 / 3
    assert weights["O1"] == 1.0
    assert weights["KR1"] == pytest.approx(kr1)
    assert weights["KR2"] == pytest.approx(kr2)
    # Measures KR1 (weight 1) and feeds KR2 (0.5): the paths add up.
    assert weights["on_time"] == pytest.approx(kr1 + 0.5 * kr2)
    share_late = 0.3 * kr1
    assert weights["share_late"] == pytest.approx(share_late)
    # An input of a formula carries what the formula carries, besides its own links.
    assert weights["orders"] == pytest.approx(0.6 * kr2 + share_late)
    assert weights["late"] == pytest.approx(share_late)
    # An initiative's cost KPI reaches the KRs it buys, its weight spread evenly over them.
    assert weights["spend"] == pytest.approx(0.5 * kr1 + 0.5 * kr2)
    assert weights["vanity"] == 0.0
    assert weights["D1"] == pytest.approx(kr2 + share_late)
    assert weights["wms"] == pytest.approx(share_late)


def test_a_unit_tree_holds_the_unit_and_every_unit_below_it() -> None:
    model = weighted_model()
    assert unit_tree(model, "ops") == {"ops", "wh"}
    assert unit_tree(model, "exec") == {"exec", "ops", "wh"}
    assert unit_tree(model, "wh") == {"wh"}


# ---------------------------------------------------------------------------------------------
# week over week


def test_a_first_comparison_with_an_empty_pack_reports_every_item_as_new() -> None:
    current = pack(item("orders", impact=0.5), item("waste", section="at_risk", status="at_risk"))
    changes = diff_packs({}, current)
    assert [(c.kind, c.key) for c in changes] == [("new", "new_breaches:orders"), ("new", "at_risk:waste")]
    assert changes[0].after == "412 vs plan 500 to date (-17.6 %)"


def test_figures_moving_alone_are_not_a_change_but_a_new_status_or_state_is() -> None:
    before = pack(
        item("orders", section="escalations", state="level 1, Ana"),
        item("waste", section="at_risk", status="at_risk", state="red in 3 weeks"),
        item("spend", section="overdue", status="amber"),
    )
    after = pack(
        item("orders", section="escalations", state="level 2, Grace", headline="other figures"),
        item("waste", section="at_risk", status="at_risk", state="red in 3 weeks", headline="new figures"),
        item("spend", section="overdue", status="red"),
    )
    changes = diff_packs(pack_digest(before), after)
    assert [(c.kind, c.key, c.before, c.after) for c in changes] == [
        ("changed", "overdue:spend", "amber", "red"),
        ("changed", "escalations:orders", "red; level 1, Ana", "red; level 2, Grace"),
    ]


def test_an_item_that_left_the_pack_is_reported_gone_with_where_its_subject_went() -> None:
    before = pack(item("orders"), item("waste"))
    after = pack(item("orders", section="overdue"))
    changes = diff_packs(pack_digest(before), after)
    assert [(c.kind, c.key) for c in changes] == [
        ("gone", "new_breaches:orders"),
        ("gone", "new_breaches:waste"),
        ("new", "overdue:orders"),
    ]
    orders, waste = changes[0], changes[1]
    assert orders.title == "Title of orders"
    assert orders.before == "412 vs plan 500 to date (-17.6 %)"
    assert orders.after == f"now under {SECTION_TITLES['overdue']}"
    assert waste.after is None


def test_the_same_pack_twice_has_no_changes() -> None:
    current = pack(item("orders"), item("waste", section="handoffs", status="late", state="late"))
    assert diff_packs(pack_digest(current), current) == ()


# ---------------------------------------------------------------------------------------------
# storage form


def test_a_pack_survives_json_and_back_unchanged() -> None:
    chart = Chart(
        "orders",
        (dt.date(2026, 5, 25), dt.date(2026, 6, 1)),
        (100.0, 200.0),
        (90.0, None),
        (None, 170.0),
        (None, 150.0),
        (None, 190.0),
        AS_OF,
        "flow",
    )
    full = ReviewItem(
        key="new_breaches:orders",
        section="new_breaches",
        subject="orders",
        subject_level="kpi",
        title="Orders",
        headline="90 vs plan 100",
        impact=0.4,
        status="red",
        owner="ana",
        owner_name="Ana Costa",
        unit="online",
        since=dt.date(2026, 6, 1),
        case_id=7,
        holder_name="Grace Obi",
        explanation="Courier strike",
        cause="external",
        actions=(ActionLine("Second courier", "Ana Costa", dt.date(2026, 6, 5), overdue=True),),
        causes=("a cause",),
        facts={"explain by": "2026-06-09"},
        chart=chart,
        state="x",
    )
    original = pack(full, item("waste", section="pollution", status=None))
    original = ReviewPack(
        original.org,
        original.as_of,
        original.generated_at,
        original.sections,
        changes=diff_packs({}, original),
        unit="online",
        unit_name="Online shop",
        previous_as_of=dt.date(2026, 5, 31),
    )
    doc = json.loads(json.dumps(pack_to_doc(original)))
    assert pack_from_doc(doc, pack_id=12) == ReviewPack(**{**vars(original), "id": 12})


# ---------------------------------------------------------------------------------------------
# schedule


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (dt.datetime(2026, 2, 3, 9, 0, tzinfo=dt.UTC), dt.datetime(2026, 2, 9, 6, 0, tzinfo=dt.UTC)),
        (dt.datetime(2026, 2, 9, 5, 59, tzinfo=dt.UTC), dt.datetime(2026, 2, 9, 6, 0, tzinfo=dt.UTC)),
        (dt.datetime(2026, 2, 9, 6, 0, tzinfo=dt.UTC), dt.datetime(2026, 2, 16, 6, 0, tzinfo=dt.UTC)),
        (
            dt.datetime(2026, 2, 8, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
            dt.datetime(2026, 2, 16, 6, 0, tzinfo=dt.UTC),
        ),
    ],
)
def test_the_next_review_is_the_first_review_day_at_its_hour_after_now(
    after: dt.datetime, expected: dt.datetime
) -> None:
    assert next_review_at("monday", after, dt.time(6, 0)) == expected


def test_an_unknown_review_day_is_refused() -> None:
    with pytest.raises(ValueError, match="not a weekday: 'someday'"):
        next_review_at("someday", NOW, dt.time(6, 0))
