"""Evaluate the whole model as of a date: buckets, variance, status, forecast, roll-up, impact.

``evaluate_model`` is the engine's one entry point. It works on all series at once (numpy over a
dense bucket layout, polars for the model-sized frames) and returns an :class:`Evaluation`:
frames for reports and charts, and one :class:`SubjectResult` per KPI, KR and objective.

A *series* is a KPI (points whose metric is its id, or a formula over other KPIs) or a KR with
its own plan and no KPI (points whose metric is the KR's id). A KPI is judged in its cycle in force as
of the date, against its plan for that cycle (``domain.cycles``); a KR in its objective's cycle.
``ratio`` KPIs are compared like ``level`` ones (the latest bucket against its plan). A formula
is computed bucket by bucket from its inputs bucketed at the formula's grain, each with its own
aggregate (a name that is not a KPI is a raw metric, summed); nested formulas are expanded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from onpace.domain import formula as fx
from onpace.domain import seasonal, whatif
from onpace.domain.calendar import GRAIN_CODES, Layout, day_number, kpi_cycles, kr_cycles, layout
from onpace.domain.cycles import open_past_cycles, scope_as_of
from onpace.domain.evaluate import (
    AGGREGATE_CODES,
    DIRECTION_CODES,
    NO_DAY,
    RED,
    STATUS_NAMES,
    Criteria,
    Figures,
    attainment,
    bucket_actuals,
    figures_to_date,
    grade,
    point_arrays,
    shortfall,
    threshold,
)
from onpace.domain.forecast import Projection, forecast_buckets, project
from onpace.domain.graph import check_cycles, combine, feed_links, impact, objective_links, threats
from onpace.domain.leadlag import lead_lag
from onpace.domain.model import DEFAULT_TOLERANCE, Cycle, Model, Plan, PlanVersion, Tolerance
from onpace.domain.phasing import BucketPlans, bucket_plans, plan_table
from onpace.domain.point_sources import declared_sources, one_source_per_day
from onpace.domain.resources import resources
from onpace.domain.results import VERDICT_FIELDS, SubjectResult

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

SUBJECT_COLUMNS: dict[str, pl.DataType] = {
    "subject": pl.Utf8(),
    "level": pl.Utf8(),
    "kind": pl.Utf8(),
    "measure": pl.Utf8(),
    "direction": pl.Utf8(),
    "grain": pl.Utf8(),
    "cycle": pl.Utf8(),
    "source": pl.Utf8(),
    "series": pl.Utf8(),
    "status": pl.Utf8(),
    "effective_status": pl.Utf8(),
    "at_risk": pl.Boolean(),
    "stale": pl.Boolean(),
    "threatened_by": pl.List(pl.Utf8()),
    "plan_to_date": pl.Float64(),
    "actual_to_date": pl.Float64(),
    "variance_abs": pl.Float64(),
    "variance_pct": pl.Float64(),
    "shortfall": pl.Float64(),
    "attainment": pl.Float64(),
    "progress": pl.Float64(),
    "plan_end": pl.Float64(),
    "forecast_end": pl.Float64(),
    "forecast_low": pl.Float64(),
    "forecast_high": pl.Float64(),
    "p_target": pl.Float64(),
    "end_status": pl.Utf8(),
    "weeks_to_red": pl.Int64(),
    "last_point": pl.Date(),
}


@dataclass(frozen=True)
class Evaluation:
    """The engine's output as of one date; every float is finite or null.

    - ``subjects``: one row per KPI, KR and objective with every figure (``SUBJECT_COLUMNS``;
      ``source`` says where a KR's figures come from — ``kpi``, ``series``, ``feeds`` or null —
      and ``series`` names the series whose buckets chart it);
    - ``buckets``: one row per series and bucket of its cycle: ``plan``/``actual`` (the bucket's
      level, or amount for flow), ``plan_to_date``/``actual_to_date`` (cumulative for flow) and
      ``forecast``/``lo``/``hi`` (80 % interval) on buckets still to come, in to-date units;
    - ``threats``: ``kr, cause, weight``; ``impact``: ``kpi, subject, level, path_weight``;
    - ``resources``: one row per initiative and supported KR (see ``domain.resources``);
    - ``leadlag``: one row per KPI → KR link (see ``domain.leadlag``);
    - ``results``: one SubjectResult per subject id.

    ``buckets`` and ``leadlag`` serve charts and reports, not decisions, so they are built on first
    use (from figures already computed) and kept; :meth:`chart` builds the rows of a few subjects.
    """

    as_of: dt.date
    subjects: pl.DataFrame
    threats: pl.DataFrame
    impact: pl.DataFrame
    resources: pl.DataFrame
    results: dict[str, SubjectResult]
    chart_rows: Callable[[Collection[str] | None], pl.DataFrame] = field(repr=False, compare=False)
    leadlag_rows: Callable[[], pl.DataFrame] = field(repr=False, compare=False)

    @property
    def kpis(self) -> pl.DataFrame:
        """Return the KPI rows of ``subjects``."""
        return self.subjects.filter(pl.col("level") == "kpi")

    @cached_property
    def buckets(self) -> pl.DataFrame:
        """Return the per-bucket chart frame of every series (built once, on first use)."""
        return self.chart_rows(None)

    @cached_property
    def leadlag(self) -> pl.DataFrame:
        """Return the lead-lag check of every KPI → KR link (built once, on first use)."""
        return self.leadlag_rows()

    def chart(self, subjects: Collection[str]) -> pl.DataFrame:
        """Return the chart rows of some subjects (a KR measured by a KPI shows its KPI's rows)."""
        return self.chart_rows(subjects)


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


def evaluate_model(
    model: Model,
    points: pl.DataFrame,
    as_of: dt.date,
    plan_versions: Mapping[str, Sequence[PlanVersion]] | None = None,
    closed: Collection[str] = (),
) -> Evaluation:
    """Evaluate every KPI, KR and objective of ``model`` from ``points`` as of ``as_of``.

    ``points``: ``metric, date, value`` and optionally ``source`` and ``run`` (when several
    sources report a metric on one day, one wins: ``domain.point_sources``; several points per
    metric and day are aggregated into their bucket; points after ``as_of`` are ignored). ``plan_versions`` maps a subject to its
    plan versions; a subject missing from it uses the model's plan as version 1 from its cycle's
    start. Raise ``graph.LinkCycleError`` when formulas refer to each other in a cycle,
    ``formula.FormulaError`` for a formula that does not parse, and ValueError when ``points``
    lacks a needed column.

    Each KPI is judged in its cycle in force as of the date (``domain.cycles``); objectives of
    ended cycles not in ``closed`` are still judged, as of their cycle's end, and added.
    """
    evaluation = run(model, points, as_of, plan_versions, {})
    past = open_past_cycles(model, as_of, closed)
    if not past:
        return evaluation
    parts = [evaluation.subjects]
    threat_parts = [evaluation.threats]
    for cycle in past:
        earlier = run(model, points, cycle.end, plan_versions, {}, objective_cycles={cycle.id})
        mine = {o.id for o in model.objectives if o.cycle == cycle.id}
        mine |= {kr.id for o in model.objectives if o.cycle == cycle.id for kr in o.key_results}
        parts.append(earlier.subjects.filter(pl.col("subject").is_in(sorted(mine))))
        threat_parts.append(earlier.threats.filter(pl.col("kr").is_in(sorted(mine))))
    subjects = pl.concat(parts, how="vertical")
    return dataclasses.replace(
        evaluation,
        subjects=subjects,
        threats=pl.concat(threat_parts, how="vertical"),
        results=_results(subjects, as_of),
    )


def run(
    model: Model,
    points: pl.DataFrame,
    as_of: dt.date,
    plan_versions: Mapping[str, Sequence[PlanVersion]] | None,
    shifts: Mapping[str, whatif.Shift],
    *,
    objective_cycles: Collection[str] | None = None,
) -> Evaluation:
    """Evaluate the model with what-if ``shifts`` applied to the as-of actuals (empty for none).

    The model is first read as of the date (``cycles.scope_as_of``): each KPI in its cycle in
    force with that cycle's plan and plan versions, and the objectives of ``objective_cycles``
    (default: the cycles in force).
    """
    missing = {"metric", "date", "value"} - set(points.columns)
    if missing:
        raise ValueError(
            f"actual points need the columns metric, date, value; missing: {', '.join(sorted(missing))}"
        )
    check_cycles(model)
    model, plan_versions = scope_as_of(model, plan_versions, as_of, objective_cycles)
    points = one_source_per_day(points, declared_sources(model))
    # Extreme values may overflow on the way; every output is made finite-or-null at the end.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _run(model, points, as_of, plan_versions, shifts)


def _run(
    model: Model,
    points: pl.DataFrame,
    as_of: dt.date,
    plan_versions: Mapping[str, Sequence[PlanVersion]] | None,
    shifts: Mapping[str, whatif.Shift],
) -> Evaluation:
    policy = model.policy
    week_start = model.calendar.week_start_index
    today = day_number(as_of)
    specs = _specs_of(model)
    flow = specs.bools(0)
    direction = specs.ints(1)
    grain = specs.ints(2)
    aggregate = specs.ints(3)
    criteria = Criteria(
        direction,
        specs.floats(4),
        specs.bools(5),
        specs.floats(6),
        specs.bools(7),
    )
    cycle_start = specs.ints(8)
    cycle_end = specs.ints(9)

    lay = layout(grain, cycle_start, cycle_end, week_start)
    metrics, passes = _requesters(specs)
    actual, last_day = bucket_actuals(
        point_arrays(points, metrics, as_of),
        lay,
        aggregate=aggregate,
        window=(cycle_start, np.minimum(cycle_end, today)),
        primary=specs.primary,
        grain_split=specs.grain_split,
        passes=passes,
    )
    versions = _plan_versions(specs, plan_versions)
    if seasonal.any_seasonal(versions):
        shape = seasonal.SeriesShape(specs.metric, grain, aggregate, flow, cycle_start, cycle_end, week_start)
        cycles_by_id = {c.id: c for c in model.cycles}
        versions = seasonal.resolve(versions, shape, cycles=cycles_by_id, points=points, as_of=as_of)
    plans = bucket_plans(lay, flow, cycle_start, cycle_end, plan_table(versions), as_of=today)
    if shifts:
        actual, last_day = _shift(specs, lay, plans, flow, actual, last_day, shifts, today, formulas=False)
    _apply_formulas(specs, lay, actual, last_day)
    if shifts:
        actual, last_day = _shift(specs, lay, plans, flow, actual, last_day, shifts, today, formulas=True)
    figures = figures_to_date(
        lay,
        plans,
        actual,
        last_day,
        flow=flow,
        cycle_start=cycle_start,
        cycle_end=cycle_end,
        as_of=today,
        stale_after=policy.stale_after,
    )
    status = grade(figures.plan_to_date, figures.actual_to_date, criteria, figures.band_lo, figures.band_hi)
    fb = forecast_buckets(
        lay, plans.plan, actual, flow=flow, cycle_start=cycle_start, cycle_end=cycle_end, as_of=today
    )
    projection = project(
        fb, figures, rows=lay.rows, flow=flow, opening=plans.opening, criteria=criteria, as_of=today
    )
    series_frame = _series_frame(
        specs,
        figures,
        plans,
        status=status,
        projection=projection,
        criteria=criteria,
        at_risk_on=policy.at_risk_on,
    )

    kpi_rows = _kpi_rows(model, series_frame)
    links = feed_links(model)
    threat_frame = threats(links, kpi_rows, policy)
    kr_rows = _kr_rows(model, series_frame, kpi_rows, links, threat_frame)
    objective_rows = combine(
        kr_rows, objective_links(model), [o.id for o in model.objectives], policy.at_risk_on
    ).with_columns(level=pl.lit("objective"), source=pl.lit("krs"))
    objective_rows = objective_rows.join(
        pl.DataFrame(
            [(o.id, o.cycle) for o in model.objectives],
            schema={"subject": pl.Utf8(), "cycle": pl.Utf8()},
            orient="row",
        ),
        on="subject",
        how="left",
    )
    subjects = _finite(_subject_frame([kpi_rows, kr_rows, objective_rows]))
    series_of = dict(zip(subjects["subject"].to_list(), subjects["series"].to_list(), strict=True))

    def chart_rows(wanted: Collection[str] | None) -> pl.DataFrame:
        chosen = None if wanted is None else {series_of.get(name) or name for name in wanted}
        return _chart(
            specs, lay, plans, flow=flow, actual=actual, projection=projection, today=today, only=chosen
        )

    return Evaluation(
        as_of=as_of,
        subjects=subjects,
        threats=threat_frame,
        impact=impact(model, kpi_rows),
        resources=_finite(resources(model, subjects)),
        results=_results(subjects, as_of),
        chart_rows=chart_rows,
        leadlag_rows=lambda: lead_lag(
            model, specs.ids, fb, grain=grain, direction=direction, week_start=week_start
        ),
    )


# Series specs by model object: a model is immutable, and a worker evaluates the same model
# object after every push, so its specs (a pass over every KPI) are worked out once.
_SPECS: dict[int, tuple[weakref.ref[Model], SeriesSpecs]] = {}


def _specs_of(model: Model) -> SeriesSpecs:
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


def _requesters(specs: SeriesSpecs) -> tuple[list[str], list[Ints]]:
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


def _apply_formulas(specs: SeriesSpecs, lay: Layout, actual: Floats, last_day: Ints) -> None:
    """Fill formula series' bucket values from their inputs, one polars expression per formula shape."""
    groups: dict[str, list[int]] = {}
    trees: dict[str, fx.Node] = {}
    for position, (tree, slots) in specs.formulas.items():
        slot_names = {name: f"s{i}" for i, name in enumerate(fx.names(tree))}
        key = fx.shape(tree, slot_names)
        groups.setdefault(key, []).append(position)
        trees[key] = fx.rename(tree, slot_names)
        del slots
    for key, members in groups.items():
        tree = trees[key]
        width = len(fx.names(tree))
        owners = np.array(members, dtype=np.int64)
        counts = lay.count[owners]
        k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        target = np.repeat(lay.offset[owners], counts) + k
        columns: dict[str, Floats] = {}
        latest = np.full(target.size, np.iinfo(np.int64).max, dtype=np.int64)
        for i in range(width):
            slot = np.array([specs.formulas[m][1][i] for m in members], dtype=np.int64)
            rows = np.repeat(lay.offset[slot], counts) + k
            columns[f"s{i}"] = actual[rows]
            latest = np.minimum(latest, last_day[rows])
        frame = pl.DataFrame(columns) if columns else pl.DataFrame({"_": np.zeros(target.size)})
        result = (
            frame.select(fx.to_expr(tree, {c: c for c in columns})).to_series().fill_null(np.nan).to_numpy()
        )
        actual[target] = result
        last_day[target] = np.where(np.isnan(result), NO_DAY, latest)


def _shift(  # noqa: PLR0917 - private helper of _run
    specs: SeriesSpecs,
    lay: Layout,
    plans: BucketPlans,
    flow: Bools,
    actual: Floats,
    last_day: Ints,
    shifts: Mapping[str, whatif.Shift],
    today: int,
    *,
    formulas: bool,
) -> tuple[Floats, Ints]:
    """Apply the what-if shifts of formula series (``formulas``) or of the others and their inputs."""
    index = {name: i for i, name in enumerate(specs.ids[: specs.visible])}
    chosen = {
        index[name]: shift
        for name, shift in shifts.items()
        if name in index and (index[name] in specs.formulas) == formulas
    }
    shifted, days = whatif.shift_rows(
        actual, last_day, lay, flow=flow, opening=plans.opening, shifts=chosen, as_of=today
    )
    if formulas:
        return shifted, days
    readers: dict[str, list[int]] = {}
    for position in range(specs.visible, len(specs.ids)):
        readers.setdefault(str(specs.metric[position]), []).append(position)
    moved = {series: readers[specs.ids[series]] for series in chosen if specs.ids[series] in readers}
    return whatif.follow_inputs(actual, shifted, days, lay, flow=flow, moved=moved, as_of=today)


def _plan_versions(
    specs: SeriesSpecs, given: Mapping[str, Sequence[PlanVersion]] | None
) -> list[Sequence[PlanVersion] | Plan | None]:
    """Return every series' plan versions: the given ones, else the model's plan throughout."""
    if not given:
        return list(specs.plans)
    return [
        given[subject] if position < specs.visible and given.get(subject) else specs.plans[position]
        for position, subject in enumerate(specs.ids)
    ]


def _series_frame(
    specs: SeriesSpecs,
    figures: Figures,
    plans: BucketPlans,
    *,
    status: Ints,
    projection: Projection,
    criteria: Criteria,
    at_risk_on: str,
) -> pl.DataFrame:
    """Return one row per visible series with every figure (numpy → polars, NaN → null)."""
    n = specs.visible
    plan, actual = figures.plan_to_date[:n], figures.actual_to_date[:n]
    gap = shortfall(plan, actual, criteria.direction[:n], figures.band_lo[:n], figures.band_hi[:n])
    red_at = threshold(criteria.red[:n], criteria.red_rel[:n], plan)
    end = projection.end_status[:n]
    live = status[:n] <= 1
    risky = (end >= 1) if at_risk_on == "amber" else (end == RED)
    at_risk = live & risky
    weeks = np.where(status[:n] == RED, 0, np.where(live, projection.weeks_to_red[:n], -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        variance_pct = np.where(plan != 0, (actual - plan) / np.abs(plan), np.nan)
        moved = figures.plan_end[:n] - plans.plan_start[:n]
        progress = np.where(moved != 0, (actual - plans.plan_start[:n]) / moved, np.nan)
    names = np.array(STATUS_NAMES, dtype=object)
    frame = pl.DataFrame(
        {
            "subject": specs.ids[:n],
            "level": specs.level[:n],
            "kind": specs.kind[:n],
            "measure": specs.measure[:n],
            "cycle": specs.cycle[:n],
            "status": names[status[:n]].tolist(),
            "at_risk": at_risk,
            "stale": figures.stale[:n],
            "plan_to_date": plan,
            "actual_to_date": actual,
            "variance_abs": actual - plan,
            "variance_pct": variance_pct,
            "shortfall": np.where(np.isnan(actual) | np.isnan(plan), np.nan, gap),
            "attainment": np.where(np.isnan(actual) | np.isnan(plan), np.nan, attainment(plan, gap, red_at)),
            "progress": progress,
            "plan_end": figures.plan_end[:n],
            "forecast_end": projection.forecast_end[:n],
            "forecast_low": projection.forecast_low[:n],
            "forecast_high": projection.forecast_high[:n],
            "p_target": projection.p_target[:n],
            "end_status": [names[c] if c >= 0 else None for c in end.tolist()],
            "weeks_to_red": pl.Series(weeks, dtype=pl.Int64),
            "last_point": pl.Series(
                np.where(figures.last_point[:n] == NO_DAY, 0, figures.last_point[:n]), dtype=pl.Int32
            ),
            "_has_point": figures.last_point[:n] != NO_DAY,
        },
        schema_overrides=dict.fromkeys(
            ("subject", "level", "kind", "measure", "cycle", "status", "end_status"), pl.Utf8
        ),
        strict=False,
    )
    return _finite(
        frame.with_columns(
            weeks_to_red=pl.when(pl.col("weeks_to_red") >= 0).then(pl.col("weeks_to_red")).otherwise(None),
            last_point=pl.when(pl.col("_has_point")).then(pl.col("last_point").cast(pl.Date)).otherwise(None),
        ).drop("_has_point")
    )


def _kpi_rows(model: Model, series: pl.DataFrame) -> pl.DataFrame:
    """Return one row per KPI of the model: its figures, or 'unplanned' when it has no cycle."""
    ids = pl.DataFrame(
        [(k.id, k.kind, k.measure, k.direction, k.grain) for k in model.kpis],
        schema={
            "subject": pl.Utf8(),
            "kind": pl.Utf8(),
            "measure": pl.Utf8(),
            "direction": pl.Utf8(),
            "grain": pl.Utf8(),
        },
        orient="row",
    )
    found = series.filter(pl.col("level") == "kpi").drop("level", "kind", "measure")
    return ids.join(found, on="subject", how="left").with_columns(
        level=pl.lit("kpi"),
        status=pl.col("status").fill_null("unplanned"),
        at_risk=pl.col("at_risk").fill_null(False),
        stale=pl.col("stale").fill_null(False),
        series=pl.col("subject"),
    )


def _kr_rows(
    model: Model,
    series: pl.DataFrame,
    kpi_rows: pl.DataFrame,
    links: pl.DataFrame,
    threat_frame: pl.DataFrame,
) -> pl.DataFrame:
    """Return one row per KR: from its KPI, its own series, its feeds, or 'unplanned'."""
    krs = model.key_results
    feeds_into = set(links["kr"].to_list())
    source = {
        kr.id: "kpi"
        if kr.kpi
        else "series"
        if kr.plan is not None
        else "feeds"
        if kr.id in feeds_into
        else None
        for kr in krs
    }
    info = pl.DataFrame(
        [
            (kr.id, kr.kpi, source[kr.id], kr.measure, kr.direction, kr.grain, obj.cycle)
            for obj in model.objectives
            for kr in obj.key_results
        ],
        schema={
            "subject": pl.Utf8(),
            "kpi": pl.Utf8(),
            "source": pl.Utf8(),
            "measure": pl.Utf8(),
            "direction": pl.Utf8(),
            "grain": pl.Utf8(),
            "cycle": pl.Utf8(),
        },
        orient="row",
    )
    shared = [c for c in kpi_rows.columns if c not in ("subject", "level", "kind", "cycle")]
    from_kpi = (
        info.filter(pl.col("source") == "kpi")
        .select("subject", "kpi", "source", "cycle")
        .join(kpi_rows.select(pl.col("subject").alias("kpi"), *shared), on="kpi", how="left")
        .with_columns(series=pl.col("kpi"))
        .drop("kpi")
    )
    from_series = (
        info.filter(pl.col("source") == "series")
        .drop("kpi")
        .join(
            series.filter(pl.col("level") == "kr").drop("level", "kind", "measure", "cycle"),
            on="subject",
            how="left",
        )
        .with_columns(series=pl.col("subject"))
    )
    from_feeds = combine(
        kpi_rows,
        links.select(pl.col("kr").alias("parent"), pl.col("kpi").alias("child"), "weight"),
        info.filter(pl.col("source") == "feeds")["subject"].to_list(),
        model.policy.at_risk_on,
    ).join(info.drop("kpi"), on="subject", how="left")
    nothing = info.filter(pl.col("source").is_null()).drop("kpi").with_columns(status=pl.lit("unplanned"))
    rows = pl.concat([from_kpi, from_series, from_feeds, nothing], how="diagonal_relaxed")
    threatened = threat_frame.group_by("kr", maintain_order=True).agg(threatened_by=pl.col("cause"))
    return rows.join(threatened, left_on="subject", right_on="kr", how="left").with_columns(
        level=pl.lit("kr"),
        status=pl.col("status").fill_null("unplanned"),
        at_risk=pl.col("at_risk").fill_null(False),
        stale=pl.col("stale").fill_null(False),
    )


def _subject_frame(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Stack KPI, KR and objective rows into the ``SUBJECT_COLUMNS`` layout."""
    shaped = [
        part.select(
            [
                (pl.col(name).cast(dtype) if name in part.columns else pl.lit(None, dtype=dtype)).alias(name)
                for name, dtype in SUBJECT_COLUMNS.items()
            ]
        )
        for part in parts
    ]
    frame = pl.concat(shaped, how="vertical")
    return frame.with_columns(
        threatened_by=pl.col("threatened_by").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
        effective_status=pl.when(pl.col("at_risk") & pl.col("status").is_in(["green", "amber"]))
        .then(pl.lit("at_risk"))
        .otherwise(pl.col("status")),
    )


def _chart(
    specs: SeriesSpecs,
    lay: Layout,
    plans: BucketPlans,
    *,
    flow: Bools,
    actual: Floats,
    projection: Projection,
    today: int,
    only: set[str] | None = None,
) -> pl.DataFrame:
    """Return the per-bucket chart frame of the visible series."""
    shown = np.arange(specs.visible)
    if only is not None:
        shown = np.array(
            [i for i, name in enumerate(specs.ids[: specs.visible]) if name in only], dtype=np.int64
        )
    counts = lay.count[shown]
    index = np.repeat(lay.offset[shown] - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
    s = lay.series[index]
    start = lay.start[index]
    plan = plans.plan[index]
    seen = actual[index]
    to_date_plan = plan.copy()
    to_date_actual = np.where(start <= today, seen, np.nan)
    flows = np.flatnonzero(np.repeat(flow[shown], counts))
    if flows.size:
        opening = np.repeat(plans.opening[shown], counts)[flows]
        groups = s[flows]
        cumulative_plan = opening + _segment_cumsum(np.nan_to_num(plan[flows]), groups)
        to_date_plan[flows] = np.where(np.isnan(plan[flows]), np.nan, cumulative_plan)
        cumulative_actual = opening + _segment_cumsum(np.nan_to_num(seen[flows]), groups)
        to_date_actual[flows] = np.where(start[flows] <= today, cumulative_actual, np.nan)

    def column(name: str, values: Floats, checked: bool = False) -> pl.Series:
        # Plans and actuals are finite by construction; sums and forecasts may overflow.
        finite = values if checked else np.where(np.isfinite(values), values, np.nan)
        return pl.Series(name, finite, nan_to_null=True)

    return pl.DataFrame(
        [
            pl.Series("subject", specs.ids, dtype=pl.Utf8).gather(s),
            pl.Series("bucket_start", start.astype(np.int32)).cast(pl.Date),
            pl.Series("bucket_end", lay.end[index].astype(np.int32)).cast(pl.Date),
            column("plan", plan, checked=True),
            column("actual", seen, checked=True),
            column("plan_to_date", to_date_plan),
            column("actual_to_date", to_date_actual),
            column("forecast", projection.row_forecast[index]),
            column("lo", projection.row_low[index]),
            column("hi", projection.row_high[index]),
        ]
    )


def _segment_cumsum(values: Floats, groups: Ints) -> Floats:
    if values.size == 0:
        return values.copy()
    total = np.cumsum(values)
    start = np.flatnonzero(np.append(True, groups[1:] != groups[:-1]))
    base = total[start] - values[start]
    return total - np.repeat(base, np.diff(np.append(start, values.size)))


def _finite(frame: pl.DataFrame) -> pl.DataFrame:
    """Return the frame with every NaN or infinite float replaced by null."""
    floats = [name for name, dtype in frame.schema.items() if dtype in (pl.Float64, pl.Float32)]
    return frame.with_columns(
        [pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c) for c in floats]
    )


def _results(subjects: pl.DataFrame, as_of: dt.date) -> dict[str, SubjectResult]:
    """Turn the subject frame into one SubjectResult per subject."""
    fields = VERDICT_FIELDS
    columns = [subjects[name].to_list() for name in fields]
    results: dict[str, SubjectResult] = {}
    for (
        subject,
        level,
        status,
        at_risk,
        stale,
        threatened,
        plan,
        actual,
        var_abs,
        var_pct,
        f_end,
        f_low,
        f_high,
        plan_end,
        p_target,
        weeks,
        attained,
        last_point,
    ) in zip(*columns, strict=True):
        results[subject] = SubjectResult(
            subject=subject,
            level=level,
            as_of=as_of,
            status=status,
            at_risk=bool(at_risk),
            stale=bool(stale),
            threatened_by=tuple(threatened or ()),
            plan_to_date=plan,
            actual_to_date=actual,
            variance_abs=var_abs,
            variance_pct=var_pct,
            forecast_end=f_end,
            forecast_low=f_low,
            forecast_high=f_high,
            plan_end=plan_end,
            p_target=p_target,
            weeks_to_red=weeks,
            attainment=attained,
            last_point=last_point,
        )
    return results


__all__ = ["SUBJECT_COLUMNS", "Evaluation", "SeriesSpecs", "evaluate_model", "run", "series_specs"]
