"""Hygiene findings: what is wrong with the model itself rather than with performance.

The rules (DESIGN.md §1 step 5 and §4):

- ``no_owner`` / ``several_owners``: a KPI must have exactly one accountable owner.
- ``kpi_pollution``: a KPI with no path to any KR, unless it is marked ``constraint: true``.
  Paths run along feeds, a KR's own ``kpi``, formula inputs (an input reaches whatever its formula
  KPI reaches), an initiative's cost and capacity KPIs (to the KRs it supports) and a dependency's
  health KPI (to the KRs it blocks). Raised on the KPI.
- ``no_leading_indicator``: raised on the KR when no KPI marked ``leading: true`` feeds it and
  its own KPI is not marked leading.
- ``source_no_data``: a source none of whose KPIs has any point yet, once the cycle has run
  longer than the stale window (``policy.stale_after`` buckets of the source's finest grain) —
  before that, no data is simply early.
- ``unplanned``: a KPI (or a KR measured by nothing) with no plan.
- ``not_leading``: a KPI marked ``leading: true`` whose changes, measured, precede none of the
  KRs it feeds (``onpace.domain.leadlag.not_leading_findings``; it needs the evaluation's data).
- ``noisy_tolerance``: a KPI whose red tolerance is narrower than about twice its own one-step
  noise, so ordinary swings turn it red (``onpace.domain.tolerance_noise``; it needs the
  evaluation's data). It is *advisory* (:data:`ADVISORY`): shown in the review and on the KPI's
  page, never a case of its own — a case about alarms that mean nothing would be one more.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from onpace.domain.accountability import cycle_at
from onpace.domain.cycles import kpi_cycles_in_force, objective_cycles_in_force
from onpace.domain.model import Grain, Kpi, Model
from onpace.domain.results import SubjectResult

Rule = Literal[
    "no_owner",
    "several_owners",
    "kpi_pollution",
    "no_leading_indicator",
    "source_no_data",
    "unplanned",
    "not_leading",
    "noisy_tolerance",
]
FindingLevel = Literal["kpi", "kr", "source"]
#: Rules that are shown but open no hygiene case (``domain.observations`` leaves them out).
ADVISORY: frozenset[Rule] = frozenset({"noisy_tolerance"})
GRAIN_DAYS: dict[Grain, int] = {"day": 1, "week": 7, "month": 31}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass(frozen=True)
class Finding:
    """One hygiene finding on one subject."""

    subject: str
    level: FindingLevel
    rule: Rule
    message: str


def formula_inputs(formula: str, known: Collection[str]) -> list[str]:
    """Return the KPI ids a formula names, in order of appearance, without repeats."""
    names: list[str] = []
    for name in _NAME.findall(formula):
        if name in known and name not in names:
            names.append(name)
    return names


def kpis_reaching_a_kr(model: Model) -> set[str]:
    """Return the ids of KPIs with a path to at least one KR."""
    kr_ids = {kr.id for kr in model.key_results}
    kpi_ids = {k.id for k in model.kpis}
    reaching: set[str] = set()
    for kpi in model.kpis:
        if any(f.kr in kr_ids for f in kpi.feeds):
            reaching.add(kpi.id)
    for kr in model.key_results:
        if kr.kpi:
            reaching.add(kr.kpi)
    for initiative in model.initiatives:
        if any(s in kr_ids for s in initiative.supports):
            reaching.update(k for k in (initiative.cost, initiative.capacity) if k)
    for dep in model.dependencies:
        if dep.kpi and any(b in kr_ids for b in dep.blocks):
            reaching.add(dep.kpi)
    # A formula's inputs reach what the formula reaches; iterate to a fixed point so that
    # formulas built on formulas propagate (the model file rejects formula cycles).
    inputs = {k.id: formula_inputs(k.formula, kpi_ids) for k in model.kpis if k.formula}
    changed = True
    while changed:
        changed = False
        for formula_kpi, names in inputs.items():
            if formula_kpi in reaching:
                fresh = [n for n in names if n not in reaching]
                reaching.update(fresh)
                changed = changed or bool(fresh)
    return reaching


def _owner_findings(kpi: Kpi) -> list[Finding]:
    if not kpi.owners:
        return [Finding(kpi.id, "kpi", "no_owner", f"KPI {kpi.id} has no owner")]
    if len(set(kpi.owners)) > 1:
        names = ", ".join(kpi.owners)
        return [
            Finding(kpi.id, "kpi", "several_owners", f"KPI {kpi.id} has several owners ({names}); name one")
        ]
    return []


def _resting_krs(model: Model, results: Mapping[str, SubjectResult], as_of: dt.date) -> set[str]:
    """Return the KRs not judged as of the date: their cycle is closed or not begun (no findings)."""
    if len(model.cycles) < 2:
        return set()
    judged = {c.id for c in objective_cycles_in_force(model, as_of)}
    known = {c.id for c in model.cycles}
    return {
        kr.id
        for obj in model.objectives
        if obj.cycle in known and obj.cycle not in judged
        for kr in obj.key_results
        if kr.id not in results
    }


def _no_plan(model: Model, kpi: Kpi, as_of: dt.date) -> str:
    """Say that a KPI has no plan, naming the cycle in force when the model has several."""
    if len(model.cycles) < 2:
        return f"KPI {kpi.id} has no plan"
    cycle = kpi_cycles_in_force(model, as_of).get(kpi.id)
    return f"KPI {kpi.id} has no plan for cycle {cycle.id}" if cycle else f"KPI {kpi.id} has no plan"


def _unplanned(kpi: Kpi, result: SubjectResult | None) -> bool:
    if result is not None:
        return result.status == "unplanned"
    return kpi.plan is None


def source_findings(
    model: Model,
    results: Mapping[str, SubjectResult],
    as_of: dt.date,
    sources_with_data: Collection[str] | None = None,
) -> list[Finding]:
    """Return ``source_no_data`` findings: sources with no data once the stale window has passed."""
    cycle = cycle_at(model.cycles, as_of)
    if cycle is None or as_of < cycle.start:
        return []
    findings: list[Finding] = []
    for source in model.sources:
        users = [k for k in model.kpis if k.source == source.id]
        if sources_with_data is not None:
            has_data = source.id in sources_with_data
        else:
            has_data = any((r := results.get(k.id)) is not None and r.last_point is not None for k in users)
        if has_data:
            continue
        grain_days = min((GRAIN_DAYS[k.grain] for k in users), default=GRAIN_DAYS["week"])
        window = dt.timedelta(days=grain_days * max(1, model.policy.stale_after))
        if as_of - cycle.start < window:
            continue
        findings.append(
            Finding(
                source.id,
                "source",
                "source_no_data",
                f"source {source.id} has sent no data since the cycle started on {cycle.start}",
            )
        )
    return findings


def hygiene_findings(
    model: Model,
    results: Mapping[str, SubjectResult],
    as_of: dt.date,
    sources_with_data: Collection[str] | None = None,
) -> list[Finding]:
    """Return every hygiene finding of the model as of ``as_of``, in model order.

    ``results`` are the engine's verdicts (they tell which subjects are ``unplanned`` and which
    sources delivered data); ``sources_with_data``, when given, overrides the latter with the
    store's own knowledge of which sources sent points.
    """
    findings: list[Finding] = []
    reaching = kpis_reaching_a_kr(model)
    for kpi in model.kpis:
        findings.extend(_owner_findings(kpi))
        if kpi.id not in reaching and not kpi.constraint:
            findings.append(
                Finding(
                    kpi.id,
                    "kpi",
                    "kpi_pollution",
                    f"KPI {kpi.id} has no path to any key result; link it or mark it `constraint: true`",
                )
            )
        if _unplanned(kpi, results.get(kpi.id)):
            findings.append(Finding(kpi.id, "kpi", "unplanned", _no_plan(model, kpi, as_of)))
    leading = {k.id for k in model.kpis if k.leading}
    fed_by_leading = {f.kr for k in model.kpis if k.leading for f in k.feeds}
    resting = _resting_krs(model, results, as_of)
    for kr in model.key_results:
        if kr.id in resting:
            continue
        if kr.id not in fed_by_leading and kr.kpi not in leading:
            findings.append(
                Finding(
                    kr.id,
                    "kr",
                    "no_leading_indicator",
                    f"KR {kr.id} has no leading indicator: no KPI marked `leading: true` feeds it",
                )
            )
        result = results.get(kr.id)
        # A KR measured by a KPI inherits that KPI's plan; the KPI's own finding covers it.
        if kr.kpi is None and result is not None and result.status == "unplanned":
            findings.append(
                Finding(kr.id, "kr", "unplanned", f"KR {kr.id} has no plan and nothing measures it")
            )
    findings.extend(source_findings(model, results, as_of, sources_with_data))
    return findings
