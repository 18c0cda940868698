"""Commands that bring actuals in and evaluate them: evaluate and ingest (files, drop folders, sources)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from onpace.cli.app import (
    AsOf,
    app,
    err,
    fail,
    figure,
    find_org,
    now,
    org_session,
    out,
    user_errors,
)

# Past this many subjects the table lists only the ones that are not green (see `evaluate --all`).
LIST_ALL_UP_TO = 500


@app.command()
def evaluate(
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per subject per line.")] = False,
    govern: Annotated[
        bool,
        typer.Option(
            help="Store the verdicts and open, update and escalate cases (the loop); --no-govern only prints."
        ),
    ] = True,
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            help=f"List every subject in the table; past {LIST_ALL_UP_TO:,} subjects only those not green are listed.",
        ),
    ] = False,
) -> None:
    """Evaluate every KPI, KR and objective in the store as of a date and print the verdicts."""
    from dataclasses import fields

    from onpace.domain.calendar import end_of_day, local_day
    from onpace.domain.results import SubjectResult
    from onpace.domain.units import uoms_of
    from onpace.services.evaluate_service import evaluate_store
    from onpace.services.govern import govern_store

    with user_errors(), org_session() as (session, org_id, model):
        day = as_of.date() if as_of is not None else local_day(now(), model.calendar.timezone)
        # Deadlines are judged at the end of the as-of day (never past the clock), so an
        # evaluation of an earlier date escalates as it would have then. Without --govern
        # nothing is written: a dry look must not become the "previous" verdict of the loop.
        moment = min(now(), end_of_day(day, model.calendar.timezone))
        evaluation = evaluate_store(session, org_id, model, day, now=moment, store=govern)
        events: tuple[Any, ...] = ()
        if govern:
            events = govern_store(
                session,
                org_id,
                model,
                evaluation.results,
                as_of=day,
                now=moment,
                leadlag=evaluation.leadlag,
                noise=evaluation.noise,
            ).events
            session.commit()
    order = {"objective": 0, "kr": 1, "kpi": 2}
    results = sorted(evaluation.results.values(), key=lambda r: (order[r.level], r.subject))
    if as_json:
        # Field by field rather than asdict(), whose deep copies cost seconds on 10,000 subjects.
        names = [f.name for f in fields(SubjectResult)]
        sys.stdout.write(
            "".join(json.dumps({n: getattr(r, n) for n in names}, default=str) + "\n" for r in results)
        )
        return
    listed = results
    if not every and len(results) > LIST_ALL_UP_TO:
        # Thousands of green rows bury the few that need someone, and take a terminal seconds to draw.
        listed = [r for r in results if r.effective_status != "green" or r.stale]
    uoms = uoms_of(model)
    table = Table(title=f"{model.org} as of {day}")
    for column in ("subject", "level", "plan", "actual", "variance", "status", "forecast", "weeks to red"):
        table.add_column(column, justify="right" if column in ("plan", "actual", "forecast") else "left")
    colours = {"green": "green", "amber": "yellow", "red": "red", "at_risk": "magenta"}
    for r in listed:
        status = r.effective_status + (" (stale)" if r.stale else "")
        colour = colours.get(r.effective_status, "dim")
        variance = "-" if r.variance_pct is None else f"{r.variance_pct * 100:+.1f}%"
        table.add_row(
            r.subject,
            r.level,
            figure(r.plan_to_date, uoms.get(r.subject)),
            figure(r.actual_to_date, uoms.get(r.subject)),
            variance,
            f"[{colour}]{status}[/{colour}]",
            figure(r.forecast_end, uoms.get(r.subject)),
            "-" if r.weeks_to_red is None else str(r.weeks_to_red),
        )
    out.print(table)
    if len(listed) < len(results):
        counts = Counter(r.effective_status for r in results)
        tally = ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items()))
        out.print(
            f"{len(results):,} subjects ({tally}): {len(results) - len(listed):,} green ones not listed; "
            "--all lists them, --json gives every verdict",
            soft_wrap=True,
            markup=False,
        )
    if govern:
        out.print(f"{len(events)} governance event(s) written to the outbox")


@app.command()
def ingest(
    path: Annotated[
        Path | None, typer.Argument(help="Actuals CSV (metric,date,value[,source]); omit it with --source.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="With a file: the source id recorded as the points' lineage (default: csv). "
            "Without one: the model's source to pull now, as the worker would."
        ),
    ] = None,
    manual: Annotated[bool, typer.Option(help="Label the points as manual entries.")] = False,
    by: Annotated[str | None, typer.Option(help="Who entered them (for manual entries).")] = None,
    evaluate: Annotated[
        bool,
        typer.Option(help="Evaluate and govern as of today at once; --no-evaluate leaves it to a worker."),
    ] = True,
) -> None:
    """Ingest an actuals file, or pull a source now; bad rows go to quarantine with their place and reason.

    New points queue an evaluation of the organisation; unless ``--no-evaluate`` the command
    runs it itself (a worker that took it first keeps it). Exit 1 when rows were quarantined
    or the source could not be read (the failure is recorded on the source's runs and retried
    by the worker, as for a scheduled pull).
    """
    if path is None:
        if source is None:
            fail("give an actuals file to ingest, or --source ID to pull one of the model's sources", 2)
        if manual or by is not None:
            fail("--manual and --by label a file's rows; a pulled source is not a manual entry", 2)
        pulled, org_id = _pull_source(source)
        _evaluate_after_ingest(org_id, accepted=pulled.accepted, evaluate=evaluate)
        _print_quarantined(pulled, source, in_file=False)
        return
    from onpace.storage.contention import retry_when_busy

    with user_errors():  # the last busy error, after the retries, as one line
        report, org_id, waiting = retry_when_busy(
            lambda: _ingest_file(path, source or "csv", manual=manual, by=by)
        )
    out.print(report.summary())
    if waiting:
        out.print(
            f"{report.accepted} point(s) wait for approval: see `onpace actuals pending`; "
            "they count once approved",
            soft_wrap=True,
        )
    _evaluate_after_ingest(org_id, accepted=0 if waiting else report.accepted, evaluate=evaluate)
    _print_quarantined(report, str(path))


def _evaluate_after_ingest(org_id: int, *, accepted: int, evaluate: bool) -> None:
    """Run the evaluation the new points queued, or say that a worker will."""
    import os
    import socket

    from onpace.services.evaluation_requests import evaluate_pending
    from onpace.storage.db import make_engine

    if not accepted:
        return
    if not evaluate:
        out.print(
            "evaluation queued: a running `onpace worker` evaluates and governs the new points",
            soft_wrap=True,
        )
        return
    worker = f"cli-{socket.gethostname()}-{os.getpid()}"
    engine = make_engine(sqlite_immediate=True)
    try:
        with user_errors(), err.status("evaluating"):
            ran = evaluate_pending(engine, org_id, clock=now, worker_id=worker, env=dict(os.environ))
    finally:
        engine.dispose()
    if ran:
        out.print(f"evaluated and governed as of {now().date().isoformat()}")
    else:
        out.print("evaluation queued: a worker is already evaluating the new points")


def _ingest_file(path: Path, source: str, *, manual: bool, by: str | None) -> tuple[Any, int, bool]:
    """Ingest one actuals file with a progress bar on stderr (rows stored of rows to store).

    Return the report, the organisation and whether the points wait for approval (manual
    entries, when the model's policy sets ``approve_manual``).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from onpace.errors import UserError
    from onpace.services.evaluation_requests import enqueue_evaluation
    from onpace.services.ingest import ingest_csv

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        user_errors(),
        org_session() as (session, org_id, model),
        Progress(*columns, console=err, transient=True) as bar,
    ):
        # Reading and checking have no count to show; the bar fills as the rows are stored.
        task = bar.add_task(f"reading and checking {path.name}", total=None)

        def stored(done: int, total: int) -> None:
            bar.update(task, description=f"storing {path.name}", completed=done, total=total)

        waiting = manual and model.policy.approve_manual
        if waiting and not by:
            raise UserError(
                "manual entries wait for approval (policy approve_manual): say who entered them with --by"
            )
        known = {k.id for k in model.kpis} | {kr.id for kr in model.key_results}
        report = ingest_csv(
            session,
            org_id,
            path,
            source=source,
            run_by=by,
            manual=manual,
            now=now(),
            known_metrics=known,
            approved=not waiting,
            progress=stored,
        )
        if report.accepted and not waiting:
            enqueue_evaluation(session, org_id, now=now())
        bar.update(task, description=f"committing {path.name}")
        session.commit()
    return report, org_id, waiting


def _pull_source(source_id: str) -> tuple[Any, int]:
    """Pull one of the model's sources now through the worker's own pull, and report the run."""
    import os
    import socket

    import structlog

    from onpace.config import get_settings
    from onpace.env_refs import readable_environment
    from onpace.services.pull import pull_now
    from onpace.storage.db import make_engine, session_for, upgrade
    from onpace.worker import configure_logging

    settings = get_settings()
    if not structlog.is_configured():
        # The worker's log lines would repeat what is printed below; keep only errors, on stderr.
        configure_logging(json=settings.log_json, level="ERROR")
    with user_errors(), err.status(f"pulling {source_id}"):
        engine = make_engine(settings.database_url, sqlite_immediate=True)
        try:
            upgrade(engine)
            with session_for(engine) as session:
                org_id = find_org(session).id
            outcome = pull_now(
                engine,
                org_id,
                source_id,
                clock=now,
                env=readable_environment(os.environ),
                worker_id=f"cli-{socket.gethostname()}-{os.getpid()}",
            )
        finally:
            engine.dispose()
    report = outcome.report
    if report is None:
        permanent = outcome.error is not None and outcome.error.permanent
        retry = (
            f"; the worker tries again at {outcome.retry_at:%Y-%m-%d %H:%M} UTC" if outcome.retry_at else ""
        )
        fail(
            f"source {source_id} could not be read ({'permanent' if permanent else 'transient'} failure, "
            f"recorded as run {outcome.run_id}{retry}): "
            f"{outcome.error.message if outcome.error else 'unknown error'}"
        )
    out.print(
        f"{source_id}: {report.accepted} accepted ({report.added} added, {report.corrected} corrected, "
        f"{report.retro} retroactive), {report.unchanged} unchanged, {report.quarantined} quarantined "
        f"(run {report.run_id})",
        soft_wrap=True,
    )
    return report, org_id


def _print_quarantined(report: Any, where: str, *, in_file: bool = True) -> None:
    """List a sample of the quarantined rows on stderr and exit 1 when there are any.

    A file's rows are shown as ``FILE:LINE: reason``; a source's as ``SOURCE (line N): reason``,
    the reason leading with the connector's own place (file and line, query row …).
    """
    for line, reason in report.sample:
        if in_file:
            place = f"{where}:{line if line is not None else '?'}"
        else:
            place = where if line is None else f"{where} (line {line})"
        err.print(f"{place}: {reason}", markup=False, soft_wrap=True)
    if report.quarantined > len(report.sample):
        err.print(f"… and {report.quarantined - len(report.sample)} more in the quarantine")
    if report.quarantined:
        raise typer.Exit(1)
