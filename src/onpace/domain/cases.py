"""The values of governance: cases, their corrective actions and the events that change them.

A case is one accountable piece of follow-up on one subject (a KPI, KR, objective, dependency
or source). Cases come in families; at most one case per subject and family is open at a time.
Cases and events are frozen values; the decisions that produce them live in
``onpace.domain.governance`` (evaluations → events) and ``onpace.domain.case_workflow``
(what people do: explain, act, comment, close).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from onpace.domain.model import CaseKind

Family = Literal["variance", "mirage", "stale", "dependency", "hygiene"]
# A "channel" case is a notification channel disabled after a permanent delivery error.
SubjectLevel = Literal["kpi", "kr", "objective", "dependency", "source", "channel"]
CaseState = Literal["open", "resolved"]
EventName = Literal[
    "case_opened",
    "case_reopened",
    "status_changed",
    "case_escalated",
    "case_resolved",
    "case_explained",
    "action_committed",
    "action_done",
    "case_commented",
]

FAMILIES: tuple[Family, ...] = ("variance", "mirage", "stale", "dependency", "hygiene")
FAMILY_OF: dict[CaseKind, Family] = {
    "amber": "variance",
    "threatened": "variance",
    "at_risk": "variance",
    "red": "variance",
    "mirage": "mirage",
    "stale": "stale",
    "dependency_late": "dependency",
    "hygiene": "hygiene",
}
# How bad a variance kind is: a case moves to a higher rank when it worsens (DESIGN.md §4).
VARIANCE_RANK: dict[str, int] = {"amber": 1, "threatened": 2, "at_risk": 3, "red": 4}
# Root-cause categories an owner picks from when explaining a case.
CAUSE_CATEGORIES: tuple[str, ...] = (
    "execution",
    "capacity",
    "dependency",
    "external",
    "data",
    "plan",
    "other",
)
# The actor recorded for decisions the system takes by itself.
SYSTEM_ACTOR = "onpace"


@dataclass(frozen=True)
class Action:
    """A corrective action committed on a case: who does what by when."""

    title: str
    owner: str
    due: dt.date
    id: int | None = None
    done_at: dt.datetime | None = None
    created_at: dt.datetime | None = None

    @property
    def key(self) -> str:
        """Return a stable name for this action, used to remember that its due date was missed."""
        if self.id is not None:
            return f"action:{self.id}"
        return f"action:{self.title}@{self.due.isoformat()}"


@dataclass(frozen=True)
class Case:
    """One case on one subject; ``id`` is None until the store has given it one.

    ``owner`` is the subject's one accountable owner; ``holder`` is who holds the case now (the
    owner, or the person it was escalated to) and ``rung`` the holder's index in
    ``policy.escalation``. ``missed`` names the deadlines already escalated ("explain", "act",
    an action's key) so that each deadline escalates once. ``good_streak`` counts consecutive
    evaluations without the case's own condition.
    """

    subject: str
    subject_level: SubjectLevel
    family: Family
    kind: CaseKind
    owner: str | None
    holder: str | None
    rung: int
    opened_at: dt.datetime
    explain_due: dt.datetime
    act_due: dt.datetime
    id: int | None = None
    state: CaseState = "open"
    participants: tuple[str, ...] = ()
    cycle: str | None = None
    explained_at: dt.datetime | None = None
    acted_at: dt.datetime | None = None
    missed: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    good_streak: int = 0
    resolved_at: dt.datetime | None = None
    severity: float | None = None
    detail: Mapping[str, object] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        """Return True while the case awaits follow-up."""
        return self.state == "open"

    @property
    def joint_review(self) -> bool:
        """Return True when the case is a joint review of both sides of a hand-off."""
        return bool(self.detail.get("joint_review"))


@dataclass(frozen=True)
class CaseEvent:
    """One thing that happened: a status flip, or a transition of a case.

    ``case_id`` is the stored case's id; it is None for a case opened by this very decision
    (the store finds it by ``subject`` and ``family``) and for a status change on a subject
    that has no case. ``level`` is the escalation rung of the case (0 = the owner).
    """

    event: EventName
    kind: CaseKind
    subject: str
    subject_level: SubjectLevel
    at: dt.datetime
    owner: str | None
    participants: tuple[str, ...] = ()
    level: int = 0
    family: Family | None = None
    case_id: int | None = None
    by: str = SYSTEM_ACTOR
    detail: Mapping[str, object] = field(default_factory=dict)

    @property
    def public_event(self) -> str:
        """Return the event name of the public contract: a reopened case is announced as opened."""
        return "case_opened" if self.event == "case_reopened" else self.event
