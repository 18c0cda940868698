"""Replay a story through the whole loop: ingest, evaluate, govern as of each date in turn.

:func:`replay_into` runs the weeks on a given store: it saves the model, then for each as-of
date ingests the actuals dated on or before it (and the check-ins), evaluates and governs,
exactly as the scheduled loop would, committing each step. Nobody answers a case in a replay,
so deadlines run out and cases escalate as they would in life; "now" is the end of each as-of
day in the organisation's time zone unless the caller's clock says otherwise. :func:`replay` runs it on a fresh temporary
store (the real migrations) and yields one dict per event, in the public shape of DESIGN.md §5;
every time and id comes from the input, so the same input gives the same lines. ``onpace demo``
runs it on the demo's own store.
"""

from __future__ import annotations

import calendar
import datetime as dt
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
from sqlalchemy.orm import Session

from onpace.domain.calendar import end_of_day
from onpace.domain.cases import CaseEvent
from onpace.domain.checkins import CheckIn
from onpace.domain.model import Model
from onpace.errors import UserError
from onpace.modelfile import load_model_file
from onpace.services.cases import PUBLIC_EVENTS, public_event
from onpace.services.checkins import read_checkins_csv, record_checkins
from onpace.services.evaluate_service import evaluate_store
from onpace.services.govern import govern_store
from onpace.services.ingest import IngestError, IngestReport, ingest_frame, read_actuals_csv
from onpace.services.model_store import save_model
from onpace.storage.db import make_engine, upgrade

Every = Literal["day", "week", "month"]
ACTOR = "replay"


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def as_of_dates(start: dt.date, end: dt.date, every: str) -> list[dt.date]:
    """Return the as-of dates from ``start`` to ``end`` (both included when on the step)."""
    if every not in ("day", "week", "month"):
        raise UserError(f"every must be day, week or month, not {every!r}")
    if end < start:
        raise UserError(f"the replay ends ({end}) before it starts ({start})")
    dates: list[dt.date] = []
    step = 0
    while True:
        if every == "month":
            day = _add_months(start, step)
        else:
            day = start + dt.timedelta(days=step * (7 if every == "week" else 1))
        if day > end:
            return dates
        dates.append(day)
        step += 1


def _dated(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``_day``: the row's date as written (first 10 characters), null when unreadable."""
    return frame.with_columns(
        pl.col("date")
        .cast(pl.String)
        .str.strip_chars()
        .str.slice(0, 10)
        .str.to_date("%Y-%m-%d", strict=False)
        .alias("_day")
    )


def _actuals_between(frame: pl.DataFrame, after: dt.date | None, up_to: dt.date) -> pl.DataFrame:
    """Return the rows dated in (after, up_to]; undated rows go with the first step (to quarantine)."""
    day = pl.col("_day")
    if after is None:
        chosen = day.is_null() | (day <= up_to)
    else:
        chosen = day.is_not_null() & (day > after) & (day <= up_to)
    return frame.filter(chosen).drop("_day")


def _known_metrics(model: Model) -> set[str]:
    return {k.id for k in model.kpis} | {kr.id for kr in model.key_results if kr.kpi is None}


@dataclass(frozen=True)
class ReplayStep:
    """One as-of date of a replay: what came in and what the loop decided (already committed)."""

    org_id: int
    as_of: dt.date
    now: dt.datetime
    ingested: IngestReport | None
    checkins: int
    events: tuple[CaseEvent, ...]

    def public_events(self) -> list[dict[str, Any]]:
        """Return the step's events in the public shape of DESIGN.md §5, in the order they were raised."""
        return [public_event(e, self.as_of) for e in self.events if e.public_event in PUBLIC_EVENTS]


def replay_into(
    session: Session,
    model: Model,
    actuals: pl.DataFrame,
    checkins: Sequence[CheckIn],
    dates: Sequence[dt.date],
    *,
    actor: str,
    origin: str,
    loaded_at: dt.datetime | None = None,
    clock: Callable[[dt.date], dt.datetime] | None = None,
) -> Iterator[ReplayStep]:
    """Save ``model`` into the store of ``session``, then run the loop as of each of ``dates``.

    ``actuals`` is a frame as :func:`~onpace.services.ingest.read_actuals_csv` reads it; each
    step ingests the rows dated after the previous step and on or before its own date (rows
    whose date cannot be read go with the first step, to the quarantine), records the check-ins
    of the same span, evaluates, governs and commits. ``actor`` is recorded as who loaded the
    model and ran the ingests, ``origin`` as the ingest runs' origin. The model is saved at
    ``loaded_at`` (default: the first date's midnight in the org's time zone); each step runs at
    ``clock(as_of)`` (default: the end of that day in the org's time zone). The caller may work in the session between steps: the
    generator is suspended after each commit.
    """
    if not dates:
        return
    known = _known_metrics(model)
    dated = _dated(actuals)
    # The model is in place before the first step (its first plan versions date from the cycle start).
    zone = model.calendar.timezone
    loaded = loaded_at or end_of_day(dates[0] - dt.timedelta(days=1), zone) + dt.timedelta(seconds=1)
    clock = clock or (lambda day: end_of_day(day, zone))
    org_id = save_model(session, model, by=actor, now=loaded).org_id
    session.commit()
    previous: dt.date | None = None
    for as_of in dates:
        now = clock(as_of)
        batch = _actuals_between(dated, previous, as_of)
        report = None
        if batch.height:
            report = ingest_frame(
                session,
                org_id,
                batch,
                source="csv",
                run_by=actor,
                manual=False,
                now=now,
                known_metrics=known,
                origin=origin,
            )
        fresh = [c for c in checkins if c.date <= as_of and (previous is None or c.date > previous)]
        if fresh:
            record_checkins(session, org_id, fresh, now=now)
        evaluation = evaluate_store(session, org_id, model, as_of, now=now)
        governed = govern_store(
            session,
            org_id,
            model,
            evaluation.results,
            as_of=as_of,
            now=now,
            leadlag=evaluation.leadlag,
            noise=evaluation.noise,
        )
        session.commit()
        yield ReplayStep(org_id, as_of, now, report, len(fresh), governed.events)
        previous = as_of


def replay(  # noqa: PLR0917 - the public signature the CLI calls positionally
    model_path: Path | str,
    actuals_csv: Path | str,
    checkins_csv: Path | str | None,
    start: dt.date,
    end: dt.date,
    every: str = "week",
) -> Iterator[dict[str, Any]]:
    """Run the loop as of each date from ``start`` to ``end`` and yield each public event.

    Each step sees only the actuals and check-ins dated on or before its as-of date. Raise
    :class:`UserError` (or the model file's own error) for unreadable input, before any step.
    """
    dates = as_of_dates(start, end, every)
    model = load_model_file(Path(model_path))
    try:
        actuals = read_actuals_csv(actuals_csv)
    except IngestError as exc:
        raise UserError(str(exc)) from None
    checkins: list[CheckIn] = read_checkins_csv(Path(checkins_csv), model) if checkins_csv else []
    with tempfile.TemporaryDirectory(prefix="onpace-replay-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'replay.db'}")
        try:
            upgrade(engine)
            with Session(engine, expire_on_commit=False) as session:
                for step in replay_into(
                    session, model, actuals, checkins, dates, actor=ACTOR, origin="replay"
                ):
                    yield from step.public_events()
        finally:
            engine.dispose()
