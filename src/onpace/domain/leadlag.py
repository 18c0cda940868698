"""Check that KPIs declared as leading indicators do lead the KRs they feed.

For every KPI → KR link where both sides have a series (the KR's own KPI or its own series),
the bucket-to-bucket changes of the two are correlated at lags 0…8: lag L pairs the KPI's
change in bucket t − L with the KR's change in bucket t. Daily and weekly series are compared
on weeks, monthly series on months; links whose sides differ in that grain are left out.
Changes are turned to the "good" direction of each side first (a falling ``down`` KPI is a
rise), so a helpful link correlates positively. ``best_lag`` is the lag with the highest
correlation, in buckets of the link's ``grain`` (weeks or months; ``lag_days`` is the lag the
model declares, in days); ``leads`` says the KPI moves first: best lag ≥ 1 with correlation ≥ 0.3.
A correlation at lag L needs at least 8 pairs with some variation on both sides, and L at most a
third of the changes both sides have, else it is null: with 12 weekly points a 7-week lag rests on
4 pairs, and a correlation of 1.00 on so few says nothing. ``pairs`` is the number of pairs behind
the best lag. Only the most recent 53 buckets with data count (a year of weeks), which keeps long
cycles cheap.

A KPI declared ``leading: true`` whose changes go with none of the KRs it feeds — no correlation
of 0.3 or more at any lag, once a lag of a bucket or more can be measured — is a hygiene finding
(``not_leading``, :func:`not_leading_findings`). A lag of 0 counts as going with the KR: at a
weekly grain an effect that lands within days shows in the same bucket.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from onpace.domain.calendar import MONTH, month_index, week_number
from onpace.domain.evaluate import DOWN
from onpace.domain.forecast import ForecastBuckets
from onpace.domain.hygiene import Finding
from onpace.domain.model import Model

MAX_LAG = 8
HISTORY = 53
MIN_PAIRS = 8
LEADS_AT = 0.3

Array = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def lead_lag(
    model: Model, ids: list[str], fb: ForecastBuckets, *, grain: Ints, direction: Ints, week_start: int
) -> pl.DataFrame:
    """Return one row per KPI → KR link: ``kpi, kr, leading, lag_days, grain, corr_0…corr_8, best_lag, best_corr, pairs, leads``.

    ``ids``/``grain``/``direction`` describe the series indexed by ``fb.series``.
    """
    index = {name: i for i, name in enumerate(ids)}
    kr_series = {kr.id: kr.kpi if kr.kpi else kr.id for kr in model.key_results}
    links = [
        (kpi.id, f.kr, kpi.leading, f.lag_days, index.get(kpi.id, -1), index.get(kr_series.get(f.kr, ""), -1))
        for kpi in model.kpis
        for f in kpi.feeds
    ]
    lag_cols = [f"corr_{lag}" for lag in range(MAX_LAG + 1)]
    monthly = grain == MONTH
    link_x = np.array([x for *_, x, _ in links], dtype=np.int64)
    link_y = np.array([y for *_, y in links], dtype=np.int64)
    both = (link_x >= 0) & (link_y >= 0)
    same = both & (monthly[np.maximum(link_x, 0)] == monthly[np.maximum(link_y, 0)])
    corr = np.full((len(links), MAX_LAG + 1), np.nan)
    pairs = np.zeros((len(links), MAX_LAG + 1), dtype=np.int64)
    for month_grain in (False, True):
        members = np.flatnonzero(monthly == month_grain)
        wanted = same & (monthly[np.maximum(link_x, 0)] == month_grain)
        if members.size == 0 or not wanted.any():
            continue
        cells = monthly[fb.series] == month_grain
        slot = month_index(fb.first[cells]) if month_grain else week_number(fb.first[cells], week_start)
        slot = slot - slot.min()
        row_of = np.full(grain.size, -1)
        row_of[members] = np.arange(members.size)
        values = np.full((members.size, int(slot.max()) + 1), np.nan)
        values[row_of[fb.series[cells]], slot] = fb.value[cells]
        # The most recent HISTORY buckets with data: enough to judge a lead, bounded in cost.
        seen = np.flatnonzero(~np.isnan(values).all(axis=0))
        if seen.size:
            values = values[:, max(0, int(seen[-1]) - HISTORY + 1) : int(seen[-1]) + 1]
        signs = np.where(direction[members] == DOWN, -1.0, 1.0)
        changes = np.diff(values, axis=1) * signs[:, None]
        x = changes[row_of[link_x[wanted]]]
        y = changes[row_of[link_y[wanted]]]
        measured = [_lagged_corr(x, y, lag) for lag in range(MAX_LAG + 1)]
        corr[wanted] = np.column_stack([c for c, _ in measured])
        pairs[wanted] = np.column_stack([n for _, n in measured])
    filled = np.where(np.isnan(corr), -np.inf, corr)
    has_any = ~np.all(np.isnan(corr), axis=1)
    best = np.argmax(filled, axis=1) if links else np.zeros(0, dtype=np.int64)
    best_corr = np.where(has_any, filled[np.arange(best.size), best], np.nan)
    frame = pl.DataFrame(
        {
            "kpi": [link[0] for link in links],
            "kr": [link[1] for link in links],
            "leading": [link[2] for link in links],
            "lag_days": [link[3] for link in links],
            "grain": [
                ("month" if month else "week") if ok else None
                for month, ok in zip(monthly[np.maximum(link_x, 0)].tolist(), same.tolist(), strict=True)
            ],
            **{name: corr[:, i] for i, name in enumerate(lag_cols)},
            "best_lag": np.where(has_any, best, -1),
            "best_corr": best_corr,
            "pairs": np.where(has_any, pairs[np.arange(best.size), best], 0),
        },
        schema={
            "kpi": pl.Utf8(),
            "kr": pl.Utf8(),
            "leading": pl.Boolean(),
            "lag_days": pl.Int64(),
            "grain": pl.Utf8(),
            **{name: pl.Float64() for name in lag_cols},
            "best_lag": pl.Int64(),
            "best_corr": pl.Float64(),
            "pairs": pl.Int64(),
        },
    )
    return (
        frame.with_columns(
            [pl.col(c).fill_nan(None) for c in [*lag_cols, "best_corr"]],
            best_lag=pl.when(pl.col("best_lag") >= 0).then(pl.col("best_lag")).otherwise(None),
        )
        .with_columns(leads=((pl.col("best_lag") >= 1) & (pl.col("best_corr") >= LEADS_AT)).fill_null(False))
        .sort("kpi", "kr")
    )


def not_leading_findings(model: Model, frame: pl.DataFrame) -> list[Finding]:
    """Return a ``not_leading`` finding for each ``leading: true`` KPI that goes with none of its KRs.

    Only a KPI every link of which has a measured correlation at some lag of one bucket or more
    is judged: too little history is no evidence either way. ``frame`` is :func:`lead_lag`'s.
    """
    if frame.is_empty():
        return []
    lagged = pl.any_horizontal([pl.col(f"corr_{lag}").is_not_null() for lag in range(1, MAX_LAG + 1)])
    judged = (
        frame.filter(pl.col("leading"))
        .group_by("kpi")
        .agg(
            measured=lagged.all(),
            related=(pl.col("best_corr") >= LEADS_AT).any(),
            krs=pl.col("kr").sort(),
        )
        .filter(pl.col("measured") & ~pl.col("related"))
    )
    found = {row["kpi"]: row["krs"] for row in judged.iter_rows(named=True)}
    return [
        Finding(
            kpi.id,
            "kpi",
            "not_leading",
            f"KPI {kpi.id} is marked `leading: true` but its changes go with none of "
            f"{', '.join(found[kpi.id])} (no correlation of {LEADS_AT} or more at any lag)",
        )
        for kpi in model.kpis
        if kpi.id in found
    ]


def _lagged_corr(x: Array, y: Array, lag: int) -> tuple[Array, Ints]:
    """Return, per row, corr(x[t − lag], y[t]) over the t where both are known, and the pairs used.

    NaN when there are fewer than ``MIN_PAIRS`` pairs, or when the lag is more than a third of the
    changes both sides have.
    """
    width = x.shape[1]
    if lag >= width:
        return np.full(x.shape[0], np.nan), np.zeros(x.shape[0], dtype=np.int64)
    a = x[:, : width - lag]
    b = y[:, lag:]
    ok = ~np.isnan(a) & ~np.isnan(b)
    n = ok.sum(axis=1).astype(np.float64)
    safe = np.maximum(n, 1.0)
    a0 = np.where(ok, a, 0.0)
    b0 = np.where(ok, b, 0.0)
    ma = a0.sum(axis=1) / safe
    mb = b0.sum(axis=1) / safe
    da = np.where(ok, a0 - ma[:, None], 0.0)
    db = np.where(ok, b0 - mb[:, None], 0.0)
    cov = (da * db).sum(axis=1)
    va = (da * da).sum(axis=1)
    vb = (db * db).sum(axis=1)
    denom = np.sqrt(va * vb)
    length = np.minimum((~np.isnan(x)).sum(axis=1), (~np.isnan(y)).sum(axis=1))
    good = (n >= MIN_PAIRS) & (3 * lag <= length) & (denom > 1e-12 * np.maximum(1.0, np.abs(cov)))
    return np.where(good, cov / np.where(good, denom, 1.0), np.nan), n.astype(np.int64)
