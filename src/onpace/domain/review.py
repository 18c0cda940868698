"""The weekly review pack as values: sections of items ranked by impact, and what changed since last week.

A pack is the list of decisions a weekly review has to make (DESIGN.md §1, step 7), not a status
report. It is built from the store by ``onpace.services.review`` and drawn by ``onpace.reports``
(HTML, PDF, Markdown) and the web app. Every value here is plain data so that a pack can be
stored, compared with last week's and rendered without a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

SectionKey = Literal[
    "new_breaches",
    "at_risk",
    "mirages",
    "threatened",
    "overdue",
    "escalations",
    "handoffs",
    "rebaselines",
    "data_health",
    "pollution",
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
    "rebaselines": "Re-baselines this cycle (goalpost shifts)",
    "data_health": "Data health",
    "pollution": "KPI pollution",
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
    holder_name: str | None = None
    explanation: str | None = None
    cause: str | None = None
    actions: tuple[ActionLine, ...] = ()
    causes: tuple[str, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict)
    chart: Chart | None = None


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
