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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl

from onpace.domain import formula as fx
from onpace.domain import seasonal, whatif
from onpace.domain import subject_frames as frames
from onpace.domain.calendar import Layout, day_number, layout
from onpace.domain.cycles import open_past_cycles, scope_as_of
from onpace.domain.evaluate import (
    NO_DAY,
    Criteria,
    bucket_actuals,
    figures_to_date,
    grade,
    point_arrays,
)
from onpace.domain.forecast import forecast_buckets, project
from onpace.domain.graph import check_cycles, combine, feed_links, impact, objective_links, threats
from onpace.domain.leadlag import lead_lag
from onpace.domain.model import Model, Plan, PlanVersion
from onpace.domain.phasing import BucketPlans, bucket_plans, plan_table
from onpace.domain.point_sources import declared_sources, one_source_per_day
from onpace.domain.resources import resources
from onpace.domain.results import SubjectResult
from onpace.domain.series_specs import SeriesSpecs, requesters, series_specs, specs_of
from onpace.domain.subject_frames import SUBJECT_COLUMNS
from onpace.domain.tolerance_noise import Noise
from onpace.domain.tolerance_noise import measure as measure_noise
from onpace.domain.tolerance_noise import readings as noise_readings

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


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
    - ``results``: one SubjectResult per subject id;
    - ``noise``: the KPIs whose red tolerance is narrower than their own noise, by id
      (``domain.tolerance_noise``; not a verdict column: hygiene reads it).

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
    noise: Mapping[str, Noise] = field(default_factory=dict, repr=False, compare=False)

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
        results=frames.results(subjects, as_of),
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
    specs = specs_of(model)
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
    metrics, passes = requesters(specs)
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
    judged = np.zeros(flow.size, dtype=bool)
    judged[: specs.visible] = np.array(specs.level[: specs.visible]) == "kpi"
    judged &= np.isnan(figures.band_lo) & ~np.isnan(figures.plan_end)
    noise, evidence, noisy = measure_noise(
        lay,
        plans.plan,
        actual,
        flow=flow,
        cycle_start=cycle_start,
        cycle_end=cycle_end,
        today=today,
        red=criteria.red,
        red_rel=criteria.red_rel,
        judged=judged,
    )
    series_frame = frames.series_frame(
        specs,
        figures,
        plans,
        status=status,
        projection=projection,
        criteria=criteria,
        at_risk_on=policy.at_risk_on,
    )

    kpi_rows = frames.kpi_rows(model, series_frame)
    links = feed_links(model)
    threat_frame = threats(links, kpi_rows, policy)
    kr_rows = frames.kr_rows(model, series_frame, kpi_rows, links, threat_frame)
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
    subjects = frames.finite(frames.subject_frame([kpi_rows, kr_rows, objective_rows]))
    series_of = dict(zip(subjects["subject"].to_list(), subjects["series"].to_list(), strict=True))

    def chart_rows(wanted: Collection[str] | None) -> pl.DataFrame:
        chosen = None if wanted is None else {series_of.get(name) or name for name in wanted}
        return frames.chart(
            specs, lay, plans, flow=flow, actual=actual, projection=projection, today=today, only=chosen
        )

    return Evaluation(
        as_of=as_of,
        subjects=subjects,
        threats=threat_frame,
        impact=impact(model, kpi_rows),
        resources=frames.finite(resources(model, subjects)),
        results=frames.results(subjects, as_of),
        chart_rows=chart_rows,
        leadlag_rows=lambda: lead_lag(
            model, specs.ids, fb, grain=grain, direction=direction, week_start=week_start
        ),
        noise=noise_readings(
            specs.ids, noise, evidence, noisy, red=criteria.red, red_rel=criteria.red_rel, flow=flow
        ),
    )


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


__all__ = ["SUBJECT_COLUMNS", "Evaluation", "SeriesSpecs", "evaluate_model", "run", "series_specs"]
