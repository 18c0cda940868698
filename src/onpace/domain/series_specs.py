"""Read the model's series as parallel arrays, ordered for fast bucketing (the engine's first step)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from onpace.domain import formula as fx
from onpace.domain.calendar import GRAIN_CODES, day_number, kpi_cycles, kr_cycles
from onpace.domain.evaluate import (
    AGGREGATE_CODES,
    DIRECTION_CODES,
)
from onpace.domain.model import DEFAULT_TOLERANCE, Cycle, Model, Plan, Tolerance

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass
class SeriesSpecs:
    """Every series as parallel arrays; the first ``visible`` are subjects, the rest formula inputs."""

    ids: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    kind: list[str | None] = field(default_factory=list)
    measure: list[str] = field(default_factory=list)
    cycle: list[str] = field(default_factory=list)
    metric: list[str | None] = field(default_factory=list)
    plans: list[Plan | None] = field(default_factory=list)
    numbers: list[tuple[bool, int, int, int, float, bool, float, bool, int, int]] = field(
        default_factory=list
    )
    formulas: dict[int, tuple[fx.Node, list[int]]] = field(default_factory=dict)
    visible: int = 0
    primary: int = 0
    grain_split: tuple[int, int] = (0, 0)

    def ints(self, position: int) -> Ints:
        """Return one integer field of every series as an array."""
        return np.array([row[position] for row in self.numbers], dtype=np.int64)

    def floats(self, position: int) -> Floats:
        """Return one float field of every series as an array."""
        return np.array([row[position] for row in self.numbers], dtype=np.float64)

    def bools(self, position: int) -> Bools:
        """Return one boolean field of every series as an array."""
        return np.array([row[position] for row in self.numbers], dtype=bool)


# Series specs by model object: a model is immutable, and a worker evaluates the same model
# object after every push, so its specs (a pass over every KPI) are worked out once.
_SPECS: dict[int, tuple[weakref.ref[Model], SeriesSpecs]] = {}


def specs_of(model: Model) -> SeriesSpecs:
    """Return :func:`series_specs` of ``model``, worked out once per model object."""
    key = id(model)
    kept = _SPECS.get(key)
    if kept is not None and kept[0]() is model:
        return kept[1]
    specs = series_specs(model)
    _SPECS[key] = (weakref.ref(model, lambda _gone: _SPECS.pop(key, None)), specs)
    return specs


class _Entry(NamedTuple):
    """One series as read from the model."""

    subject: str
    level: str
    kind: str | None
    measure: str
    direction: str
    grain: str
    aggregate: str
    tolerance: Tolerance | None
    cycle: Cycle
    plan: Plan | None
    formula: bool


def series_specs(model: Model) -> SeriesSpecs:
    """Return every series of the model, ordered for fast bucketing.

    Order: series read from points (KPIs, and KRs with their own plan), daily then weekly then
    monthly; then formula KPIs; then one hidden input series per formula input (the input's
    metric at the formula's grain and cycle). KPIs or KRs without a cycle are left out (they are
    reported as unplanned).
    """
    default = model.policy.default_tolerance or DEFAULT_TOLERANCE
    cycles = kpi_cycles(model)
    kr_cycle = kr_cycles(model)
    entries: list[_Entry] = []
    aggregate_of: dict[str, str] = {}
    raw_trees: dict[str, fx.Node] = {}
    for kpi in model.kpis:
        cycle = cycles.get(kpi.id)
        if cycle is None:
            continue
        if kpi.formula:
            raw_trees[kpi.id] = fx.parse(kpi.formula)
        else:
            aggregate_of[kpi.id] = kpi.aggregate
        entries.append(
            _Entry(
                kpi.id,
                "kpi",
                kpi.kind,
                kpi.measure,
                kpi.direction,
                kpi.grain,
                kpi.aggregate,
                kpi.tolerance,
                cycle,
                kpi.plan,
                bool(kpi.formula),
            )
        )
    for kr in model.key_results:
        cycle = kr_cycle.get(kr.id)
        if kr.kpi is not None or kr.plan is None or cycle is None:
            continue
        aggregate_of.setdefault(kr.id, kr.aggregate)
        entries.append(
            _Entry(
                kr.id,
                "kr",
                None,
                kr.measure,
                kr.direction,
                kr.grain,
                kr.aggregate,
                kr.tolerance,
                cycle,
                kr.plan,
                False,
            )
        )
    entries.sort(key=lambda e: (e.formula, GRAIN_CODES[e.grain]))
    specs = SeriesSpecs()

    def add(entry: _Entry, metric: str | None) -> int:
        tol = entry.tolerance or default
        specs.ids.append(entry.subject)
        specs.level.append(entry.level)
        specs.kind.append(entry.kind)
        specs.measure.append(entry.measure)
        specs.cycle.append(entry.cycle.id)
        specs.metric.append(metric)
        specs.plans.append(entry.plan)
        specs.numbers.append(
            (
                entry.measure == "flow",
                DIRECTION_CODES[entry.direction],
                GRAIN_CODES[entry.grain],
                AGGREGATE_CODES[entry.aggregate],
                float(tol.amber.value),
                tol.amber.relative,
                float(tol.red.value),
                tol.red.relative,
                day_number(entry.cycle.start),
                day_number(entry.cycle.end),
            )
        )
        return len(specs.ids) - 1

    for entry in entries:
        add(entry, None if entry.formula else entry.subject)
    specs.visible = len(specs.ids)
    readers = [e for e in entries if not e.formula]
    specs.primary = len(readers)
    grains = [GRAIN_CODES[e.grain] for e in readers]
    specs.grain_split = (grains.count(0), grains.count(0) + grains.count(1))
    for position, entry in enumerate(entries):
        if not entry.formula:
            continue
        tree = fx.substitute(raw_trees[entry.subject], raw_trees)
        inputs = [
            _Entry(
                f"{entry.subject}\x1f{i}",
                "input",
                None,
                "level",
                "up",
                entry.grain,
                aggregate_of.get(name, "sum"),
                None,
                entry.cycle,
                None,
                False,
            )
            for i, name in enumerate(fx.names(tree))
        ]
        specs.formulas[position] = (
            tree,
            [add(item, name) for item, name in zip(inputs, fx.names(tree), strict=True)],
        )
    return specs


def requesters(specs: SeriesSpecs) -> tuple[list[str], list[Ints]]:
    """Return the metrics read (series ``i < primary`` read metric ``i``) and the formula-input passes."""
    metrics = list(specs.ids[: specs.primary])
    code = {name: i for i, name in enumerate(metrics)}
    extra: dict[int, list[int]] = {}
    for position in range(specs.visible, len(specs.ids)):
        name = specs.metric[position]
        assert name is not None
        if name not in code:
            code[name] = len(metrics)
            metrics.append(name)
        extra.setdefault(code[name], []).append(position)
    depth = max((len(v) for v in extra.values()), default=0)
    passes = [np.full(len(metrics), -1, dtype=np.int64) for _ in range(depth)]
    for c, positions in extra.items():
        for j, series in enumerate(positions):
            passes[j][c] = series
    return metrics, passes
