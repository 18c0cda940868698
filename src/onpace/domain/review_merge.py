"""Show each open case once in a review pack, and count what the pack asks a reader to decide.

The section builders look at the organisation from several sides (new breaches, threats,
overdue deadlines, escalations …), so one case is often found by several of them. A reader
must see it once: :func:`merge_items` keeps the item of the first section that found it (the
sections are in order of urgency), gives it the key of its case so it is followed from week to
week, and keeps what the other sections said about it as ``also`` lines. An item without a
case joins the case item of the same subject, or the first item of its subject.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from onpace.domain.review import SECTION_TITLES, ReviewItem, ReviewPack, SectionKey

#: Sections whose items ask for a decision even without a case (re-baseline requests do too).
DECISION_SECTIONS: frozenset[SectionKey] = frozenset(
    ("new_breaches", "at_risk", "mirages", "threatened", "overdue", "escalations", "handoffs", "still_open")
)
#: Sections that describe the data or the model: their items without a case are merged with nothing.
CONTEXT_SECTIONS: frozenset[SectionKey] = frozenset(("rebaselines", "data_health", "pollution", "tolerances"))


def merge_items(items: Iterable[ReviewItem]) -> list[ReviewItem]:
    """Return ``items`` with every case shown once and every subject without a case shown once.

    Items are taken in section order; the first item of a group stands for the group with the
    group's largest impact, the union of its causes and facts, the sections it was found in and
    the other sections' headlines as ``also`` lines ("Escalations: with Grace Obi (level 1)").
    The merged item of a case is keyed ``case:<id>``. A re-baseline request stays an item of its
    own: approving it is a decision apart from the case it would resolve.
    """
    order = {key: position for position, key in enumerate(SECTION_TITLES)}
    ordered = sorted(items, key=lambda i: order[i.section])
    case_of_subject: dict[str, int] = {}
    for item in ordered:
        if item.case_id is not None and item.section != "rebaselines":
            case_of_subject.setdefault(item.subject, item.case_id)
    groups: dict[str, list[ReviewItem]] = {}
    for item in ordered:
        groups.setdefault(_group(item, case_of_subject), []).append(item)
    return [_merged(key, group) for key, group in groups.items()]


def _group(item: ReviewItem, case_of_subject: dict[str, int]) -> str:
    if item.section == "rebaselines":
        return item.key  # a request is a decision of its own, even on a subject with a case
    if item.case_id is not None:
        return f"case:{item.case_id}"
    if item.section in CONTEXT_SECTIONS:
        return item.key
    known = case_of_subject.get(item.subject)
    return f"case:{known}" if known is not None else f"subject:{item.subject}"


def _merged(key: str, group: list[ReviewItem]) -> ReviewItem:
    first = group[0]
    if len(group) == 1 and not key.startswith("case:"):
        return dataclasses.replace(first, found_in=(first.section,))
    rest = group[1:]
    with_case = next((i for i in group if i.case_id is not None), first)
    causes = tuple(dict.fromkeys(c for i in group for c in i.causes))
    facts = {name: value for i in reversed(group) for name, value in i.facts.items()}
    also = tuple(
        dict.fromkeys(f"{SECTION_TITLES[i.section].split(':')[0]}: {i.headline}" for i in rest if i.headline)
    )
    return dataclasses.replace(
        first,
        key=key if key.startswith("case:") else first.key,
        impact=max(i.impact for i in group),
        causes=causes,
        facts=facts,
        found_in=tuple(dict.fromkeys(i.section for i in group)),
        state="; ".join(dict.fromkeys(i.state for i in group if i.state)) or None,
        also=also,
        case_id=with_case.case_id,
        holder_name=with_case.holder_name,
        explanation=with_case.explanation,
        cause=with_case.cause,
        actions=with_case.actions,
        since=min((i.since for i in group if i.since is not None), default=None),
    )


def is_decision(item: ReviewItem) -> bool:
    """Return whether an item asks the review for a decision (a case, a breach, a request to approve)."""
    if item.case_id is not None or item.section in DECISION_SECTIONS:
        return True
    return item.section == "rebaselines" and item.status == "requested"


@dataclass(frozen=True)
class Summary:
    """The pack on one screen: how many decisions, and how many of them are new, worse or overdue."""

    decisions: int
    new: int
    worsening: int
    overdue: int
    escalated: int


def summarise(pack: ReviewPack) -> Summary:
    """Return the counts a reader sees first; "new" without an earlier pack counts the new breaches."""
    decisions = [i for i in pack.items if is_decision(i)]
    keys = {i.key for i in decisions}
    if pack.previous_as_of is not None:
        new = sum(1 for c in pack.changes if c.kind == "new" and c.key in keys)
    else:
        new = sum(1 for i in decisions if "new_breaches" in (i.found_in or (i.section,)))
    worsening = sum(1 for c in pack.changes if c.worse and c.key in keys)
    return Summary(
        decisions=len(decisions),
        new=new,
        worsening=worsening,
        overdue=sum(1 for i in decisions if "overdue" in (i.found_in or (i.section,))),
        escalated=sum(1 for i in decisions if "escalations" in (i.found_in or (i.section,))),
    )
