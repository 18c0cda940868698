"""Turn a review pack into plain JSON data and back, so a stored pack reads as it was generated.

Dates and times are ISO text, tuples are lists, and every optional field is written even when
empty, so a document can be read without knowing which version wrote it: a field this version
does not know is ignored, one it misses takes its default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from onpace.domain.review import (
    SECTION_TITLES,
    ActionLine,
    Change,
    ChangeKind,
    Chart,
    ReviewItem,
    ReviewPack,
    Section,
    SectionKey,
)

Doc = dict[str, Any]


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _read_day(value: object) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def _numbers(values: Sequence[object]) -> tuple[float | None, ...]:
    return tuple(float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None for v in values)


def _section(value: object) -> SectionKey:
    for key in SECTION_TITLES:
        if key == value:
            return key
    raise ValueError(f"unknown review section {value!r}")


def _change_kind(value: object) -> ChangeKind:
    for kind in ("new", "gone", "changed"):
        if kind == value:
            return kind
    raise ValueError(f"unknown kind of change {value!r}")


def chart_to_doc(chart: Chart) -> Doc:
    """Return a chart as JSON data."""
    return {
        "subject": chart.subject,
        "periods": [p.isoformat() for p in chart.periods],
        "plan": list(chart.plan),
        "actual": list(chart.actual),
        "forecast": list(chart.forecast),
        "low": list(chart.low),
        "high": list(chart.high),
        "as_of": chart.as_of.isoformat(),
        "measure": chart.measure,
    }


def chart_from_doc(doc: Mapping[str, Any]) -> Chart:
    """Return the chart written by :func:`chart_to_doc`."""
    return Chart(
        subject=str(doc["subject"]),
        periods=tuple(dt.date.fromisoformat(p) for p in doc.get("periods", ())),
        plan=_numbers(doc.get("plan", ())),
        actual=_numbers(doc.get("actual", ())),
        forecast=_numbers(doc.get("forecast", ())),
        low=_numbers(doc.get("low", ())),
        high=_numbers(doc.get("high", ())),
        as_of=dt.date.fromisoformat(doc["as_of"]),
        measure=str(doc.get("measure", "")),
    )


def item_to_doc(item: ReviewItem) -> Doc:
    """Return an item as JSON data."""
    return {
        "key": item.key,
        "section": item.section,
        "subject": item.subject,
        "subject_level": item.subject_level,
        "title": item.title,
        "headline": item.headline,
        "impact": item.impact,
        "status": item.status,
        "owner": item.owner,
        "owner_name": item.owner_name,
        "unit": item.unit,
        "unit_name": item.unit_name,
        "since": _day(item.since),
        "case_id": item.case_id,
        "holder_name": item.holder_name,
        "explanation": item.explanation,
        "cause": item.cause,
        "actions": [
            {
                "title": a.title,
                "owner": a.owner,
                "due": a.due.isoformat(),
                "done": a.done,
                "overdue": a.overdue,
            }
            for a in item.actions
        ],
        "causes": list(item.causes),
        "facts": dict(item.facts),
        "chart": chart_to_doc(item.chart) if item.chart is not None else None,
        "state": item.state,
        "found_in": list(item.found_in),
        "also": list(item.also),
    }


def item_from_doc(doc: Mapping[str, Any]) -> ReviewItem:
    """Return the item written by :func:`item_to_doc`."""
    case_id = doc.get("case_id")
    return ReviewItem(
        key=str(doc["key"]),
        section=_section(doc["section"]),
        subject=str(doc["subject"]),
        subject_level=str(doc.get("subject_level", "")),
        title=str(doc.get("title", "")),
        headline=str(doc.get("headline", "")),
        impact=float(doc.get("impact") or 0.0),
        status=doc.get("status"),
        owner=doc.get("owner"),
        owner_name=doc.get("owner_name"),
        unit=doc.get("unit"),
        unit_name=doc.get("unit_name"),
        since=_read_day(doc.get("since")),
        case_id=int(case_id) if isinstance(case_id, int) else None,
        holder_name=doc.get("holder_name"),
        explanation=doc.get("explanation"),
        cause=doc.get("cause"),
        actions=tuple(
            ActionLine(
                title=str(a["title"]),
                owner=a.get("owner"),
                due=dt.date.fromisoformat(a["due"]),
                done=bool(a.get("done")),
                overdue=bool(a.get("overdue")),
            )
            for a in doc.get("actions", ())
        ),
        causes=tuple(str(c) for c in doc.get("causes", ())),
        facts={str(k): str(v) for k, v in (doc.get("facts") or {}).items()},
        chart=chart_from_doc(doc["chart"]) if doc.get("chart") else None,
        state=doc.get("state"),
        found_in=tuple(_section(s) for s in doc.get("found_in", ()) if s in SECTION_TITLES),
        also=tuple(str(a) for a in doc.get("also", ())),
    )


def pack_to_doc(pack: ReviewPack) -> Doc:
    """Return the whole pack as JSON data (its id is the store's and is not written)."""
    return {
        "org": pack.org,
        "as_of": pack.as_of.isoformat(),
        "generated_at": pack.generated_at.isoformat(),
        "unit": pack.unit,
        "unit_name": pack.unit_name,
        "previous_as_of": _day(pack.previous_as_of),
        "sections": [
            {"key": s.key, "title": s.title, "items": [item_to_doc(i) for i in s.items]}
            for s in pack.sections
        ],
        "changes": [
            {
                "kind": c.kind,
                "key": c.key,
                "section": c.section,
                "title": c.title,
                "before": c.before,
                "after": c.after,
                "worse": c.worse,
            }
            for c in pack.changes
        ],
    }


def pack_from_doc(doc: Mapping[str, Any], *, pack_id: int | None = None) -> ReviewPack:
    """Return the pack written by :func:`pack_to_doc`, with the store's id ``pack_id``."""
    return ReviewPack(
        org=str(doc["org"]),
        as_of=dt.date.fromisoformat(doc["as_of"]),
        generated_at=dt.datetime.fromisoformat(doc["generated_at"]),
        sections=tuple(
            Section(
                key=_section(s["key"]),
                title=str(s.get("title") or SECTION_TITLES[_section(s["key"])]),
                items=tuple(item_from_doc(i) for i in s.get("items", ())),
            )
            for s in doc.get("sections", ())
        ),
        changes=tuple(
            Change(
                kind=_change_kind(c["kind"]),
                key=str(c["key"]),
                section=_section(c["section"]),
                title=str(c.get("title", "")),
                before=c.get("before"),
                after=c.get("after"),
                worse=bool(c.get("worse")),
            )
            for c in doc.get("changes", ())
        ),
        unit=doc.get("unit"),
        unit_name=doc.get("unit_name"),
        previous_as_of=_read_day(doc.get("previous_as_of")),
        id=pack_id,
    )
