"""Build the engine's output frames and verdicts: per-series figures, KPI, KR and objective rows, charts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import polars as pl

from onpace.domain.calendar import Layout
from onpace.domain.evaluate import (
    NO_DAY,
    RED,
    STATUS_NAMES,
    Criteria,
    Figures,
    attainment,
    shortfall,
    threshold,
)
from onpace.domain.forecast import Projection
from onpace.domain.graph import combine
from onpace.domain.model import Model
from onpace.domain.phasing import BucketPlans
from onpace.domain.results import VERDICT_FIELDS, SubjectResult
from onpace.domain.series_specs import SeriesSpecs

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


def series_frame(
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
    return finite(
        frame.with_columns(
            weeks_to_red=pl.when(pl.col("weeks_to_red") >= 0).then(pl.col("weeks_to_red")).otherwise(None),
            last_point=pl.when(pl.col("_has_point")).then(pl.col("last_point").cast(pl.Date)).otherwise(None),
        ).drop("_has_point")
    )


def kpi_rows(model: Model, series: pl.DataFrame) -> pl.DataFrame:
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


def kr_rows(
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


def subject_frame(parts: list[pl.DataFrame]) -> pl.DataFrame:
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


def chart(
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
        cumulative_plan = opening + segment_cumsum(np.nan_to_num(plan[flows]), groups)
        to_date_plan[flows] = np.where(np.isnan(plan[flows]), np.nan, cumulative_plan)
        cumulative_actual = opening + segment_cumsum(np.nan_to_num(seen[flows]), groups)
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


def segment_cumsum(values: Floats, groups: Ints) -> Floats:
    if values.size == 0:
        return values.copy()
    total = np.cumsum(values)
    start = np.flatnonzero(np.append(True, groups[1:] != groups[:-1]))
    base = total[start] - values[start]
    return total - np.repeat(base, np.diff(np.append(start, values.size)))


def finite(frame: pl.DataFrame) -> pl.DataFrame:
    """Return the frame with every NaN or infinite float replaced by null."""
    floats = [name for name, dtype in frame.schema.items() if dtype in (pl.Float64, pl.Float32)]
    return frame.with_columns(
        [pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c) for c in floats]
    )


def results(subjects: pl.DataFrame, as_of: dt.date) -> dict[str, SubjectResult]:
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
