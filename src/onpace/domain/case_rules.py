"""The rules a case follows: which kinds today's result shows, what keeps a case open, when it opens and resolves.

Pure functions of a result, a case and the policy; :mod:`onpace.domain.governance` applies them.
The hysteresis rules (``policy.at_risk_after``, ``policy.auto_resolve_after``) are in
docs/semantics.md, "Hysteresis".
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from onpace.domain.cases import VARIANCE_RANK, Case
from onpace.domain.model import CaseKind, Policy
from onpace.domain.results import SubjectResult

if TYPE_CHECKING:
    from onpace.domain.observations import Observation

# What keeps a variance case of each kind open (its "own condition").
HOLDS_OPEN: dict[str, frozenset[str]] = {
    "red": frozenset({"amber", "red"}),
    "amber": frozenset({"amber", "red"}),
    "at_risk": frozenset({"amber", "red", "at_risk"}),
    "threatened": frozenset({"amber", "red", "at_risk", "threatened"}),
}
ANNOUNCED = ("amber", "red", "at_risk")
# Case detail key: the as-of day last counted towards the good streak.
GOOD_DAY = "good_day"


def variance_kinds(result: SubjectResult) -> frozenset[str]:
    """Return the variance kinds a result shows today (amber, red, at_risk, threatened)."""
    kinds: set[str] = set()
    if result.status in ("amber", "red"):
        kinds.add(result.status)
    if result.at_risk and result.status in ("green", "amber"):
        kinds.add("at_risk")
    if result.threatened_by:
        kinds.add("threatened")
    return frozenset(kinds)


def at_risk_holds(streak_before: int, at_risk_after: int) -> bool:
    """Return whether an at-risk projection seen today after ``streak_before`` at-risk evaluations may open a case."""
    return streak_before + 1 >= max(1, at_risk_after)


def resolve_after(kind: str, policy: Policy) -> int:
    """Return how many evaluations without its condition close a case of this kind."""
    base = max(1, policy.auto_resolve_after)
    return max(base, policy.at_risk_after) if kind == "at_risk" else base


def holds_open(case: Case, observation: Observation | None) -> bool:
    """Return True when today's observation still shows the case's own condition."""
    if observation is None or not observation.kinds:
        return False
    if case.family != "variance":
        return True
    return bool(observation.kinds & HOLDS_OPEN.get(case.kind, frozenset(VARIANCE_RANK)))


def counts_towards_streak(case: Case, as_of: dt.date) -> bool:
    """Return whether a good evaluation as of ``as_of`` adds one to the case's streak.

    The streak counts distinct as-of dates, in order: an evaluation on or before the date last
    counted (kept in the case's detail) adds nothing.
    """
    last = case.detail.get(GOOD_DAY)
    if not isinstance(last, str):
        return True
    try:
        return as_of > dt.date.fromisoformat(last)
    except ValueError:
        return True


def variance_kind(kind: str) -> CaseKind:
    """Return ``kind`` as a variance case kind, or raise ValueError."""
    for known in ("amber", "threatened", "at_risk", "red"):
        if kind == known:
            return known
    raise ValueError(f"not a variance kind: {kind}")
