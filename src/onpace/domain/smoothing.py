"""Smooth deviations from plan, all series at once: simple smoothing, or a damped trend, with intervals.

The rule (docs/semantics.md, "Forecast" and "Interval"), chosen on real series with
``bench/early_warning.py``:

- fewer than ``TREND_FROM`` (8) observed buckets: no trend — simple exponential smoothing with
  α = ``DEFAULT_ALPHA`` (0.7), started at the first observation;
- from 8 on: Holt's method with a damped trend, α, β, φ fitted per series on small grids (φ keeps a
  near-undamped 0.98, first, so a clean line keeps its trend) by the one-step squared error over
  the most recent ``FIT_WINDOW`` (52) buckets, started from the least-squares line over the first
  4 observations (a long series' state before the window is smoothed with ``WARM``);
- the forecaster (``domain.forecast``) runs this twice, on the deviation from plan and, without
  trend, on the actual itself, and combines the two with :func:`combination_weight`;
- σ: the squared one-step errors over their degrees of freedom (errors counted minus parameters);
  the h-step variance is the model's (1 + Σ c_j², c_j = α + αβ(φ + … + φ^j); flows sum the errors
  still to come) plus ``DRIFT_UNCERTAINTY``·h²/n for the deviation's unknown drift; quantiles are
  Student t with those degrees of freedom.

Arrays are (series × buckets); the only Python loops run over bucket positions, grid blocks or
horizons, never over series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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
DRIFT_UNCERTAINTY = 0.8
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


def fit_smoothing(dev: Array, used: Ints, *, trend_from: int = TREND_FROM) -> SmoothingState:
    """Smooth each row of ``dev`` (NaN = no observation) over its first ``used`` columns.

    Rows with fewer than ``trend_from`` observations: simple smoothing (α = DEFAULT_ALPHA) from
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
    trended = observed >= trend_from
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


def combination_weight(deviation_sigma: Array, actual_sigma: Array) -> Array:
    """Return the weight of the deviation model against the actual model: inverse one-step variance.

    w = σ²(actual) / (σ²(deviation) + σ²(actual)), both σ in the same units: the model that has
    tracked the series better weighs more; a series exactly on its plan (σ = 0 on the deviation)
    follows the plan, one that has stayed exactly flat stays flat; two perfect models share equally.
    """
    var_dev, var_act = deviation_sigma**2, actual_sigma**2
    total = var_dev + var_act
    weight = np.divide(var_act, total, out=np.full(total.shape, 0.5), where=total > 0)
    return np.asarray(weight, dtype=np.float64)


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
