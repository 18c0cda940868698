"""Say what to look at first in the demo: the most striking open cases and the pages that show them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from onpace.domain.cases import Case
from onpace.domain.model import Model
from onpace.services.dispatch_messages import person_name

# How much a kind of open case says to a visitor, most first: the owner of the top one signs in.
_STRIKING = {"red": 6, "mirage": 5, "at_risk": 4, "dependency_late": 3, "threatened": 2, "stale": 1}


@dataclass(frozen=True)
class Login:
    """A demo user: role, email, password, and the person of the model it is (None for the admin)."""

    role: str
    email: str
    password: str
    person: str | None
    name: str


@dataclass(frozen=True)
class TourStop:
    """A page worth opening, as a path of the web app, and why."""

    path: str
    text: str


def striking_order(cases: Iterable[Case]) -> list[Case]:
    """Return open cases, the most striking first: by kind, then escalation rung, then severity, then age."""
    open_cases = [c for c in cases if c.is_open]
    return sorted(
        open_cases,
        key=lambda c: (-_STRIKING.get(c.kind, 0), -c.rung, -(c.severity or 0.0), c.opened_at, c.id or 0),
    )


def _case_words(model: Model, case: Case) -> str:
    kind = {
        "red": "is red",
        "at_risk": "is forecast to miss its target",
        "threatened": "is threatened by an off-track KPI",
        "mirage": "was reported green while the data says otherwise",
        "dependency_late": "is a late hand-off",
        "stale": "stopped receiving data",
        "hygiene": "has a model hygiene finding",
    }.get(case.kind, case.kind)
    text = f"{model.title(case.subject)} {kind} (owner {person_name(model, case.owner)}"
    if case.holder and case.holder != case.owner:
        text += f", escalated to {person_name(model, case.holder)}"
    return text + ")"


def tour_of(model: Model, cases: Sequence[Case], owner: Login | None, rebaselined: bool) -> list[TourStop]:
    """Return the pages to open first, computed from the cases the replay left open."""
    ranked = striking_order(cases)
    stops: list[TourStop] = []
    if owner is not None:
        mine = [c for c in ranked if owner.person in (c.owner, c.holder) or owner.person in c.participants]
        stops.append(
            TourStop(
                "/", f"my desk, signed in as {owner.name}: {len(mine)} open case(s) to explain or act on"
            )
        )
    stops.append(
        TourStop(
            "/review",
            "the weekly review: what needs a decision, ranked by impact; each item leads to its case",
        )
    )
    if ranked:
        top = ranked[0]
        stops.append(TourStop(f"/cases/{top.id}", "the top case: " + _case_words(model, top)))
        if top.subject_level in ("kpi", "kr"):
            path = f"/{top.subject_level}s/{top.subject}"
            stops.append(TourStop(path, "its plan against the actuals, with the forecast to the cycle's end"))
    mirage = next((c for c in ranked if c.kind == "mirage"), None)
    if mirage is not None and (not ranked or mirage is not ranked[0]):
        stops.append(TourStop(f"/cases/{mirage.id}", "a mirage: " + _case_words(model, mirage)))
    late = next((c for c in ranked if c.kind == "dependency_late"), None)
    if late is not None:
        stops.append(TourStop("/dependencies", "the hand-offs between teams: " + _case_words(model, late)))
    if rebaselined:
        stops.append(TourStop("/rebaselines", "a plan changed mid-cycle, with its reason and approver"))
    stops.append(TourStop("/scorecard", "every objective, key result and KPI with its status and trend"))
    return stops
