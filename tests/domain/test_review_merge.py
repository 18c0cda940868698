"""One item per open case in a review pack, and the counts its summary shows."""

from __future__ import annotations

import datetime as dt

from onpace.domain.review import Change, ReviewItem, ReviewPack, SectionKey, assemble_sections
from onpace.domain.review_merge import merge_items, summarise

AS_OF = dt.date(2026, 6, 7)


def item(section: SectionKey, subject: str, case: int | None = None, **fields: object) -> ReviewItem:
    values: dict[str, object] = {
        "key": f"{section}:{case if case is not None else subject}",
        "section": section,
        "subject": subject,
        "subject_level": "kr",
        "title": subject,
        "headline": f"{section} of {subject}",
        "case_id": case,
    }
    values.update(fields)
    return ReviewItem(**values)  # type: ignore[arg-type]


def pack(items: list[ReviewItem], **fields: object) -> ReviewPack:
    values: dict[str, object] = {
        "org": "Org",
        "as_of": AS_OF,
        "generated_at": dt.datetime(2026, 6, 8, tzinfo=dt.UTC),
        "sections": assemble_sections(items),
    }
    values.update(fields)
    return ReviewPack(**values)  # type: ignore[arg-type]


def test_a_case_found_by_several_sections_is_one_item_in_the_first_with_the_others_as_notes() -> None:
    merged = merge_items(
        [
            item("escalations", "KR2", 7, state="level 1, Grace", impact=0.2),
            item("overdue", "KR2", 7, state="explanation"),
            item("new_breaches", "KR2", 7, status="red", impact=0.5),
            item("threatened", "KR2", causes=("substitution: red",)),
        ]
    )
    [only] = merged
    assert (only.key, only.section, only.case_id, only.impact) == ("case:7", "new_breaches", 7, 0.5)
    assert only.found_in == ("new_breaches", "threatened", "overdue", "escalations")
    assert only.also == (
        "Threatened key results and objectives: threatened of KR2",
        "Overdue explanations and actions: overdue of KR2",
        "Escalations: escalations of KR2",
    )
    assert only.causes == ("substitution: red",)
    assert only.state == "explanation; level 1, Grace"


def test_two_cases_on_one_subject_stay_two_items_and_a_request_stays_apart() -> None:
    merged = merge_items(
        [
            item("new_breaches", "KR2", 7),
            item("mirages", "KR2", 8),
            item("rebaselines", "KR2", 7, key="rebaselines:request:1", status="requested"),
        ]
    )
    assert [i.key for i in merged] == ["case:7", "case:8", "rebaselines:request:1"]


def test_the_summary_counts_decisions_not_sections() -> None:
    items = merge_items(
        [
            item("new_breaches", "KR2", 7, status="red"),
            item("overdue", "KR2", 7),
            item("escalations", "KR2", 7),
            item("overdue", "KPI1", 9),
            item("data_health", "source", key="data_health:source", status="stale"),
        ]
    )
    first = summarise(pack(items))
    assert (first.decisions, first.new, first.overdue, first.escalated, first.worsening) == (2, 1, 2, 1, 0)
    later = summarise(
        pack(
            items,
            previous_as_of=AS_OF - dt.timedelta(days=7),
            changes=(
                Change("changed", "case:9", "overdue", "KPI1", before="amber", after="red", worse=True),
                Change("new", "case:7", "new_breaches", "KR2"),
            ),
        )
    )
    assert (later.new, later.worsening) == (1, 1)
