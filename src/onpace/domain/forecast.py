"""Forecast every series to the end of its cycle: undamped Holt on the deviation from plan.

The forecaster works on the *deviation* (bucket actual − bucket plan; for flow the per-bucket
amounts), so a phased plan that is on track projects on track. Per DESIGN.md §4:

- daily series are forecast on their weekly aggregates (level: mean of daily deviations, flow:
  their sum); weekly and monthly series on their own buckets;
- only complete buckets (last day ≤ the date figures are taken at) are used, and none after the
  last bucket with data; a level bucket without data is skipped (the state advances by its
  trend), a flow bucket without data counts as zero; no forecast before 3 complete buckets;
- the trend starts as the least-squares slope over the first (up to) 4 observed buckets and the
  level on that line; α = 0.5, β = 0.3 until 8 buckets are observed, then α and β are fitted per
  series by grid search (α ∈ {0.2, 0.34, … 0.9}, β ∈ {0.05, 0.1625, … 0.5}) minimising the
  one-step squared error over the most recent 52 buckets (the state before them is smoothed with
  the defaults), so long cycles stay cheap and recent behaviour decides;
- level projection = plan of the bucket + projected deviation; flow projection = cumulative
  actual to date + plan still to come + projected deviations of the buckets still to come (the
  current partial bucket weighted by its remaining share);
- the prediction interval is central 80 %, from the residual standard deviation widened with the
  horizon as the Holt model implies (for flow: the variance of the summed errors);
- ``p_target``: normal probability that the end-of-cycle value meets its plan (up: ≥ plan,
  down: ≤ plan, range: inside the band, or within the amber threshold without one).

Everything is vectorised across series: numpy arrays are (series × buckets) and the only Python
loops run over bucket positions or grid points, never over series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from onpace.domain.calendar import DAY, Layout, week_number
from onpace.domain.evaluate import DOWN, RED, UP, Criteria, Figures, grade, threshold

Array = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

# Smoothing before TREND_FROM observed buckets: no trend, a fixed α (a fit on a handful of points
# is noise). From TREND_FROM on: a damped trend with α, β, φ fitted on the grids below.
DEFAULT_ALPHA = 0.7
TREND_FROM = 8
ALPHA_GRID = np.linspace(0.2, 0.9, 6)
BETA_GRID = np.array([0.05, 0.15, 0.3])
# Near-undamped first: on a tie (a clean line) the trend is kept, as trending series need.
PHI_GRID = np.array([0.98, 0.9, 0.8])
# The state before a long series' fitting window is smoothed with these.
WARM = (0.5, 0.15, 0.9)
MIN_BUCKETS = 3
DRIFT_UNCERTAINTY = 0.5
FIT_WINDOW = 52
INIT_WINDOW = 4
_HEAD = 16
_BLOCK = 1024
# Two-sided 80 % normal quantile.
Z_INTERVAL = 1.2815515655446004
# Two-sided 80 % Student t quantiles (0.9 one-sided) for 1 … 30 degrees of freedom.
_T80 = np.array(
    [
        *(3.078, 1.886, 1.638, 1.533, 1.476, 1.440, 1.415, 1.397, 1.383, 1.372),
        *(1.363, 1.356, 1.350, 1.345, 1.341, 1.337, 1.333, 1.330, 1.328, 1.325),
        *(1.323, 1.321, 1.319, 1.318, 1.316, 1.315, 1.314, 1.313, 1.311, 1.310),
    ]
)


@dataclass(frozen=True)
class SmoothingState:
    """Final smoothing state per series (at its last used bucket), parameters, residual std, dof.

    ``phi`` is 0 and ``trend`` 0 for series smoothed without trend.
    """

    level: Array
    trend: Array
    alpha: Array
    beta: Array
    phi: Array
    sigma: Array
    dof: Array
    observed: npt.NDArray[np.int64]


def normal_cdf(x: Array) -> Array:
    """Return the standard normal CDF (Abramowitz-Stegun 7.1.26, error < 1.5e-7)."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return np.asarray(0.5 * (1.0 + np.sign(x) * erf), dtype=np.float64)


def t_quantile(dof: Array) -> Array:
    """Return the two-sided 80 % Student t quantile for ``dof`` degrees of freedom (≥ 1)."""
    d = np.maximum(np.asarray(dof, dtype=np.float64), 1.0)
    table = _T80[np.clip(d.astype(np.int64), 1, _T80.size) - 1]
    # Beyond the table the quantile approaches the normal one like 1/dof.
    tail = Z_INTERVAL + (_T80[-1] - Z_INTERVAL) * _T80.size / d
    return np.asarray(np.where(d <= _T80.size, table, tail), dtype=np.float64)


def fit_smoothing(dev: Array, used: Ints) -> SmoothingState:
    """Smooth each row of ``dev`` (NaN = no observation) over its first ``used`` columns.

    Rows with fewer than ``TREND_FROM`` observations: simple smoothing (α = DEFAULT_ALPHA) from
    the first observation. The others: a damped trend with α, β, φ fitted on the grids by the
    one-step squared error over the last ``FIT_WINDOW`` buckets, started from the least-squares
    line over the first observations. ``sigma`` divides the squared errors by the degrees of
    freedom they have (errors counted minus parameters fitted).
    """
    n, width = dev.shape
    cols = np.arange(width)
    valid = ~np.isnan(dev) & (cols[None, :] < used[:, None])
    y = np.where(valid, dev, 0.0)
    observed = valid.sum(axis=1).astype(np.int64)
    trended = observed >= TREND_FROM
    alpha = np.full(n, DEFAULT_ALPHA)
    beta = np.zeros(n)
    phi = np.zeros(n)
    level = np.zeros(n)
    trend = np.zeros(n)
    sse = np.zeros(n)
    dof = np.maximum(observed - 1, 1).astype(np.float64)
    rest = np.flatnonzero(~trended)
    if rest.size:
        first = np.argmax(valid[rest], axis=1)
        start = (y[rest, first], np.zeros(rest.size))
        one = (np.array([DEFAULT_ALPHA]), np.zeros(1), np.zeros(1))
        lv, tr, err = _run(y[rest], valid[rest], used[rest], start, one)
        level[rest], trend[rest], sse[rest] = lv[:, 0], tr[:, 0], err[:, 0]
    fitted = np.flatnonzero(trended)
    if fitted.size:
        grid = tuple(g.ravel() for g in np.meshgrid(ALPHA_GRID, BETA_GRID, PHI_GRID, indexing="ij"))
        level0, trend0 = _initial_state(y[fitted], valid[fitted])
        window_y, window_valid, window_used, start, begin = _fit_window(
            y[fitted], valid[fitted], used[fitted], (level0, trend0)
        )
        lv, tr, err = _run(window_y, window_valid, window_used, start, (grid[0], grid[1], grid[2]))
        best = np.argmin(err, axis=1)
        pick = np.arange(best.size)
        level[fitted], trend[fitted], sse[fitted] = lv[pick, best], tr[pick, best], err[pick, best]
        alpha[fitted], beta[fitted], phi[fitted] = grid[0][best], grid[1][best], grid[2][best]
        errors = window_valid.sum(axis=1) - np.where(begin > 0, 0, 2)
        dof[fitted] = np.maximum(errors - 3, 1)
    sigma = np.sqrt(sse / dof)
    return SmoothingState(level, trend, alpha, beta, phi, sigma, dof, observed)


def _fit_window(
    y: Array, valid: npt.NDArray[np.bool_], used: Ints, start: tuple[Array, Array]
) -> tuple[Array, npt.NDArray[np.bool_], Ints, tuple[Array, Array], Ints]:
    """Return each row's last FIT_WINDOW buckets, the state just before them and where they begin.

    Fitting on the recent window keeps long cycles cheap and weighs recent behaviour; for a
    series of FIT_WINDOW buckets or fewer it is the whole series.
    """
    begin = np.maximum(used - FIT_WINDOW, 0)
    level0, trend0 = start
    if (begin > 0).any():
        warm = tuple(np.array([v]) for v in WARM)
        warm_level, warm_trend, _ = _run(y, valid, begin, start, (warm[0], warm[1], warm[2]))
        level0, trend0 = warm_level[:, 0], warm_trend[:, 0]
    lengths = used - begin
    columns = begin[:, None] + np.arange(int(lengths.max()))[None, :]
    inside = columns < used[:, None]
    columns = np.minimum(columns, y.shape[1] - 1)
    rows = np.arange(y.shape[0])[:, None]
    window_valid = valid[rows, columns] & inside
    return (
        np.where(window_valid, y[rows, columns], 0.0),
        window_valid,
        lengths,
        (level0, trend0),
        begin,
    )


def _initial_state(y: Array, valid: npt.NDArray[np.bool_]) -> tuple[Array, Array]:
    """Return the state before column 0: the least-squares line over the first observations."""
    head = min(y.shape[1], _HEAD)
    # The first INIT_WINDOW observations lie within the first columns unless data is sparse.
    sparse = valid[:, :head].sum(axis=1) < np.minimum(INIT_WINDOW, valid.sum(axis=1))
    y_head = y if sparse.any() else y[:, :head]
    valid_head = valid if sparse.any() else valid[:, :head]
    rank = np.cumsum(valid_head, axis=1) - 1
    window = valid_head & (rank < INIT_WINDOW)
    x = np.arange(y_head.shape[1], dtype=np.float64)[None, :]
    count = window.sum(axis=1).astype(np.float64)
    safe = np.maximum(count, 1.0)
    mean_x = (window * x).sum(axis=1) / safe
    mean_y = (window * y_head).sum(axis=1) / safe
    dx = np.where(window, x - mean_x[:, None], 0.0)
    sxx = (dx * dx).sum(axis=1)
    sxy = (dx * np.where(window, y_head - mean_y[:, None], 0.0)).sum(axis=1)
    slope = np.divide(sxy, sxx, out=np.zeros_like(sxy), where=sxx > 0)
    intercept = mean_y - slope * mean_x
    # The state "before column 0" forecasts the line's value at column 0.
    return intercept - slope, slope


def _run(
    y: Array,
    valid: npt.NDArray[np.bool_],
    used: Ints,
    start: tuple[Array, Array],
    grid: tuple[Array, Array, Array],
) -> tuple[Array, Array, Array]:
    """Smooth every row with every (α, β, φ) at once; return level, trend, SSE (rows × grid).

    Rows are processed longest first so the rows still running at step t are a prefix, and every
    update is done in place (no temporaries: allocation dominates at this size).
    """
    level0, trend0 = start
    order = np.argsort(-used, kind="stable")
    level = np.empty((used.size, grid[0].size))
    trend = np.empty_like(level)
    sse = np.empty_like(level)
    # Blocks of rows small enough that the working arrays stay in cache.
    for lo in range(0, order.size, _BLOCK):
        rows = order[lo : lo + _BLOCK]
        level[rows], trend[rows], sse[rows] = _run_block(
            y[rows], valid[rows], used[rows], (level0[rows], trend0[rows]), grid
        )
    return level, trend, sse


def _run_block(
    y: Array,
    valid: npt.NDArray[np.bool_],
    lengths: Ints,
    start: tuple[Array, Array],
    grid_values: tuple[Array, Array, Array],
) -> tuple[Array, Array, Array]:
    """Run one block of rows sorted by decreasing length (see :func:`_run`)."""
    level0, trend0 = start
    alphas, betas, phis = grid_values
    ys = np.ascontiguousarray(y.T)
    weights = np.ascontiguousarray(valid.T.astype(np.float64))
    grid = alphas.size
    level = np.repeat(level0[:, None], grid, axis=1)
    trend = np.repeat(trend0[:, None], grid, axis=1)
    sse = np.zeros_like(level)
    forecast = np.empty_like(level)
    error = np.empty_like(level)
    scratch = np.empty_like(level)
    a = alphas[None, :]
    ab = (alphas * betas)[None, :]
    damp = phis[None, :]
    trended = bool(np.any(phis != 0))
    steps = int(lengths.max()) if lengths.size else 0
    # Number of rows still running at each step (lengths are sorted in decreasing order).
    running = np.searchsorted(-lengths, -np.arange(steps), side="left")
    for t in range(steps):
        m = int(running[t])
        f, e, tmp = forecast[:m], error[:m], scratch[:m]
        lv, tr = level[:m], trend[:m]
        if trended:
            # Damped trend folded: b ← φb; f = l + b; l' = f + αe; b' = b + αβe (e = 0: advance).
            tr *= damp
            np.add(lv, tr, out=f)
        else:
            f[...] = lv
        np.subtract(ys[t, :m, None], f, out=e)
        e *= weights[t, :m, None]
        np.multiply(e, a, out=tmp)
        np.add(f, tmp, out=lv)
        if trended:
            np.multiply(e, ab, out=tmp)
            tr += tmp
        np.multiply(e, e, out=tmp)
        sse[:m] += tmp
    return level, trend, sse


def trend_sum(phi: Array, horizon: Array) -> Array:
    """Return Σ_{j=1..h} φ^j: how many trends a damped projection adds ``horizon`` steps ahead."""
    h = np.maximum(horizon, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        damped = phi * (1.0 - phi**h) / (1.0 - phi)
    return np.asarray(np.where(phi >= 1.0, h, np.where(phi <= 0.0, 0.0, damped)), dtype=np.float64)


def variance_factors(state: SmoothingState, rows: Ints, first: Array, last: Array, flow: Bools) -> Array:
    """Return Var(error)/σ² of each projection: a level ``last`` steps ahead, or a flow sum.

    The h-step error is ε_h + Σ_{j=1..h−1} c_j ε_{h−j} with c_j = α + αβ·Σ_{i=1..j} φ^i; a flow
    projection sums the errors of horizons ``first`` … ``last`` (they share innovations: the one
    m steps ahead enters with 1 + C(last − m) − C(first − 1 − m)⁺, C the running sum of c).
    ``rows`` index the state's series.
    """
    if rows.size == 0:
        return np.zeros(0)
    top = int(max(last.max(), 1.0))
    steps = np.arange(1, top + 1, dtype=np.float64)[None, :]
    # Tables per series (not per projected bucket): rows of one series share their weights.
    series, pick = np.unique(rows, return_inverse=True)
    alpha, beta, phi = state.alpha[series], state.beta[series], state.phi[series]
    c = alpha[:, None] + (alpha * beta)[:, None] * trend_sum(phi[:, None], steps)
    running = np.concatenate([np.zeros((series.size, 1)), np.cumsum(c, axis=1)], axis=1)  # C(0..top)
    squares = np.concatenate([np.zeros((series.size, 1)), np.cumsum(c * c, axis=1)], axis=1)
    h = last.astype(np.int64)
    factor = 1.0 + squares[pick, h - 1]
    if flow.any():
        # Σ_{k=0..K} (1 + C(k))², the first = 1 case.
        summed = np.cumsum((1.0 + running) ** 2, axis=1)
        factor = np.where(flow, summed[pick, h - 1], factor)
        later = np.flatnonzero(flow & (first > 1))
        if later.size:
            f0 = first[later].astype(np.int64)
            f1 = h[later]
            exact = np.zeros(later.size)
            run_rows = running[pick[later]]
            sub = np.arange(later.size)
            for m in range(1, int(f1.max()) + 1):
                inside = m <= f1
                ahead = np.where(inside, run_rows[sub, np.clip(f1 - m, 0, top)], 0.0)
                before = np.where(m < f0, run_rows[sub, np.clip(f0 - 1 - m, 0, top)], 0.0)
                weight = np.where(m >= f0, 1.0, 0.0) + ahead - before
                exact += np.where(inside, weight * weight, 0.0)
            factor[later] = exact
    # The deviation's drift is unknown (the plan's slope against the actual's): a drift estimated
    # from n buckets errs by σ/√n per step, so h steps ahead add h²/n (a flow sum: (Σ h)²/n).
    steps_ahead = np.where(flow, (h * (h + 1) - (first - 1) * first) / 2.0, h)
    factor = factor + DRIFT_UNCERTAINTY * steps_ahead**2 / np.maximum(state.observed[rows], 1)
    return np.asarray(factor, dtype=np.float64)


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
    state = fit_smoothing(matrix, used[picked].astype(np.int64))

    def spread_out(values: Array) -> Array:
        full = np.full(n, np.nan)
        full[picked] = values
        return full

    level, trend, phi = spread_out(state.level), spread_out(state.trend), spread_out(state.phi)
    sigma = spread_out(state.sigma)
    # Student t instead of normal quantiles: σ comes from few errors (widths are in σ·z units).
    inflate = spread_out(t_quantile(state.dof) / Z_INTERVAL)
    future = np.flatnonzero(chosen[s] & (fb.last > to_date[s]))
    fs = s[future]
    h = (fb.fk[future] - used[fs] + 1).astype(np.float64)
    first, last = fb.first[future], fb.last[future]
    # The share of each bucket still to come: the unfinished one owes only what is not yet owed.
    owed = figures.owed_through[fs]
    weight = (last - np.clip(owed, first - 1, last)) / (last - first + 1)
    dev_hat = level[fs] + trend_sum(phi[fs], h) * trend[fs]
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
    spread = sigma[fs] * inflate[fs] * np.sqrt(factor)
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
