"""Forecast every series to the end of its cycle from its deviation from plan.

The forecaster works on the *deviation* (bucket actual − bucket plan; for flow the per-bucket
amounts), so a phased plan that is on track projects on track. Per DESIGN.md §4 and
docs/semantics.md ("Forecast", "Interval"):

- daily series are forecast on their weekly aggregates (level: mean of daily deviations, flow:
  their sum); weekly and monthly series on their own buckets;
- only complete buckets (last day ≤ the date figures are taken at) are used, and none after the
  last bucket with data; a level bucket without data is skipped, a flow bucket without data
  counts as zero; no forecast (nor interval, nor ``p_target``) before 3 complete buckets;
- the deviations are smoothed by ``domain.smoothing``: no trend before 8 buckets, a damped trend
  after; the actuals themselves (deviation + the bucket's plan) by simple smoothing;
- the projected deviation combines "the deviation carries on" (the plan's shape is followed) with
  "the actual carries on" (it is not), weighted by the inverse of each model's one-step error
  variance; the interval's spread is the same weighted mean of the two models' spreads;
- level projection = plan of the bucket + projected deviation; flow projection = cumulative
  actual to date + plan still to come + projected deviations of the buckets still to come (the
  running bucket weighted by the share of it not yet owed, ``domain.unfinished``);
- the prediction interval is central 80 % (Student t quantiles, the variance of the smoothing
  model plus the drift's uncertainty; for flow the variance of the summed errors);
- ``p_target``: the probability that the end-of-cycle value meets its plan (up: ≥ plan, down:
  ≤ plan, range: inside the band, or within the amber threshold without one), read from a normal
  with the interval's (t-widened) spread.

Everything is vectorised across series: numpy arrays are (series × buckets) and the only Python
loops run over bucket positions or grid points, never over series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from onpace.domain.calendar import DAY, Layout, week_number
from onpace.domain.evaluate import DOWN, RED, UP, Criteria, Figures, grade, threshold
from onpace.domain.smoothing import (
    Z_INTERVAL,
    combination_weight,
    fit_smoothing,
    normal_cdf,
    t_quantile,
    trend_sum,
    variance_factors,
)

Array = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

MIN_BUCKETS = 3


@dataclass(frozen=True)
class ForecastBuckets:
    """The buckets each series is forecast on: its own, or calendar weeks for daily series.

    Per forecast bucket: ``series``, ``fk`` (0, 1, … within the series), ``first``/``last`` (days
    inside the cycle), ``plan_level`` (plan at its end), ``plan_amount`` (summed plan), ``dev``
    (level: mean daily deviation over days with data; flow: summed deviation, missing = 0),
    ``value`` (actual: level mean, flow sum; NaN without data), ``has_data``, ``complete``,
    ``last_row`` (the layout row holding its last day). Per series: ``offset``, ``count``.
    """

    series: Ints
    fk: Ints
    first: Ints
    last: Ints
    plan_level: Array
    plan_amount: Array
    dev: Array
    value: Array
    has_data: npt.NDArray[np.bool_]
    complete: npt.NDArray[np.bool_]
    last_row: Ints
    offset: Ints
    count: Ints


def forecast_buckets(
    lay: Layout,
    plan: Array,
    actual: Array,
    *,
    flow: npt.NDArray[np.bool_],
    cycle_start: Ints,
    cycle_end: Ints,
    as_of: int,
) -> ForecastBuckets:
    """Group every series' bucket rows into forecast buckets (weeks for daily series)."""
    week_start = lay.week_start
    s = lay.series
    local = lay.k
    daily = np.flatnonzero(np.repeat(lay.grain == DAY, lay.count))
    if daily.size:
        local = local.copy()
        local[daily] = week_number(lay.start[daily], week_start) - week_number(
            cycle_start[s[daily]], week_start
        )
        new = np.ones(s.size, dtype=bool)
        new[1:] = (s[1:] != s[:-1]) | (local[1:] != local[:-1])
        starts = np.flatnonzero(new)
    else:
        starts = np.arange(s.size)
    ends = (np.append(starts[1:], s.size)[: starts.size] - 1).astype(np.int64)
    series = s[starts]
    has = ~np.isnan(actual)
    actual0 = np.where(has, actual, 0.0)
    row_flow = np.repeat(flow, lay.count)
    # Flow: a bucket without data counts as zero; level: only buckets with data count.
    deviation = np.where(row_flow | has, actual0 - plan, 0.0)
    if starts.size == s.size:
        n_data, summed_actual, summed_dev, plan_amount = has.astype(np.float64), actual0, deviation, plan
    else:
        n_data = np.add.reduceat(has.astype(np.float64), starts)
        summed_actual = np.add.reduceat(actual0, starts)
        summed_dev = np.add.reduceat(deviation, starts)
        plan_amount = np.add.reduceat(plan, starts)
    fb_flow = flow[series]
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.where(fb_flow, summed_dev, summed_dev / n_data)
        value = np.where(fb_flow, summed_actual, summed_actual / n_data)
    last = np.minimum(lay.end[ends], cycle_end[series])
    count = np.bincount(series, minlength=flow.size).astype(np.int64)
    return ForecastBuckets(
        series=series,
        fk=local[starts],
        first=np.maximum(lay.start[starts], cycle_start[series]),
        last=last,
        plan_level=plan[ends],
        plan_amount=plan_amount,
        dev=np.where(fb_flow | (n_data > 0), dev, np.nan),
        value=np.where(n_data > 0, value, np.nan),
        has_data=n_data > 0,
        complete=last <= as_of,
        last_row=ends,
        offset=(np.cumsum(count) - count).astype(np.int64),
        count=count,
    )


@dataclass(frozen=True)
class Projection:
    """Per series end-of-cycle forecast (NaN / −1 without one) and per layout row chart values."""

    forecast_end: Array
    forecast_low: Array
    forecast_high: Array
    p_target: Array
    end_status: Ints
    weeks_to_red: Ints
    row_forecast: Array
    row_low: Array
    row_high: Array


def project(
    fb: ForecastBuckets,
    figures: Figures,
    *,
    rows: int,
    flow: npt.NDArray[np.bool_],
    opening: Array,
    criteria: Criteria,
    as_of: int,
) -> Projection:
    """Forecast every series with enough complete buckets to the end of its cycle."""
    n = flow.size
    nothing = np.full(n, np.nan)
    out = Projection(
        nothing,
        nothing.copy(),
        nothing.copy(),
        nothing.copy(),
        np.full(n, -1),
        np.full(n, -1),
        np.full(rows, np.nan),
        np.full(rows, np.nan),
        np.full(rows, np.nan),
    )
    if fb.series.size == 0:
        return out
    s = fb.series
    to_date = figures.to_date
    done = fb.complete & (fb.last <= to_date[s])
    fk_data = np.maximum.reduceat(np.where(fb.has_data, fb.fk, -1), fb.offset)
    fk_done = np.maximum.reduceat(np.where(done, fb.fk, -1), fb.offset)
    used = np.where((fk_data >= 0) & (fk_done >= 0), np.minimum(fk_data, fk_done) + 1, 0)
    usable = (fb.fk < used[s]) & done & ~np.isnan(fb.dev) & (flow[s] | fb.has_data)
    n_usable = np.add.reduceat(usable.astype(np.int64), fb.offset)
    chosen = (n_usable >= MIN_BUCKETS) & ~np.isnan(figures.plan_end) & ~np.isnan(figures.actual_to_date)
    if not chosen.any():
        return out
    picked = np.flatnonzero(chosen)
    position = np.full(n, -1)
    position[picked] = np.arange(picked.size)
    cells = usable & chosen[s]
    matrix = np.full((picked.size, int(used[picked].max())), np.nan)
    matrix[position[s[cells]], fb.fk[cells]] = fb.dev[cells]
    # The bucket's plan the deviation is taken from: the level at its end, or a flow's amount.
    plan_ref = np.where(flow[s], fb.plan_amount, fb.plan_level)
    # The second model: the actual itself carries on (simple smoothing, never a trend) — a level's
    # value, a flow's amount per day (a bucket the cycle cuts is shorter, not smaller).
    per_day = np.where(flow[s], (fb.last - fb.first + 1).astype(np.float64), 1.0)
    actuals = np.full_like(matrix, np.nan)
    actuals[position[s[cells]], fb.fk[cells]] = (fb.dev[cells] + plan_ref[cells]) / per_day[cells]
    state = fit_smoothing(matrix, used[picked].astype(np.int64))
    steady = fit_smoothing(actuals, used[picked].astype(np.int64), trend_from=matrix.shape[1] + 1)
    # The steady model's errors in a bucket's units: per day times the buckets' mean length.
    where = position[s[cells]]
    span = np.bincount(where, per_day[cells], picked.size) / np.bincount(where, None, picked.size)

    def spread_out(values: Array) -> Array:
        full = np.full(n, np.nan)
        full[picked] = values
        return full

    level, trend, phi = spread_out(state.level), spread_out(state.trend), spread_out(state.phi)
    steady_level = spread_out(steady.level)
    trust = spread_out(combination_weight(state.sigma, steady.sigma * span))
    # Student t instead of normal quantiles: σ comes from few errors (widths are in σ·z units).
    scale = spread_out(state.sigma * t_quantile(state.dof) / Z_INTERVAL)
    steady_scale = spread_out(steady.sigma * span * t_quantile(steady.dof) / Z_INTERVAL)
    future = np.flatnonzero(chosen[s] & (fb.last > to_date[s]))
    fs = s[future]
    h = (fb.fk[future] - used[fs] + 1).astype(np.float64)
    first, last = fb.first[future], fb.last[future]
    # The share of each bucket still to come: the unfinished one owes only what is not yet owed.
    owed = figures.owed_through[fs]
    weight = (last - np.clip(owed, first - 1, last)) / (last - first + 1)
    # Combined: the deviation carries on (the plan's shape is followed) and the actual carries on
    # (it is not), weighted by how well each has tracked the series (docs/semantics.md).
    w = trust[fs]
    follows = level[fs] + trend_sum(phi[fs], h) * trend[fs]
    dev_hat = w * follows + (1.0 - w) * (steady_level[fs] * per_day[future] - plan_ref[future])
    cumulative_plan = (opening[s] + _segment_cumsum(fb.plan_amount, s))[future]
    is_flow = flow[fs]
    flow_value = (
        figures.actual_to_date[fs]
        + _segment_cumsum(weight * fb.plan_amount[future], fs)
        + _segment_cumsum(weight * dev_hat, fs)
    )
    value = np.where(is_flow, flow_value, fb.plan_level[future] + dev_hat)
    compare = np.where(is_flow, cumulative_plan, fb.plan_level[future])
    first_h = _segment_first(h, fs)
    factor = variance_factors(state, position[fs], first_h, h, is_flow)
    steady_factor = variance_factors(steady, position[fs], first_h, h, is_flow)
    # The two models' errors move together (same data, same α): the combination's spread is
    # taken as the weighted spreads, the bound that perfectly correlated errors reach.
    spread = w * scale[fs] * np.sqrt(factor) + (1.0 - w) * steady_scale[fs] * np.sqrt(steady_factor)
    code = grade(compare, value, criteria.take(fs), figures.band_lo[fs], figures.band_hi[fs])
    red_day = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(red_day, fs, np.where(code == RED, last, np.iinfo(np.int64).max))
    crossing = red_day < np.iinfo(np.int64).max
    weeks_to_red = np.where(crossing, np.maximum((red_day - as_of + 6) // 7, 0), -1)
    end_value = figures.actual_to_date.copy()
    end_spread = np.zeros(n)
    if future.size:
        tail = np.append(fs[1:] != fs[:-1], True)
        end_value[fs[tail]] = value[tail]
        end_spread[fs[tail]] = spread[tail]
    end_value = np.where(chosen, end_value, np.nan)
    end_spread = np.where(chosen, end_spread, np.nan)
    amber_end = threshold(criteria.amber, criteria.amber_rel, figures.plan_end)
    p_target = np.where(
        chosen,
        _p_target(
            np.nan_to_num(end_value),
            np.nan_to_num(end_spread),
            np.nan_to_num(figures.plan_end),
            direction=criteria.direction,
            band=(figures.band_lo, figures.band_hi),
            amber=amber_end,
        ),
        np.nan,
    )
    end_status = np.where(
        chosen, grade(figures.plan_end, end_value, criteria, figures.band_lo, figures.band_hi), -1
    )
    row_forecast = np.full(rows, np.nan)
    row_low = np.full(rows, np.nan)
    row_high = np.full(rows, np.nan)
    at = fb.last_row[future]
    row_forecast[at] = value
    row_low[at] = value - Z_INTERVAL * spread
    row_high[at] = value + Z_INTERVAL * spread
    return Projection(
        forecast_end=end_value,
        forecast_low=end_value - Z_INTERVAL * end_spread,
        forecast_high=end_value + Z_INTERVAL * end_spread,
        p_target=p_target,
        end_status=end_status.astype(np.int64),
        weeks_to_red=weeks_to_red.astype(np.int64),
        row_forecast=row_forecast,
        row_low=row_low,
        row_high=row_high,
    )


def _segment_cumsum(values: Array, groups: Ints) -> Array:
    """Return the running sum of ``values`` restarting at every change of (sorted) ``groups``."""
    if values.size == 0:
        return values.copy()
    total = np.cumsum(values)
    start = np.flatnonzero(np.append(True, groups[1:] != groups[:-1]))
    base = total[start] - values[start]
    lengths = np.diff(np.append(start, values.size))
    return total - np.repeat(base, lengths)


def _segment_first(values: Array, groups: Ints) -> Array:
    """Return, for every element, the first value of its (sorted) group."""
    if values.size == 0:
        return values.copy()
    start = np.flatnonzero(np.append(True, groups[1:] != groups[:-1]))
    lengths = np.diff(np.append(start, values.size))
    return np.repeat(values[start], lengths)


def _p_target(
    mean: Array, spread: Array, target: Array, *, direction: Ints, band: tuple[Array, Array], amber: Array
) -> Array:
    """Return P(end value meets target) under a normal with the given mean and spread."""
    lo_band, hi_band = band
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(spread > 0, spread, 1.0)

        def below(bound: Array) -> Array:
            return np.where(
                spread > 0, normal_cdf((bound - mean) / scale), (mean <= bound).astype(np.float64)
            )

        exact = np.where(spread > 0, 0.0, 1.0)
        up = 1.0 - below(target) + exact * (mean == target)
        down = below(target)
        has_band = ~np.isnan(lo_band) & ~np.isnan(hi_band)
        low = np.where(has_band, lo_band, target - amber)
        high = np.where(has_band, hi_band, target + amber)
        inside = below(high) - below(low) + exact * (mean == low)
    result = np.where(direction == UP, up, np.where(direction == DOWN, down, inside))
    probability: Array = np.clip(np.nan_to_num(result, nan=0.0), 0.0, 1.0)
    return probability
