"""Decide which cycle judges each subject as of a date, and the plan it is judged against.

A KPI lives across cycles: its id, points and cases carry over, but as of a date D it is judged
in the *cycle in force* for it then, against its plan for that cycle (:func:`kpi_cycle_in_force`).
Objectives and their KRs belong to one cycle; as of D the engine judges the objectives of the
cycles running on D (:func:`objective_cycles_in_force`), and those of earlier cycles that are not
closed yet as of their own end (:func:`open_past_cycles`), until a close grades and freezes them.

A KPI's *home cycle* is the one its single ``plan:`` belongs to: its own ``cycle``, else the cycle
of the first KR that uses it, else the model's first (``calendar.kpi_cycles``). ``plans:`` adds a
plan per named cycle. A one-cycle model reads exactly as before: its one cycle is always in force.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping, Sequence

from onpace.domain.calendar import kpi_cycles
from onpace.domain.model import Cycle, CyclePlan, Kpi, Model, Plan, PlanVersion


def _one_cycle(model: Model) -> bool:
    """Tell whether the model reads as before cycles over time: at most one cycle, no ``plans:``."""
    return (
        len(model.cycles) <= 1
        and not any(k.plans for k in model.kpis)
        and not any(kr.plans for kr in model.key_results)
    )


def _innermost(cycles: Sequence[Cycle]) -> Cycle:
    """Return the latest-starting cycle, the shortest among equals (a quarter inside a year)."""
    return max(cycles, key=lambda c: (c.start, -c.end.toordinal(), c.id))


def planned_cycle_ids(kpi: Kpi, home: Cycle | None) -> frozenset[str]:
    """Return the ids of the cycles in which ``kpi`` has a plan (``plan:`` counts for its home)."""
    found = {p.cycle for p in kpi.plans if p.effective is None}
    if kpi.plan is not None and home is not None:
        found.add(home.id)
    return frozenset(found)


def plan_in_cycle(kpi: Kpi, cycle: Cycle | None, home: Cycle | None) -> Plan | None:
    """Return the KPI's plan for ``cycle``: its ``plans:`` entry, else ``plan:`` in its home cycle."""
    if cycle is None:
        return None
    entry = next((p.plan for p in kpi.plans if p.cycle == cycle.id and p.effective is None), None)
    if entry is not None:
        return entry
    return kpi.plan if home is not None and home.id == cycle.id else None


def kpi_cycle_in_force(model: Model, kpi: Kpi, as_of: dt.date, home: Cycle | None) -> Cycle | None:
    """Return the cycle in which ``kpi`` is judged as of ``as_of`` (the one rule; pure).

    1. Among the model's cycles running on ``as_of`` (start ≤ D ≤ end), the innermost one the KPI
       has a plan for (a quarter's plan beats the year's).
    2. Else, once the KPI has started (a cycle of its own began on or before D), the innermost
       running cycle — where it has no plan, so it reads ``unplanned`` (a hygiene finding), never
       the old cycle's plan.
    3. Between or after cycles: the cycle that ended last before D, preferring one the KPI is
       planned in among those ending that day (judged as of that cycle's end, as today).
    4. Before any cycle of its own: its earliest cycle (no data yet).

    Return None when the model has no cycles.
    """
    if not model.cycles:
        return None
    planned = planned_cycle_ids(kpi, home)
    # A KPI planned only through ``plans:`` lives in those cycles; its home counts for ``plan:``.
    with_home = kpi.plan is not None or not kpi.plans
    own = [c for c in model.cycles if c.id in planned or (with_home and home is not None and c.id == home.id)]
    running = [c for c in model.cycles if c.start <= as_of <= c.end]
    planned_running = [c for c in running if c.id in planned]
    if planned_running:
        return _innermost(planned_running)
    started = any(c.start <= as_of for c in own) if own else True
    if running and started:
        return _innermost(running)
    ended = [c for c in model.cycles if c.end < as_of]
    if ended and started:
        last = max(c.end for c in ended)
        closing = [c for c in ended if c.end == last]
        preferred = [c for c in closing if c.id in planned] or closing
        return _innermost(preferred)
    pool = own or list(model.cycles)
    return min(pool, key=lambda c: (c.start, c.id))


def kpi_cycles_in_force(model: Model, as_of: dt.date) -> dict[str, Cycle | None]:
    """Return the cycle in force of every KPI as of ``as_of`` (see :func:`kpi_cycle_in_force`)."""
    return _in_force(model, as_of)[1]


def _in_force(model: Model, as_of: dt.date) -> tuple[dict[str, Cycle | None], dict[str, Cycle | None]]:
    """Return every KPI's home cycle and cycle in force, deciding once per kind of KPI.

    The answer depends only on the cycles a KPI is planned in and its home, which most KPIs
    share: a large model has thousands of KPIs but a handful of such kinds.
    """
    homes = kpi_cycles(model)
    decided: dict[tuple[frozenset[str], str | None, bool], Cycle | None] = {}
    found: dict[str, Cycle | None] = {}
    for kpi in model.kpis:
        home = homes.get(kpi.id)
        key = (planned_cycle_ids(kpi, home), home.id if home else None, kpi.plan is not None or not kpi.plans)
        if key not in decided:
            decided[key] = kpi_cycle_in_force(model, kpi, as_of, home)
        found[kpi.id] = decided[key]
    return homes, found


def objective_cycles_in_force(model: Model, as_of: dt.date) -> tuple[Cycle, ...]:
    """Return the cycles whose objectives are judged as of ``as_of``.

    Every cycle running on the date; between or after cycles, the one(s) that ended last; before
    every cycle, the earliest. A one-cycle model always answers its one cycle.
    """
    running = tuple(c for c in model.cycles if c.start <= as_of <= c.end)
    if running:
        return running
    ended = [c for c in model.cycles if c.end < as_of]
    if ended:
        last = max(c.end for c in ended)
        return tuple(c for c in ended if c.end == last)
    if not model.cycles:
        return ()
    first = min(c.start for c in model.cycles)
    return tuple(c for c in model.cycles if c.start == first)


def open_past_cycles(model: Model, as_of: dt.date, closed: Collection[str] = ()) -> tuple[Cycle, ...]:
    """Return the ended cycles with objectives that are not closed and not in force as of ``as_of``.

    Their objectives are still judged, as of their cycle's end, until the cycle is closed.
    """
    in_force = {c.id for c in objective_cycles_in_force(model, as_of)}
    used = {o.cycle for o in model.objectives}
    return tuple(
        sorted(
            (
                c
                for c in model.cycles
                if c.end < as_of and c.id in used and c.id not in in_force and c.id not in closed
            ),
            key=lambda c: (c.start, c.id),
        )
    )


def cycles_in_force(model: Model, as_of: dt.date, closed: Collection[str] = ()) -> tuple[Cycle, ...]:
    """Return every cycle an evaluation as of ``as_of`` looks into, earliest first.

    The KPIs' cycles in force, the objectives' cycles in force and the open past cycles: a store
    read for this evaluation needs no point dated before the earliest start among them.
    """
    found: dict[str, Cycle] = {}
    for cycle in kpi_cycles_in_force(model, as_of).values():
        if cycle is not None:
            found[cycle.id] = cycle
    for cycle in (*objective_cycles_in_force(model, as_of), *open_past_cycles(model, as_of, closed)):
        found[cycle.id] = cycle
    return tuple(sorted(found.values(), key=lambda c: (c.start, c.id)))


def earliest_needed_date(
    model: Model, as_of: dt.date, lookback: dt.timedelta = dt.timedelta(0), closed: Collection[str] = ()
) -> dt.date | None:
    """Return the first date whose points an evaluation as of ``as_of`` can use, or None for all.

    The earliest start of :func:`cycles_in_force`, moved back by ``lookback`` (a caller that also
    reads history before the cycle, e.g. the lead-lag check, says how much). None without cycles.
    """
    cycles = cycles_in_force(model, as_of, closed)
    if not cycles:
        return None
    return min(c.start for c in cycles) - lookback


def scope_as_of(
    model: Model,
    versions: Mapping[str, Sequence[PlanVersion]] | None,
    as_of: dt.date,
    objective_cycles: Collection[str] | None = None,
) -> tuple[Model, dict[str, list[PlanVersion]] | None]:
    """Return :func:`model_as_of` and :func:`versions_as_of` together, deciding the cycles once."""
    if objective_cycles is None and _one_cycle(model) and not _tagged(versions):
        return model, None if versions is None else {s: list(found) for s, found in versions.items()}
    decided = _in_force(model, as_of)
    return _model_as_of(model, as_of, objective_cycles, decided), _versions_as_of(model, versions, decided)


def _home_plan(kpi: Kpi, cycle: Cycle, homes: Mapping[str, Cycle | None]) -> Plan | None:
    home = homes.get(kpi.id)
    return kpi.plan if home is not None and home.id == cycle.id else None


def _tagged(versions: Mapping[str, Sequence[PlanVersion]] | None) -> bool:
    return any(v.cycle for found in (versions or {}).values() for v in found)


Decided = tuple[dict[str, Cycle | None], dict[str, Cycle | None]]


def model_as_of(model: Model, as_of: dt.date, objective_cycles: Collection[str] | None = None) -> Model:
    """Return the model as judged on ``as_of``: each KPI in its cycle in force with that cycle's plan.

    Objectives are kept when their cycle is in ``objective_cycles`` (default: the cycles in force
    as of the date) or is not a cycle of the model; feeds into KRs left out are dropped.
    """
    if objective_cycles is None and _one_cycle(model):
        return model  # one cycle: always in force, and the KPIs' plans are its plans
    return _model_as_of(model, as_of, objective_cycles, _in_force(model, as_of))


def _model_as_of(
    model: Model, as_of: dt.date, objective_cycles: Collection[str] | None, decided: Decided
) -> Model:
    homes, in_force = decided
    if objective_cycles is None:
        objective_cycles = {c.id for c in objective_cycles_in_force(model, as_of)}
    known = {c.id for c in model.cycles}
    objectives = tuple(o for o in model.objectives if o.cycle in objective_cycles or o.cycle not in known)
    kept_krs = {kr.id for o in objectives for kr in o.key_results}
    kpis = []
    for kpi in model.kpis:
        cycle = in_force[kpi.id]
        if cycle is None:
            kpis.append(kpi)
            continue
        # A copy of the frozen KPI with four fields set through its __dict__: dataclasses.replace
        # re-runs __init__ and costs ten times as much on a model of thousands of KPIs.
        scoped = object.__new__(Kpi)
        fields = scoped.__dict__
        fields.update(kpi.__dict__)
        fields["cycle"] = cycle.id
        fields["plan"] = (
            plan_in_cycle(kpi, cycle, homes.get(kpi.id)) if kpi.plans else _home_plan(kpi, cycle, homes)
        )
        fields["plans"] = ()
        if kpi.feeds and any(f.kr not in kept_krs for f in kpi.feeds):
            fields["feeds"] = tuple(f for f in kpi.feeds if f.kr in kept_krs)
        kpis.append(scoped)
    return dataclasses.replace(model, objectives=objectives, kpis=tuple(kpis))


def versions_as_of(
    model: Model, versions: Mapping[str, Sequence[PlanVersion]] | None, as_of: dt.date
) -> dict[str, list[PlanVersion]] | None:
    """Keep, for each KPI, only the plan versions of its cycle in force as of ``as_of``.

    A version names its cycle, or none for the home cycle's ``plan:``. A KPI left with no version
    in its cycle is dropped from the answer, so the engine uses the model's plan for that cycle.
    KR versions are kept as they are (a KR has one cycle).
    """
    if _one_cycle(model) and not _tagged(versions):
        return None if versions is None else {s: list(found) for s, found in versions.items()}
    return _versions_as_of(model, versions, _in_force(model, as_of))


def _versions_as_of(
    model: Model, versions: Mapping[str, Sequence[PlanVersion]] | None, decided: Decided
) -> dict[str, list[PlanVersion]] | None:
    homes, in_force = decided
    kept: dict[str, list[PlanVersion]] = {}
    for kpi in model.kpis:
        if not kpi.plans or (versions and versions.get(kpi.id)):
            continue
        history = _file_history(kpi, in_force[kpi.id], homes.get(kpi.id))
        if history:
            kept[kpi.id] = history
    for objective in model.objectives:
        cycle = model.cycle_of(objective.cycle)
        for kr in objective.key_results:
            if kr.plans and cycle is not None and not (versions and versions.get(kr.id)):
                history = _history(kr.id, kr.plan, kr.plans, cycle)
                if history:
                    kept[kr.id] = history
    if not versions:
        return kept or (None if versions is None else {})
    for subject, found in versions.items():
        if subject in kept:
            continue
        if subject not in in_force:
            kept[subject] = list(found)
            continue
        cycle, home = in_force[subject], homes.get(subject)
        if cycle is None:
            kept[subject] = list(found)
            continue
        chosen = [
            v
            for v in found
            if v.cycle == cycle.id or (v.cycle is None and home is not None and home.id == cycle.id)
        ]
        if chosen:
            kept[subject] = chosen
    return kept


def _file_history(kpi: Kpi, cycle: Cycle | None, home: Cycle | None) -> list[PlanVersion]:
    """Return the versions a model file's dated ``plans:`` items give the cycle, or [] for none."""
    if cycle is None:
        return []
    return _history(kpi.id, plan_in_cycle(kpi, cycle, home), kpi.plans, cycle)


def _history(subject: str, base: Plan | None, items: Sequence[CyclePlan], cycle: Cycle) -> list[PlanVersion]:
    dated = sorted((p for p in items if p.cycle == cycle.id and p.effective is not None), key=_when)
    if not dated or base is None:
        return []
    first = PlanVersion(subject, 1, cycle.start, base, "initial plan", cycle=cycle.id)
    return [first] + [
        PlanVersion(subject, i, p.effective or cycle.start, p.plan, "re-baseline", cycle=cycle.id)
        for i, p in enumerate(dated, 2)
    ]


def _when(entry: CyclePlan) -> dt.date:
    return entry.effective or dt.date.min


def version_cycle(model: Model, subject: str, level: str, effective: dt.date) -> str | None:
    """Return the cycle tag of a new plan version of ``subject`` effective ``effective``.

    None (the home cycle, as every version of a one-cycle model) for a KR, or for a KPI whose
    cycle in force on that day is its home cycle; else the id of the cycle in force then.
    """
    kpi = next((k for k in model.kpis if k.id == subject), None) if level == "kpi" else None
    if kpi is None:
        return None
    home = kpi_cycles(model).get(kpi.id)
    cycle = kpi_cycle_in_force(model, kpi, effective, home)
    if cycle is None or (home is not None and cycle.id == home.id):
        return None
    return cycle.id
