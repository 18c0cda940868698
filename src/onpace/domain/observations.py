"""Turn today's results, check-ins, dependencies and hygiene findings into observations per subject and family.

An :class:`Observation` is what the data says about one subject in one case family today, and
which kind (if any) may open a case under the policy; :mod:`onpace.domain.governance` decides
what the observations do to the cases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from onpace.domain.accountability import SubjectIndex, dependency_ties, joint_participants
from onpace.domain.case_rules import at_risk_holds, variance_kind, variance_kinds
from onpace.domain.cases import VARIANCE_RANK, Family, SubjectLevel
from onpace.domain.checkins import CheckIn, find_mirages
from onpace.domain.hygiene import ADVISORY, Finding
from onpace.domain.model import CaseKind, Model
from onpace.domain.results import SubjectResult


@dataclass(frozen=True)
class Observation:
    """What today's data says about one subject in one family.

    ``kinds`` are the kinds present today (for variance any of amber, threatened, at_risk, red);
    ``opening`` is the worst of them that may open a case under the policy, or None.
    """

    subject: str
    level: SubjectLevel
    family: Family
    kinds: frozenset[str]
    opening: CaseKind | None
    participants: tuple[str, ...] = ()
    severity: float | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


def iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def result_detail(result: SubjectResult) -> dict[str, object]:
    return {
        "status": result.status,
        "at_risk": result.at_risk,
        "stale": result.stale,
        "plan_to_date": result.plan_to_date,
        "actual_to_date": result.actual_to_date,
        "variance_abs": result.variance_abs,
        "variance_pct": result.variance_pct,
        "forecast_end": result.forecast_end,
        "plan_end": result.plan_end,
        "p_target": result.p_target,
        "weeks_to_red": result.weeks_to_red,
        "threatened_by": list(result.threatened_by),
        "last_point": iso(result.last_point),
    }


class Observer:
    """Turn results, check-ins, dependencies and hygiene findings into observations."""

    def __init__(
        self, model: Model, index: SubjectIndex, as_of: dt.date, risk_streaks: Mapping[str, int]
    ) -> None:
        self.model = model
        self.index = index
        self.as_of = as_of
        self.policy = model.policy
        self.risk_streaks = risk_streaks
        self.ties = dependency_ties(model, as_of)
        self.kr_kpi = {kr.id: kr.kpi for kr in model.key_results}

    def variance(self, result: SubjectResult) -> Observation | None:
        kinds = variance_kinds(result)
        if not kinds:
            return None
        info = self.index.info(result.subject, result.level)
        deps = self.ties.get(result.subject, ())
        worthy = [k for k in kinds if deps or k in self.policy.open_case_on]
        if "at_risk" in worthy and not at_risk_holds(
            self.risk_streaks.get(result.subject, 0), self.policy.at_risk_after
        ):
            worthy.remove("at_risk")
        opening: CaseKind | None = None
        if worthy:
            worst = max(worthy, key=lambda k: VARIANCE_RANK[k])
            opening = variance_kind(worst)
        detail = result_detail(result)
        detail["joint_review"] = bool(deps)
        detail["dependencies"] = [d.id for d in deps]
        participants = joint_participants(info.owner, deps) if deps else ()
        return Observation(
            result.subject, result.level, "variance", kinds, opening, participants, None, detail
        )

    def stale(self, result: SubjectResult) -> Observation | None:
        if not result.stale:
            return None
        # A KR measured by a KPI goes stale with it; the KPI's case is the one to follow.
        if result.level == "objective" or (result.level == "kr" and self.kr_kpi.get(result.subject)):
            return None
        opening: CaseKind | None = "stale" if "stale" in self.policy.open_case_on else None
        detail = {"last_point": iso(result.last_point), "status": result.status}
        return Observation(
            result.subject, result.level, "stale", frozenset({"stale"}), opening, (), None, detail
        )

    def mirages(self, checkins: Sequence[CheckIn], results: Mapping[str, SubjectResult]) -> list[Observation]:
        since: dict[str, dt.date] = {}
        for subject in {c.subject for c in checkins}:
            info = self.index.get(subject)
            cycle = self.model.cycle_of(info.cycle) if info else None
            if cycle is not None:
                since[subject] = cycle.start
        found = []
        opening: CaseKind | None = "mirage" if "mirage" in self.policy.open_case_on else None
        for subject, mirage in find_mirages(
            checkins, results, self.as_of, since, self.policy.checkin_valid_for
        ).items():
            level = results[subject].level
            info = self.index.info(subject, level)
            people = tuple(p for p in dict.fromkeys([info.owner, mirage.checkin.by]) if p)
            detail: dict[str, object] = {
                "reported": mirage.reported,
                "computed": mirage.computed,
                "severity": mirage.severity,
                "checkin_date": mirage.checkin.date.isoformat(),
                "checkin_by": mirage.checkin.by,
                "confidence": mirage.checkin.confidence,
                "comment": mirage.checkin.comment,
            }
            found.append(
                Observation(
                    subject,
                    level,
                    "mirage",
                    frozenset({"mirage"}),
                    opening,
                    people,
                    float(mirage.severity),
                    detail,
                )
            )
        return found

    def late_dependencies(self) -> list[Observation]:
        found = []
        opening: CaseKind | None = (
            "dependency_late" if "dependency_late" in self.policy.open_case_on else None
        )
        for dep in self.model.dependencies:
            delivered = dep.delivered is not None and dep.delivered <= self.as_of
            # An evaluation as of a day speaks for the end of that day: by then the due day is over.
            if self.as_of < dep.due or delivered:
                continue
            people = joint_participants(dep.provider.owner, [dep])
            detail: dict[str, object] = {
                "due": dep.due.isoformat(),
                "days_late": (self.as_of - dep.due).days,
                "provider": dep.provider.unit,
                "consumer": dep.consumer.unit,
                "blocks": list(dep.blocks),
                "joint_review": True,
            }
            found.append(
                Observation(
                    dep.id,
                    "dependency",
                    "dependency",
                    frozenset({"dependency_late"}),
                    opening,
                    people,
                    float((self.as_of - dep.due).days),
                    detail,
                )
            )
        return found

    def hygiene(self, findings: Iterable[Finding]) -> list[Observation]:
        grouped: dict[str, list[Finding]] = {}
        for finding in findings:
            if finding.rule in ADVISORY:
                continue  # shown in the review and on the subject's page, not a case
            grouped.setdefault(finding.subject, []).append(finding)
        opening: CaseKind | None = "hygiene" if "hygiene" in self.policy.open_case_on else None
        found = []
        for subject, items in grouped.items():
            detail: dict[str, object] = {
                "findings": [{"rule": f.rule, "message": f.message} for f in items],
            }
            found.append(
                Observation(
                    subject,
                    items[0].level,
                    "hygiene",
                    frozenset({"hygiene"}),
                    opening,
                    (),
                    float(len(items)),
                    detail,
                )
            )
        return found
