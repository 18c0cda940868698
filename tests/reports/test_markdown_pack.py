"""The Markdown pack as a reader meets it: the scope and date, what changed, every section, each item's who, when and what."""

from __future__ import annotations

import datetime as dt

from onpace.domain.review import (
    ActionLine,
    Change,
    Chart,
    ReviewItem,
    ReviewPack,
    assemble_sections,
)
from onpace.reports.markdown import render_markdown, sparkline

AS_OF = dt.date(2026, 6, 7)
BREACH = ReviewItem(
    key="new_breaches:fulfilment_spend",
    section="new_breaches",
    subject="fulfilment_spend",
    subject_level="kpi",
    title="Micro-fulfilment pilot spend (EUR)",
    headline="212,400 vs plan 180,000 to date (+18.0 %)",
    impact=0.4,
    status="red",
    owner="ana",
    owner_name="Ana Costa",
    since=dt.date(2026, 5, 31),
    case_id=6,
    holder_name="Grace Obi",
    explanation="Courier rates rose in May *and* two extra vans ran.",
    cause="capacity",
    actions=(
        ActionLine("Renegotiate the courier contract", "Ana Costa", dt.date(2026, 6, 5), overdue=True),
        ActionLine("Freeze pilot hiring", "Lina Berg", dt.date(2026, 5, 30), done=True),
    ),
    facts={"was": "amber"},
    chart=Chart(
        "fulfilment_spend",
        (dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)),
        (42000.0, 84000.0, 126000.0),
        (40000.0, 90000.0, None),
        (None, None, 140000.0),
        (None, None, 130000.0),
        (None, None, 150000.0),
        AS_OF,
        "flow",
    ),
)
THREAT = ReviewItem(
    key="threatened:O1",
    section="threatened",
    subject="O1",
    subject_level="objective",
    title="Make online grocery the easy choice",
    headline="amber: 2 of 3 key results off track or threatened",
    impact=1.0,
    status="amber",
    owner="grace",
    owner_name="Grace Obi",
    causes=("Perfect orders (perfect_order_rate): at risk, weight 0.66",),
)


def pack(**fields: object) -> ReviewPack:
    base = ReviewPack(
        org="Greenway Markets",
        as_of=AS_OF,
        generated_at=dt.datetime(2026, 6, 8, 6, 0, tzinfo=dt.UTC),
        sections=assemble_sections([BREACH, THREAT]),
        unit="online",
        unit_name="Online shop",
        id=4,
    )
    return ReviewPack(**{**vars(base), **fields})


def section_text(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_the_title_names_the_organisation_the_unit_and_the_date() -> None:
    text = render_markdown(pack())
    assert text.startswith("# Weekly review: Greenway Markets — Online shop\n")
    assert "As of 7 Jun 2026 · generated 8 Jun 2026, 06:00 UTC · pack #4" in text
    assert "**2 decision(s) needed**" in text


def test_every_section_is_listed_and_an_empty_one_says_it_was_checked() -> None:
    text = render_markdown(pack())
    assert "## 1. New breaches (1)" in text
    assert "## 11. KPI pollution (0)" in text
    assert "## 12. Tolerances narrower than the KPI's own noise (0)" in text
    assert section_text(text, "## 2. At risk").splitlines()[2] == "Nothing this week."
    assert text.count("Nothing this week.") == 10


def test_an_item_says_who_since_when_the_case_what_was_explained_and_the_actions() -> None:
    text = section_text(render_markdown(pack(), base_url="https://onpace.example/"), "## 1. New breaches")
    assert "### Micro-fulfilment pilot spend (EUR) (`fulfilment_spend`)" in text
    assert "212,400 vs plan 180,000 to date (+18.0 %)" in text
    assert (
        "- status red · owner Ana Costa · held by Grace Obi · since 31 May 2026 · "
        "[case #6](https://onpace.example/cases/6)"
    ) in text
    assert "- Explained (capacity): Courier rates rose in May \\*and\\* two extra vans ran." in text
    assert "  - [ ] Renegotiate the courier contract — Ana Costa, due 5 Jun 2026 **overdue**" in text
    assert "  - [x] Freeze pilot hiring — Lina Berg, due 30 May 2026" in text
    assert "- Was: amber" in text
    assert "- Trend: `" in text


def test_case_links_are_relative_to_the_site_without_a_base_address() -> None:
    assert "[case #6](/cases/6)" in render_markdown(pack())


def test_causes_are_listed_under_a_threatened_objective() -> None:
    text = section_text(render_markdown(pack()), "## 4. Threatened")
    assert "- Cause: Perfect orders (perfect\\_order\\_rate): at risk, weight 0.66" in text


def test_the_changes_since_the_last_pack_come_first_and_name_what_left() -> None:
    changes = (
        Change("new", BREACH.key, "new_breaches", BREACH.title, after=BREACH.headline),
        Change(
            "changed",
            "escalations:3",
            "escalations",
            "Perfect orders",
            before="at risk; level 1",
            after="at risk; level 2",
        ),
        Change(
            "gone", "new_breaches:waste", "new_breaches", "Fresh waste", before="4.1 vs plan 3.3", after=None
        ),
    )
    text = render_markdown(pack(changes=changes, previous_as_of=dt.date(2026, 5, 31)))
    part = section_text(text, "## What changed since 31 May 2026")
    assert text.index("## What changed") < text.index("## 1. New breaches")
    assert (
        "- **New** in New breaches: Micro-fulfilment pilot spend (EUR) — 212,400 vs plan 180,000 to date (+18.0 %)"
    ) in part
    assert "- **Changed** in Escalations: Perfect orders — at risk; level 1 → at risk; level 2" in part
    assert "- **Gone** from" not in part
    assert "- **Gone** in New breaches: Fresh waste — was: 4.1 vs plan 3.3; no longer in the pack" in part


def test_a_first_pack_and_a_quiet_week_say_so() -> None:
    assert "nothing to compare with yet" in render_markdown(pack())
    quiet = render_markdown(pack(previous_as_of=dt.date(2026, 5, 31)))
    assert "## What changed since 31 May 2026\n\nNothing changed." in quiet


def test_a_sparkline_needs_two_actuals_and_scales_actuals_with_the_plan() -> None:
    assert BREACH.chart is not None
    assert sparkline(BREACH.chart) == "`▁█` actual · `▁▇` plan"
    one = Chart("x", (AS_OF,), (1.0,), (1.0,), (None,), (None,), (None,), AS_OF)
    assert sparkline(one) is None
