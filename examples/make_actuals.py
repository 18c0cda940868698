"""Write examples/actuals.csv: twelve weeks of Greenway Markets actuals from 2026-04-06.

Deterministic (a seeded numpy generator), so the file can be regenerated at will:

    python examples/make_actuals.py

The story the data tells (weeks start on Monday 2026-04-06), as `onpace replay` shows it:

- online orders, fresh sales, waste and stock cover run on plan all quarter; the pilot's
  spend runs a little over plan in May (amber);
- the live stock feed (dependency D1, due 2026-05-04) does not arrive (late from week 5), so
  the online shop sells items that are not on the shelf: the substitution rate drifts up
  from about 4 %, is forecast to miss in week 7 and is red from week 8;
- perfect orders track their rising plan for four weeks, then stall as orders go out
  incomplete: amber in week 7, forecast to end the quarter red (at risk) in week 8, red
  from week 9 - while their owner keeps checking in green (checkins.csv: a mirage);
- the online shopper NPS, surveyed weekly, falls behind its back-loaded plan at the end.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

START = dt.date(2026, 4, 6)
DAYS = 84
SEED = 20260406
OUT = Path(__file__).with_name("actuals.csv")

# Share of a week's orders and sales that falls on each weekday, Monday first.
WEEKDAY_SHARE = np.array([0.13, 0.13, 0.13, 0.14, 0.16, 0.17, 0.14])


def make_rows(rng: np.random.Generator) -> list[tuple[str, dt.date, float, str]]:
    """Return every actual as (metric, date, value, source), in date order."""
    days = np.arange(DAYS)
    share = WEEKDAY_SHARE[days % 7]
    orders = np.round(3250 * share * (1 + rng.normal(0, 0.04, DAYS)))
    sales = np.round(191_000 * share * (1 + rng.normal(0, 0.02, DAYS)), 2)
    # Waste follows the fresh volume sold that day: busy days write off more.
    waste = np.round(6180 * share * (1 + rng.normal(0, 0.05, DAYS)), 2)
    cover = np.round(4.0 + rng.normal(0, 0.2, DAYS), 2)

    # Substitutions: near plan (4 %) until the stock feed is late, then a steady drift upwards.
    drift = np.clip(days - 30, 0, None) * 0.045
    substitution = np.round(3.85 + np.minimum(drift, 2.0) + rng.normal(0, 0.12, DAYS), 2)

    # Perfect orders: on the linear plan 91 -> 97 until the stock feed is due (day 28), then
    # stalled and slowly slipping as substituted items make orders incomplete.
    plan = 91 + 6 * (days + 1) / DAYS
    perfect = np.where(days < 28, plan + 0.15, plan[27] + 0.15 - 0.005 * (days - 27))
    perfect = np.round(perfect + rng.normal(0, 0.25, DAYS), 2)

    rows: list[tuple[str, dt.date, float, str]] = []
    for day in days:
        date = START + dt.timedelta(days=int(day))
        rows += [
            ("online_orders", date, float(orders[day]), "shop_db"),
            ("perfect_order_rate", date, float(perfect[day]), "wms"),
            ("substitution_rate", date, float(substitution[day]), "wms"),
            ("waste_value", date, float(waste[day]), "erp"),
            ("fresh_sales", date, float(sales[day]), "erp"),
            ("fresh_days_cover", date, float(cover[day]), "erp"),
        ]
        if date.weekday() == 6:
            rows.append(("KR3", date, nps(int(day), rng), "survey"))
        if date.day == 15 or (date + dt.timedelta(days=1)).day == 1:
            rows.append(("fulfilment_spend", date, spend(date, rng), "finance"))
    return rows


def nps(day: int, rng: np.random.Generator) -> float:
    """Return the week's NPS: on its back-loaded plan, then lagging once substitutions bite."""
    points = [(0, 32.0), (28, 34.0), (56, 38.0), (83, 45.0)]
    planned = float(np.interp(day, [d for d, _ in points], [v for _, v in points]))
    lag = max(0.0, (day - 55) * 0.14)
    return round(planned + 0.4 - lag + float(rng.normal(0, 0.3)), 1)


def spend(date: dt.date, rng: np.random.Generator) -> float:
    """Return a half-month invoice of the pilot: 21,000 planned, a little more in May."""
    base = 22_900.0 if date.month == 5 else 20_700.0
    return round(base + float(rng.normal(0, 300)), 2)


def main() -> None:
    """Write the CSV next to this script."""
    rows = make_rows(np.random.default_rng(SEED))
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["metric", "date", "value", "source"])
        for metric, date, value, source in rows:
            writer.writerow([metric, date.isoformat(), f"{value:.10g}", source])
    print(f"wrote {len(rows)} rows to {OUT.name}")


if __name__ == "__main__":
    main()
