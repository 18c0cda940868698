"""The weekly review pack as values: sections of items ranked by impact, and what changed since last week.

A pack is the list of decisions a weekly review has to make (DESIGN.md §1, step 7), not a status
report. It is built from the store by ``onpace.services.review`` and drawn by ``onpace.reports``
(HTML, PDF, Markdown) and the web app. Every value here is plain data so that a pack can be
stored, compared with last week's and rendered without a database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from onpace.domain.hygiene import formula_inputs
from onpace.domain.model import WEEKDAYS, Model

SectionKey = Literal[
    "new_breaches",
    "at_risk",
    "mirages",
    "threatened",
    "overdue",
    "escalations",
    "handoffs",
    "still_open",
    "rebaselines",
    "data_health",
    "pollution",
    "tolerances",
]

#: The sections in the order a pack shows them, with their headings.
SECTION_TITLES: dict[SectionKey, str] = {
    "new_breaches": "New breaches",
    "at_risk": "At risk: red before the cycle ends",
    "mirages": "Mirages: reported better than the data",
    "threatened": "Threatened key results and objectives",
    "overdue": "Overdue explanations and actions",
    "escalations": "Escalations",
    "handoffs": "Late hand-offs between teams",
    "still_open": "Still open: cases not yet resolved",
    "rebaselines": "Re-baselines this cycle (goalpost shifts)",
    "data_health": "Data health",
    "pollution": "KPI pollution",
    "tolerances": "Tolerances narrower than the KPI's own noise",
}

ChangeKind = Literal["new", "gone", "changed"]


@dataclass(frozen=True)
class Chart:
    """One subject's series for a pack chart: plan, actual and the forecast band per bucket.

    All tuples have one entry per bucket in ``periods`` (bucket start dates); ``None`` where a
    value is unknown (no actual yet, no forecast for a past bucket). Values are in to-date
    units, as the engine's ``buckets`` frame gives them.
    """

    subject: str
    periods: tuple[dt.date, ...]
    plan: tuple[float | None, ...]
    actual: tuple[float | None, ...]
    forecast: tuple[float | None, ...]
    low: tuple[float | None, ...]
    high: tuple[float | None, ...]
    as_of: dt.date
    measure: str = ""


@dataclass(frozen=True)
class ActionLine:
    """A corrective action as a pack shows it."""

    title: str
    owner: str | None
    due: dt.date
    done: bool = False
    overdue: bool = False


@dataclass(frozen=True)
class ReviewItem:
    """One thing to decide on: what, who owns it, since when, what was said and done about it.

    ``key`` identifies the item from one week's pack to the next (``section:subject`` or
    ``section:case-id``); ``impact`` ranks items within a section (the subject's weight on the
    objectives it reaches, larger first); ``headline`` is one line of figures ("412 vs plan 500,
    -17.6 %", "red in 3 weeks"); ``case_id`` links to the case page when there is one.
    """

    key: str
    section: SectionKey
    subject: str
    subject_level: str
    title: str
    headline: str
    impact: float = 0.0
    status: str | None = None
    owner: str | None = None
    owner_name: str | None = None
    unit: str | None = None
    since: dt.date | None = None
    case_id: int | None = None
    unit_name: str | None = None
    holder_name: str | None = None
    explanation: str | None = None
    cause: str | None = None
    actions: tuple[ActionLine, ...] = ()
    causes: tuple[str, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict)
    chart: Chart | None = None
    # What a reader must hear about when it changes from one week to the next, besides the
    # status (a new escalation rung, another overdue deadline); figures that move every week
    # stay out of it so that "changed" means something.
    state: str | None = None
    # Every section the item was found in (it is shown once, in the first), and what those
    # other sections said about it ("Escalations: with Grace Obi (level 1) …").
    found_in: tuple[SectionKey, ...] = ()
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """One section of a pack: its key, heading and items (ranked, highest impact first)."""

    key: SectionKey
    title: str
    items: tuple[ReviewItem, ...]


@dataclass(frozen=True)
class Change:
    """One difference from the previous pack: an item that appeared, went away or changed."""

    kind: ChangeKind
    key: str
    section: SectionKey
    title: str
    before: str | None = None
    after: str | None = None
    worse: bool = False


@dataclass(frozen=True)
class ReviewPack:
    """The weekly review of one organisation (or one unit) as of a date."""

    org: str
    as_of: dt.date
    generated_at: dt.datetime
    sections: tuple[Section, ...]
    changes: tuple[Change, ...] = ()
    unit: str | None = None
    unit_name: str | None = None
    previous_as_of: dt.date | None = None
    id: int | None = None

    @property
    def items(self) -> tuple[ReviewItem, ...]:
        """Return every item of every section, in pack order."""
        return tuple(item for section in self.sections for item in section.items)


# ---------------------------------------------------------------------------------------------
# ranking

#: How pressing a status is, to order items of equal impact (the worst first).
SEVERITY: dict[str, int] = {"red": 4, "at_risk": 3, "amber": 2, "stale": 1}


def rank_items(items: Iterable[ReviewItem]) -> tuple[ReviewItem, ...]:
    """Return ``items`` in the order a section shows them: the largest impact first.

    Ties go to the worse status, then to the item that has waited longer (earlier ``since``),
    then to the key, so the same items always come out in the same order.
    """
    return tuple(
        sorted(
            items,
            key=lambda i: (-i.impact, -SEVERITY.get(i.status or "", 0), i.since or dt.date.max, i.key),
        )
    )


def assemble_sections(items: Iterable[ReviewItem]) -> tuple[Section, ...]:
    """Return every section in pack order, each with its items ranked.

    A section without items is kept: an empty section tells the reader it was checked.
    """
    grouped: dict[SectionKey, list[ReviewItem]] = {key: [] for key in SECTION_TITLES}
    for item in items:
        grouped[item.section].append(item)
    return tuple(Section(key, SECTION_TITLES[key], rank_items(grouped[key])) for key in SECTION_TITLES)


def subject_weights(model: Model) -> dict[str, float]:
    """Return how much of the objectives each subject carries: its impact, for ranking.

    An objective carries itself (1). A KR carries its share of its objective's KR weight. A
    KPI carries, over every path, the link weight times what the KR carries: its feeds (feed
    weight), a KR it measures (weight 1), the formula KPIs built from it (what they carry), and,
    for an initiative's cost or capacity KPI, the KRs the initiative supports (its weight spread
    evenly over them). Paths add up. A dependency carries the KRs it blocks and its health KPI;
    a source carries its KPIs. Subjects with no path carry 0.
    """
    weights: dict[str, float] = {}
    kr_share: dict[str, float] = {}
    for objective in model.objectives:
        weights[objective.id] = 1.0
        total = sum(max(kr.weight, 0.0) for kr in objective.key_results)
        for kr in objective.key_results:
            kr_share[kr.id] = max(kr.weight, 0.0) / total if total > 0 else 0.0
    weights.update(kr_share)
    # One link per KPI and KR: a KPI that both measures and feeds a KR counts once, at weight 1.
    links: dict[tuple[str, str], float] = {}
    for kpi in model.kpis:
        for feed in kpi.feeds:
            pair = (kpi.id, feed.kr)
            links[pair] = max(links.get(pair, 0.0), float(feed.weight))
    for kr in model.key_results:
        if kr.kpi:
            links[(kr.kpi, kr.id)] = 1.0
    for initiative in model.initiatives:
        supported = [kr for kr in initiative.supports if kr in kr_share]
        for kpi_id in (initiative.cost, initiative.capacity):
            for kr_id in supported if kpi_id else ():
                pair = (str(kpi_id), kr_id)
                links[pair] = max(links.get(pair, 0.0), 1.0 / len(supported))
    direct: dict[str, float] = {}
    for (kpi_id, kr_id), weight in links.items():
        direct[kpi_id] = direct.get(kpi_id, 0.0) + weight * kr_share.get(kr_id, 0.0)
    known = {k.id for k in model.kpis}
    used_by: dict[str, list[str]] = {}
    for kpi in model.kpis:
        for name in formula_inputs(kpi.formula, known) if kpi.formula else ():
            used_by.setdefault(name, []).append(kpi.id)
    carried: dict[str, float] = {}

    def carry(kpi_id: str, path: frozenset[str]) -> float:
        if kpi_id in carried:
            return carried[kpi_id]
        # The model rejects formula cycles; the guard only keeps a broken model from recursing.
        onward = sum(carry(f, path | {kpi_id}) for f in used_by.get(kpi_id, ()) if f not in path)
        carried[kpi_id] = direct.get(kpi_id, 0.0) + onward
        return carried[kpi_id]

    for kpi in model.kpis:
        weights[kpi.id] = carry(kpi.id, frozenset())
    for dependency in model.dependencies:
        blocked = sum(kr_share.get(kr, 0.0) for kr in dependency.blocks)
        weights[dependency.id] = blocked + (weights.get(dependency.kpi, 0.0) if dependency.kpi else 0.0)
    for source in model.sources:
        weights[source.id] = sum(weights.get(k.id, 0.0) for k in model.kpis if k.source == source.id)
    return weights


def unit_tree(model: Model, unit: str) -> frozenset[str]:
    """Return ``unit`` and every unit below it (children, their children …)."""
    children: dict[str | None, list[str]] = {}
    for each in model.units:
        children.setdefault(each.parent, []).append(each.id)
    found = {unit}
    frontier = [unit]
    while frontier:
        below = [c for u in frontier for c in children.get(u, ()) if c not in found]
        found.update(below)
        frontier = below
    return frozenset(found)


# ---------------------------------------------------------------------------------------------
# week over week

ItemDigest = Mapping[str, str | None]
"""What a stored pack keeps of each item to compare with the next: section, subject, title, headline,
status and state (all text or None)."""

_CHANGE_ORDER: dict[ChangeKind, int] = {"new": 0, "changed": 1, "gone": 2}


def pack_digest(pack: ReviewPack) -> dict[str, dict[str, str | None]]:
    """Return the digest of every item of ``pack``, keyed by item key (see :data:`ItemDigest`)."""
    return {
        item.key: {
            "section": item.section,
            "subject": item.subject,
            "title": item.title,
            "headline": item.headline,
            "status": item.status,
            "state": item.state,
        }
        for item in pack.items
    }


def _condition(status: str | None, state: str | None) -> str | None:
    parts = [part for part in ((status or "").replace("_", " "), state) if part]
    return "; ".join(parts) if parts else None


def _worse(before: ItemDigest, item: ReviewItem) -> bool:
    """Return whether an item reads worse than last week: a worse status, or a higher escalation level."""
    was, now = SEVERITY.get(before.get("status") or "", 0), SEVERITY.get(item.status or "", 0)
    if now != was:
        return now > was
    return _rung(item.state) > _rung(before.get("state"))


def _rung(state: str | None) -> int:
    found = _LEVEL.search(state or "")
    return int(found.group(1)) if found else 0


_LEVEL = re.compile(r"level (\d+)")


def diff_packs(
    previous: Mapping[str, ItemDigest],
    current: ReviewPack,
    *,
    gone_why: Mapping[str, str] | None = None,
) -> tuple[Change, ...]:
    """Return what changed from the previous pack's items (``previous``, a digest) to ``current``.

    An item whose key is new is ``new`` (``after`` its headline); one whose status or state
    differs is ``changed`` (``before``/``after`` its status and state); an item of the previous
    pack that is not in this one is ``gone`` (``before`` its old headline, ``after`` where its
    subject is now, when it still has an item elsewhere, else why it went: ``gone_why`` by key,
    such as "resolved" for a case closed since), so nothing leaves a pack unseen. A change is
    ``worse`` when the status got worse or the escalation went a level up.
    Changes come by section in pack order, then new, changed, gone; within those, in pack order
    (gone ones by key).
    """
    order = {key: position for position, key in enumerate(SECTION_TITLES)}
    now = {item.key: item for item in current.items}
    where: dict[str, SectionKey] = {}
    for item in current.items:
        where.setdefault(item.subject, item.section)
    ranked: list[tuple[int, int, int, Change]] = []
    for position, item in enumerate(current.items):
        before = previous.get(item.key)
        if before is None:
            change = Change("new", item.key, item.section, item.title, after=item.headline)
        elif (before.get("status"), before.get("state")) != (item.status, item.state):
            change = Change(
                "changed",
                item.key,
                item.section,
                item.title,
                before=_condition(before.get("status"), before.get("state")),
                after=_condition(item.status, item.state),
                worse=_worse(before, item),
            )
        else:
            continue
        ranked.append((order[item.section], _CHANGE_ORDER[change.kind], position, change))
    for position, key in enumerate(sorted(k for k in previous if k not in now)):
        before = previous[key]
        section = _section_key(before.get("section"))
        subject = before.get("subject") or ""
        moved = where.get(subject)
        change = Change(
            "gone",
            key,
            section,
            before.get("title") or subject or key,
            before=before.get("headline"),
            after=f"now under {SECTION_TITLES[moved]}" if moved else (gone_why or {}).get(key),
        )
        ranked.append((order[section], _CHANGE_ORDER["gone"], position, change))
    return tuple(change for *_, change in sorted(ranked, key=lambda r: r[:3]))


def _section_key(value: str | None) -> SectionKey:
    """Return the section a stored digest names; one this version no longer has counts as data health."""
    for key in SECTION_TITLES:
        if key == value:
            return key
    return "data_health"


# ---------------------------------------------------------------------------------------------
# schedule


def next_review_at(weekday: str, after: dt.datetime, at: dt.time) -> dt.datetime:
    """Return the first moment strictly after ``after`` that falls on ``weekday`` at ``at`` (UTC).

    Raise ValueError for a weekday that is not one of :data:`onpace.domain.model.WEEKDAYS`.
    """
    if weekday not in WEEKDAYS:
        raise ValueError(f"not a weekday: {weekday!r}; use one of {', '.join(WEEKDAYS)}")
    target = WEEKDAYS.index(weekday)
    first = after.astimezone(dt.UTC).date()
    for offset in range(8):
        moment = dt.datetime.combine(first + dt.timedelta(days=offset), at, tzinfo=dt.UTC)
        if moment.weekday() == target and moment > after:
            return moment
    raise AssertionError("a weekday comes round within eight days")  # pragma: no cover
