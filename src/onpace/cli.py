"""The ``onpace`` command line: a thin door onto the services.

Every command turns user errors into one plain line on stderr and a non-zero exit code
(1: the input has problems; 2: the command was used wrongly), never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from onpace.cli_cycles import cycle_app
from onpace.cli_org import OrgAwareGroup, current_org
from onpace.errors import UserError

app = typer.Typer(
    cls=OrgAwareGroup,
    name="onpace",
    help="Strategy execution as a planned-vs-actual control loop: OKRs bound to the KPIs that drive them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

ModelPath = Annotated[Path, typer.Argument(help="The model file (onpace.yaml).", show_default=False)]
AsOf = Annotated[
    dt.datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Evaluate as of this date (default: today)."),
]


@app.callback()
def _root(
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            envvar="ONPACE_ORG",
            help="The organisation to work on when the store holds several (also after the command).",
        ),
    ] = None,
) -> None:
    """Strategy execution as a planned-vs-actual control loop: OKRs bound to the KPIs that drive them."""


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit with ``code``."""
    err.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one line and exit 1."""
    from sqlalchemy.exc import OperationalError

    from onpace.modelfile.errors import ModelFileError
    from onpace.storage.contention import is_busy

    try:
        yield
    except ModelFileError as exc:
        for problem in exc.problems:
            err.print(str(problem), soft_wrap=True, markup=False)
        fail(f"{len(exc.problems)} problem(s) in the model file")
    except UserError as exc:
        fail(str(exc))
    except FileNotFoundError as exc:
        fail(f"no such file: {exc.filename}")
    except PermissionError as exc:
        fail(f"permission denied: {exc.filename}")
    except OperationalError as exc:
        if not is_busy(exc):
            raise
        fail("the store stayed busy with other writers; nothing was stored, run the command again")


def today() -> dt.date:
    """Return today's date: the CLI is the boundary where the clock is read."""
    return dt.date.today()


def now() -> dt.datetime:
    """Return the current UTC time: the CLI is the boundary where the clock is read."""
    return dt.datetime.now(dt.UTC)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write a starter model file.")] = Path("onpace.yaml"),
) -> None:
    """Create the store's schema and write a starter model file if none exists."""
    from onpace.storage.db import make_engine, upgrade

    with user_errors():
        upgrade(make_engine())
        if path.exists():
            out.print(f"store ready; {path} already exists, left as it is")
            return
        path.write_text(STARTER_MODEL, encoding="utf-8")
        out.print(
            f"store ready; wrote {path} — edit it, then `onpace validate {path}` and `onpace load {path}`"
        )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run the migrations up to the newest schema (safe to run again)."""
    from onpace.storage.db import make_engine, upgrade

    with user_errors():
        upgrade(make_engine())
        out.print("schema is up to date")


@app.command()
def validate(path: ModelPath) -> None:
    """Check a model file and list every problem with its line; exit 1 when there are any."""
    from onpace.modelfile import validate_file

    with user_errors():
        problems = validate_file(path)
    if problems:
        for problem in problems:
            err.print(str(problem), soft_wrap=True, markup=False)
        fail(f"{len(problems)} problem(s) in {path}")
    out.print(f"{path}: ok")


@app.command()
def load(path: ModelPath) -> None:
    """Load a model file into the store, updating what is there in place."""
    from onpace.modelfile import load_model_file
    from onpace.services.model_store import save_model
    from onpace.storage.db import make_engine, session_for, upgrade
    from onpace.storage.repositories.model_repo import org_names

    with user_errors():
        model = load_model_file(path)
        named = current_org()
        if named is not None and named != model.org:
            raise UserError(
                f"{path} is the model of {model.org!r}, but --org/ONPACE_ORG names {named!r}; "
                "the model file's `org:` says which organisation it loads"
            )
        engine = make_engine()
        upgrade(engine)
        with session_for(engine) as session:
            others = [name for name in org_names(session) if name != model.org]
            is_new = model.org not in org_names(session)
            report = save_model(session, model, by="cli", now=now())
            session.commit()
    out.print(f"loaded {model.org}: {report}")
    if is_new and others:
        out.print(
            f"{model.org!r} is a new organisation beside {', '.join(map(repr, others))}; "
            f"name it with --org {model.org!r} (or ONPACE_ORG) in the other commands",
            markup=False,
            soft_wrap=True,
        )


@app.command()
def export(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print the stored model as onpace.yaml with its plan history (load → export → load keeps it)."""
    from onpace.modelfile import dump_model
    from onpace.services.cycle_plans_store import model_with_plan_history
    from onpace.services.model_store import load_model
    from onpace.storage.db import make_engine, session_for

    with user_errors(), session_for(make_engine()) as session:
        org = _find_org(session)
        model = load_model(session, org.name)
        text = dump_model(model_with_plan_history(session, org.id, model))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")


@app.command("import")
def import_(
    workbook: Annotated[
        Path, typer.Argument(help="The OKR/KPI workbook (.xlsx or .csv).", show_default=False)
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="The model file to write.")] = Path(
        "onpace.yaml"
    ),
    org: Annotated[
        str | None, typer.Option("--org", help="The organisation's name (default: from the file name).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite the output file if it exists.")] = False,
) -> None:
    """Turn an OKR/KPI workbook into a model file, and report what was guessed and what needs a person."""
    from onpace.spreadsheet_import import import_workbook

    if output.exists() and not force:
        fail(f"{output} exists; choose another -o or add --force")
    with user_errors():
        result = import_workbook(workbook, org=org or current_org(), today=today(), output_name=str(output))
        output.write_text(result.text, encoding="utf-8")
    for finding in result.findings:
        err.print(str(finding), markup=False, soft_wrap=True)
    for problem in result.problems:
        err.print(str(problem), markup=False, soft_wrap=True)
    if result.model is None:
        fail(
            f"wrote {output}, but it has {len(result.problems)} problem(s); fix them, then `onpace validate`"
        )
    model = result.model
    needs = sum(1 for f in result.findings if f.kind == "needs a person")
    guessed = len(result.findings) - needs
    out.print(
        f"wrote {output}: {len(model.objectives)} objectives, "
        f"{sum(len(o.key_results) for o in model.objectives)} key results, {len(model.kpis)} KPIs, "
        f"{len(model.people)} people; it validates. {guessed} guess(es) to check and {needs} thing(s) "
        f"that need a person are listed above. Next: `onpace load {output}`",
        soft_wrap=True,
        markup=False,
    )


@app.command()
def replay(
    model: ModelPath,
    actuals: Annotated[Path, typer.Option(help="Actuals CSV: metric,date,value[,source].")],
    start: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First as-of date.")],
    end: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last as-of date.")],
    checkins: Annotated[Path | None, typer.Option(help="Check-ins CSV.")] = None,
    every: Annotated[str, typer.Option(help="Step: day, week or month.")] = "week",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per event per line.")] = False,
) -> None:
    """Run the whole loop as of each date in turn and print the events it raises."""
    from onpace.services.replay import replay as run_replay

    if every not in ("day", "week", "month"):
        fail(f"--every must be day, week or month, not {every!r}", 2)
    if end < start:
        fail("--to is before --from", 2)
    with user_errors():
        for event in run_replay(model, actuals, checkins, start.date(), end.date(), every):
            if as_json:
                sys.stdout.write(json.dumps(event, sort_keys=False, default=str) + "\n")
            else:
                who = event.get("owner") or "-"
                out.print(
                    f"{event['as_of']}  {event['event']:<15} {event['kind']:<15} "
                    f"{event['subject']:<24} {who} (level {event.get('level')})",
                    markup=False,
                )


def _as_of(value: dt.datetime | None) -> dt.date:
    return value.date() if value is not None else today()


@contextmanager
def org_session(name: str | None = None) -> Iterator[tuple[Any, int, Any]]:
    """Open the store (migrated), find the organisation and yield (session, org id, model); the caller commits."""
    from onpace.services.model_store import load_model
    from onpace.storage.db import make_engine, session_for, upgrade

    # Commands read then write: immediate transactions let concurrent ones queue on SQLite.
    engine = make_engine(sqlite_immediate=True)
    upgrade(engine)
    with session_for(engine) as session:
        org = _find_org(session, name)
        yield session, org.id, load_model(session, org.name)


def _find_org(session: Any, name: str | None = None) -> Any:
    """Return the organisation named (or by ``--org``/``ONPACE_ORG``, or the only one), with a hint when several."""
    from onpace.cli_org import name_one
    from onpace.storage.errors import OrgNotFoundError
    from onpace.storage.repositories.model_repo import find_org

    wanted = name or current_org()
    try:
        return find_org(session, wanted)
    except OrgNotFoundError as exc:
        raise UserError(
            name_one(str(exc)) if wanted is None and "several" in str(exc) else str(exc)
        ) from None


def _figure(value: float | None, uom: str | None = None) -> str:
    from onpace.reports.format import format_value

    return format_value(value, uom) if uom else "-" if value is None else f"{value:,.2f}"


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
) -> None:
    """Evaluate every KPI, KR and objective in the store as of a date and print the verdicts."""
    from dataclasses import fields

    from onpace.domain.calendar import end_of_day, local_day
    from onpace.domain.results import SubjectResult
    from onpace.domain.units import uom_of
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
                session, org_id, model, evaluation.results, as_of=day, now=moment, leadlag=evaluation.leadlag
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
    table = Table(title=f"{model.org} as of {day}")
    for column in ("subject", "level", "plan", "actual", "variance", "status", "forecast", "weeks to red"):
        table.add_column(column, justify="right" if column in ("plan", "actual", "forecast") else "left")
    colours = {"green": "green", "amber": "yellow", "red": "red", "at_risk": "magenta"}
    for r in results:
        status = r.effective_status + (" (stale)" if r.stale else "")
        colour = colours.get(r.effective_status, "dim")
        variance = "-" if r.variance_pct is None else f"{r.variance_pct * 100:+.1f}%"
        table.add_row(
            r.subject,
            r.level,
            _figure(r.plan_to_date, uom_of(model, r.subject)),
            _figure(r.actual_to_date, uom_of(model, r.subject)),
            variance,
            f"[{colour}]{status}[/{colour}]",
            _figure(r.forecast_end, uom_of(model, r.subject)),
            "-" if r.weeks_to_red is None else str(r.weeks_to_red),
        )
    out.print(table)
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
        report, org_id = retry_when_busy(lambda: _ingest_file(path, source or "csv", manual=manual, by=by))
    out.print(report.summary())
    _evaluate_after_ingest(org_id, accepted=report.accepted, evaluate=evaluate)
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


def _ingest_file(path: Path, source: str, *, manual: bool, by: str | None) -> tuple[Any, int]:
    """Ingest one actuals file with a progress bar on stderr (rows stored of rows to store)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
            progress=stored,
        )
        if report.accepted:
            enqueue_evaluation(session, org_id, now=now())
        bar.update(task, description=f"committing {path.name}")
        session.commit()
    return report, org_id


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
                org_id = _find_org(session).id
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


REVIEW_FORMATS = ("md", "html", "pdf")


@app.command()
def review(
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="Review as of this date (default: the latest evaluated)."
        ),
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit and the units below it.")] = None,
    cycle: Annotated[str | None, typer.Option(help="Review a cycle as it stood on its last day.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, html or pdf.")] = "md",
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="Write here; '-' or none: stdout (md and html).")
    ] = None,
) -> None:
    """Build the weekly review pack: what needs a decision, ranked by impact, and what changed since the last one.

    The pack is stored, so the next one can show what appeared, changed or went away.
    """
    from onpace.config import get_settings
    from onpace.services.review import build_pack, save_pack

    if fmt not in REVIEW_FORMATS:
        fail(f"--format must be one of {', '.join(REVIEW_FORMATS)}, not {fmt!r}", 2)
    to_stdout = output in (None, "-")
    if fmt == "pdf" and to_stdout:
        fail("a PDF pack needs a file: add -o FILE.pdf", 2)
    with user_errors(), org_session() as (session, org_id, model):
        # Links in the pack point at the web app, wherever the file is read.
        base_url = get_settings().base_url
        moment = now()
        day = as_of.date() if as_of else None
        if cycle is not None:
            from onpace.services.cycle_view import find_cycle

            day = find_cycle(model, cycle).end if day is None else day
        pack = save_pack(
            session,
            org_id,
            build_pack(session, org_id, as_of=day, unit=unit, now=moment),
            now=moment,
        )
        body: str | bytes
        if fmt == "md":
            from onpace.reports.markdown import render_markdown

            body = render_markdown(pack, base_url=base_url)
        elif fmt == "html":
            from onpace.reports.html import render_html

            body = render_html(pack, base_url=base_url)
        else:
            from onpace.reports.pdf import render_pdf

            body = render_pdf(pack, base_url=base_url)
        try:
            if isinstance(body, bytes):
                Path(str(output)).write_bytes(body)
            elif to_stdout:
                sys.stdout.write(body)
            else:
                Path(str(output)).write_text(body, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        # Stored only once the file is written: a pack nobody received must not hide next week's changes.
        session.commit()
    new = len(next((s.items for s in pack.sections if s.key == "new_breaches"), ()))
    summary = f"review pack #{pack.id} as of {pack.as_of}: {len(pack.items)} item(s), {new} new breach(es)"
    err.print(summary if to_stdout else f"wrote {output} — {summary}", markup=False)


case_app = typer.Typer(
    help="Act on one case: explain, commit an action, comment, close.", no_args_is_help=True
)
rebaseline_app = typer.Typer(
    help="Request, approve or reject a re-baseline (a plan change).", no_args_is_help=True
)
audit_app = typer.Typer(help="Check the hash-chained audit log.", no_args_is_help=True)
app.add_typer(case_app, name="case")
app.add_typer(rebaseline_app, name="rebaseline")
app.add_typer(audit_app, name="audit")
app.add_typer(cycle_app, name="cycle")

By = Annotated[str, typer.Option("--by", help="The person acting (a person id of the model).")]
CaseId = Annotated[int, typer.Argument(help="The case number (see `onpace cases`).")]
Day = Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])]


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


@app.command()
def cases(
    mine: Annotated[
        str | None, typer.Option(help="Only cases this person owns, holds or takes part in.")
    ] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open cases.")] = False,
) -> None:
    """List cases with their owner, holder, escalation rung and deadlines."""
    from onpace.services.cases import list_cases

    with user_errors(), org_session() as (session, org_id, _model):
        found = list_cases(session, org_id, mine=mine, open_only=open_only)
    table = Table(title=f"{len(found)} case(s)")
    for column in ("#", "kind", "subject", "state", "owner", "held by", "rung", "explain by", "act by"):
        table.add_column(column)
    for c in found:
        table.add_row(
            str(c.id),
            c.kind,
            c.subject,
            c.state,
            c.owner or "-",
            c.holder or "-",
            str(c.rung),
            _when(c.explain_due) if c.explained_at is None else "explained",
            _when(c.act_due) if c.acted_at is None else "acted",
        )
    out.print(table)


@case_app.command("show")
def case_show(case_id: CaseId) -> None:
    """Show one case and its timeline."""
    from onpace.services.cases import case_history, load_case

    with user_errors(), org_session() as (session, org_id, _model):
        c = load_case(session, org_id, case_id)
        history = case_history(session, org_id, case_id)
    out.print(f"case {c.id}: {c.kind} on {c.subject} ({c.state}); owner {c.owner}, held by {c.holder}")
    if c.participants:
        out.print("participants: " + ", ".join(c.participants))
    for row in history:
        out.print(
            f"  {_when(row.at)}  {row.event:<16} {row.actor or '-'}  {json.dumps(row.detail)}", markup=False
        )


@case_app.command("explain")
def case_explain(
    case_id: CaseId,
    category: Annotated[
        str,
        typer.Option(
            help="Root-cause category: execution, capacity, dependency, external, data, plan or other."
        ),
    ],
    text: Annotated[str, typer.Option(help="What happened and why.")],
    by: By,
) -> None:
    """Record the root cause of a case."""
    from onpace.services.cases import explain_case

    with user_errors(), org_session() as (session, org_id, _model):
        explain_case(session, org_id, case_id, category=category, text=text, by=by, now=now())
        session.commit()
    out.print(f"case {case_id} explained")


@case_app.command("act")
def case_act(
    case_id: CaseId,
    title: Annotated[str, typer.Option(help="The corrective action.")],
    owner: Annotated[str, typer.Option(help="Who will do it (a person id).")],
    due: Day,
    by: By,
) -> None:
    """Commit a corrective action (title, owner, due date) on a case."""
    from onpace.services.cases import act_on_case

    with user_errors(), org_session() as (session, org_id, _model):
        act_on_case(session, org_id, case_id, title=title, owner=owner, due=due.date(), by=by, now=now())
        session.commit()
    out.print(f"action committed on case {case_id}")


@case_app.command("comment")
def case_comment(case_id: CaseId, text: Annotated[str, typer.Option(help="The comment.")], by: By) -> None:
    """Add a comment to a case."""
    from onpace.services.cases import comment_on_case

    with user_errors(), org_session() as (session, org_id, _model):
        comment_on_case(session, org_id, case_id, text=text, by=by, now=now())
        session.commit()
    out.print(f"comment added to case {case_id}")


@case_app.command("close")
def case_close(
    case_id: CaseId, by: By, note: Annotated[str, typer.Option(help="Why it is closed.")] = ""
) -> None:
    """Resolve a case by hand (it reopens if the data is still off at the next evaluation)."""
    from onpace.services.cases import close_case

    with user_errors(), org_session() as (session, org_id, _model):
        close_case(session, org_id, case_id, by=by, now=now(), note=note)
        session.commit()
    out.print(f"case {case_id} closed")


@app.command()
def checkin(
    subject: Annotated[str, typer.Argument(help="A KR or objective id.")],
    status: Annotated[str, typer.Option(help="green, amber or red.")],
    confidence: Annotated[int, typer.Option(help="0 to 10.")],
    by: By,
    comment: Annotated[str, typer.Option(help="What the owner reports.")] = "",
    day: Annotated[dt.datetime | None, typer.Option("--date", formats=["%Y-%m-%d"])] = None,
) -> None:
    """Record an owner's check-in (status and confidence) on a KR or objective."""
    from onpace.services.checkins import new_checkin, record_checkins, refuse_unless_owner

    with user_errors(), org_session() as (session, org_id, model):
        refuse_unless_owner(model, subject, by)
        entry = new_checkin(
            model,
            subject=subject,
            day=_as_of(day),
            status=status,
            confidence=confidence,
            by=by,
            comment=comment,
        )
        record_checkins(session, org_id, [entry], now=now())
        session.commit()
    out.print(f"check-in recorded on {subject}")


@rebaseline_app.command("request")
def rebaseline_request(
    subject: Annotated[str, typer.Argument(help="A KPI or KR id.")],
    plan: Annotated[str, typer.Option(help="The new plan, e.g. 'per_bucket=85' or 'baseline=0,target=900'.")],
    reason: Annotated[str, typer.Option(help="Why the plan must change.")],
    effective: Day,
    by: By,
) -> None:
    """Ask to change a plan from a date on; the owner's unit head (or an admin) decides."""
    from onpace.services.rebaseline import plan_from_text, request_rebaseline

    with user_errors(), org_session() as (session, org_id, model):
        row = request_rebaseline(
            session,
            org_id,
            model,
            subject=subject,
            plan=plan_from_text(plan),
            reason=reason,
            effective=effective.date(),
            by=by,
            now=now(),
        )
        session.commit()
        number = row.id
    out.print(f"re-baseline request {number} recorded for {subject}")


@rebaseline_app.command("approve")
def rebaseline_approve(
    request_id: Annotated[int, typer.Argument(help="The request number.")],
    by: By,
    admin: Annotated[bool, typer.Option(help="Decide as an admin rather than the unit head.")] = False,
) -> None:
    """Approve a re-baseline: the new plan version applies from its effective date; the old one is kept."""
    from onpace.services.rebaseline import approve_rebaseline

    with user_errors(), org_session() as (session, org_id, model):
        approve_rebaseline(session, org_id, model, request_id, by=by, now=now(), admin=admin)
        session.commit()
    out.print(f"re-baseline {request_id} approved")


@rebaseline_app.command("reject")
def rebaseline_reject(
    request_id: Annotated[int, typer.Argument(help="The request number.")],
    by: By,
    admin: Annotated[bool, typer.Option(help="Decide as an admin rather than the unit head.")] = False,
) -> None:
    """Reject a re-baseline request; the plan stays as it is."""
    from onpace.services.rebaseline import reject_rebaseline

    with user_errors(), org_session() as (session, org_id, model):
        reject_rebaseline(session, org_id, model, request_id, by=by, now=now(), admin=admin)
        session.commit()
    out.print(f"re-baseline {request_id} rejected")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="A checkpoint file from `onpace audit checkpoint -o`.")
    ] = None,
) -> None:
    """Check that no audit row was edited, deleted or reordered; exit 1 naming the first bad row."""
    from onpace.services.audit import verify_audit
    from onpace.services.audit_anchors import read_checkpoint_file
    from onpace.services.audit_key import audit_key
    from onpace.storage.db import make_engine, session_for, upgrade

    engine = make_engine()
    with user_errors():
        key = audit_key()
        given = read_checkpoint_file(checkpoint) if checkpoint is not None else []
        upgrade(engine)
        with session_for(engine) as session:
            problems = verify_audit(session, given, key=key)
    if key.is_development:
        err.print(
            "note: no audit key is set (ONPACE_AUDIT_KEY or ONPACE_SECRET_KEY); the public development "
            "key cannot show a chain rewritten by someone who knows it",
            markup=False,
            soft_wrap=True,
        )
    for problem in problems:
        err.print(problem, markup=False, soft_wrap=True)
    if problems:
        fail(f"the audit log is broken ({len(problems)} problem(s)); the first bad row is named first")
    out.print(
        f"audit log intact ({len(given)} checkpoint(s) from file checked)" if given else "audit log intact"
    )


@audit_app.command("checkpoint")
def audit_checkpoint(
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write the checkpoints to FILE (merged with it); stdout when absent."
        ),
    ] = None,
) -> None:
    """Verify the chain, store a checkpoint of its length and head, and export every checkpoint."""
    from onpace.services import audit_anchors
    from onpace.services.audit import verify_audit
    from onpace.services.audit_key import audit_key
    from onpace.storage.db import make_engine, session_for, upgrade

    engine = make_engine()
    with user_errors():
        key = audit_key()
        earlier = audit_anchors.read_checkpoint_file(output) if output is not None and output.exists() else []
        upgrade(engine)
        with session_for(engine) as session:
            problems = verify_audit(session, earlier, key=key)
            if problems:
                for problem in problems:
                    err.print(problem, markup=False, soft_wrap=True)
                fail("the audit log is broken; no checkpoint taken")
            point = audit_anchors.take_checkpoint(session, key, now=now())
            everything = audit_anchors.merge(earlier, audit_anchors.stored_checkpoints(session))
            session.commit()
    document = audit_anchors.export_document(everything)
    if output is None:
        out.print(document, markup=False, end="", soft_wrap=True)
        return
    output.write_text(document, encoding="utf-8")
    err.print(
        f"checkpoint: {point.row_count} rows; wrote {len(everything)} checkpoint(s) to {output}", markup=False
    )


user_app = typer.Typer(help="Manage the people who sign in to the web app.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens (shown once, stored hashed).", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The address they sign in with.")],
    name: Annotated[str, typer.Option(help="Their name.")],
    role: Annotated[str, typer.Option(help="admin, editor, owner or viewer.")] = "viewer",
    person: Annotated[
        str | None, typer.Option(help="Their person id in the model (owners need one).")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Their password (asked for when omitted; none: API tokens only).", hide_input=True),
    ] = None,
) -> None:
    """Add a user who may sign in (argon2-hashed password) or hold API tokens.

    An existing user named with ``--org`` of another organisation joins it with ``--role`` (and ``--person``).
    """
    from onpace.services.account_changes import COMMAND_LINE, add_user
    from onpace.services.memberships import add_membership
    from onpace.services.users import find_user
    from onpace.storage.db import make_engine, session_for, upgrade

    if current_org() is not None:
        engine = make_engine()
        with user_errors(), session_for(engine) as session:
            upgrade(engine)
            existing = find_user(session, email)
            if existing is not None:
                org = _find_org(session)
                if existing.org_id != org.id:
                    add_membership(session, email=email, org=org.name, role=role, person_id=person, now=now())
                    session.commit()
                    out.print(f"user {email} now also works in {org.name} as {role}", markup=False)
                    return
    if password is None and sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = make_engine()
    with user_errors():
        upgrade(engine)
        with session_for(engine) as session:
            add_user(
                session,
                by=COMMAND_LINE,
                email=email,
                name=name,
                role=role,
                password=password,
                now=now(),
                person_id=person,
                org=_find_org(session).name if current_org() or len(_org_names(session)) > 1 else None,
            )
            session.commit()
    out.print(f"user {email} added as {role}")


@user_app.command("password")
def user_password(
    email: Annotated[str, typer.Argument(help="The user whose password to set.")],
    password: Annotated[
        str | None, typer.Option(help="The new password (asked for when omitted).", hide_input=True)
    ] = None,
) -> None:
    """Set a user's password; every session of theirs ends at once."""
    from onpace.services.account_changes import COMMAND_LINE, change_password
    from onpace.storage.db import make_engine, session_for, upgrade

    if password is None:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    engine = make_engine()
    with user_errors():
        upgrade(engine)
        with session_for(engine) as session:
            change_password(session, email, password, by=COMMAND_LINE, now=now())
            session.commit()
    out.print(f"password of {email} changed; their sessions are ended")


def _org_names(session: Any) -> list[str]:
    from onpace.storage.repositories.model_repo import org_names

    return list(org_names(session))


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    scope: Annotated[str, typer.Option(help="read or write.")] = "read",
) -> None:
    """Create an API token and print it once (only its SHA-256 is stored)."""
    from onpace.services.account_changes import COMMAND_LINE, create_token
    from onpace.storage.db import make_engine, session_for, upgrade

    engine = make_engine()
    with user_errors():
        upgrade(engine)
        with session_for(engine) as session:
            new = create_token(session, by=COMMAND_LINE, email=email, name=name, scope=scope, now=now())
            session.commit()
    err.print(f"token {new.id} ({new.scope}) for {email} — copy it now, it is not shown again:")
    sys.stdout.write(new.token + "\n")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token number.")]) -> None:
    """Revoke an API token."""
    from onpace.services.account_changes import COMMAND_LINE, revoke_token
    from onpace.storage.db import make_engine, session_for, upgrade

    engine = make_engine()
    with user_errors():
        upgrade(engine)
        with session_for(engine) as session:
            revoke_token(session, token_id, by=COMMAND_LINE, now=now())
            session.commit()
    out.print(f"token {token_id} revoked")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Server processes (default: one per CPU, at most 4)."),
    ] = None,
) -> None:
    """Start the web app and the REST API (/api/v1, docs at /docs)."""
    import uvicorn

    from onpace.app import default_workers, require_secret_key
    from onpace.config import get_settings
    from onpace.storage.db import make_engine, upgrade

    count = workers or default_workers()
    with user_errors():
        _keep_secret_key()
        require_secret_key(get_settings())
        upgrade(make_engine())
    out.print(
        f"onpace is serving on http://{host}:{port}/ (API docs at /docs) "
        f"with {count} worker process{'es' if count > 1 else ''}",
        soft_wrap=True,
    )
    # Several processes add up their request counts for /metrics in a folder they share.
    shared_metrics = _metrics_folder() if count > 1 else None
    try:
        # Every process builds its own app (and caches) from the same settings.
        uvicorn.run(
            "onpace.app:serve_app", factory=True, host=host, port=port, workers=count, log_level="warning"
        )
    finally:
        if shared_metrics is not None:
            import shutil

            shutil.rmtree(shared_metrics, ignore_errors=True)


def _metrics_folder() -> str | None:
    """Make a folder for the server processes' metrics unless the operator named one; return it to remove."""
    import os
    import tempfile

    from onpace.metrics import MULTIPROC_VARIABLE

    if os.environ.get(MULTIPROC_VARIABLE):
        return None
    folder = tempfile.mkdtemp(prefix="onpace-metrics-")
    os.environ[MULTIPROC_VARIABLE] = folder
    return folder


def _keep_secret_key() -> None:
    """Use (or make) the key kept in the data folder when none is set, and say which."""
    import os

    from onpace.config import get_settings
    from onpace.secret_key import keep_secret_key

    kept = keep_secret_key(get_settings())
    if kept is None:
        return
    # The server processes read their settings from the environment: point them at the kept key.
    os.environ["ONPACE_SECRET_KEY_FILE"] = str(kept.path)
    get_settings.cache_clear()
    made = "created a new secret key in" if kept.created else "using the secret key kept in"
    out.print(
        f"no ONPACE_SECRET_KEY set: {made} {kept.path} (readable by you only); "
        "in production set ONPACE_SECRET_KEY_FILE",
        soft_wrap=True,
        markup=False,
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Do what is due now, then stop.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks for work.")] = 1.0,
) -> None:
    """Run due source pulls, evaluations and deliveries; start as many as you like, on any machine."""
    from onpace.worker import serve as serve_worker

    with user_errors():
        serve_worker(once=once, poll_interval=poll)


def examples_dir() -> Path:
    """Return the folder of the demo organisation shipped with onpace."""
    here = Path(__file__).resolve()
    for candidate in (here.parent / "examples", here.parents[2] / "examples"):
        if (candidate / "onpace.yaml").exists():
            return candidate
    raise UserError("the demo organisation (examples/onpace.yaml) is not installed with this copy of onpace")


def _say(line: str) -> None:
    out.print(line, markup=False, soft_wrap=True)


@app.command()
def demo(
    data_dir: Annotated[
        Path,
        typer.Option("--data-dir", help="The demo's own folder (store, mail, logs); rebuilt on each run."),
    ] = Path("onpace-demo"),
    host: Annotated[str, typer.Option(help="Address the web app listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the web app listens on.")] = 8000,
    serve: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Serve it (web app, worker, mailbox) after building it."),
    ] = True,
) -> None:
    """Replay the example organisation's quarter up to today through the loop, then serve it."""
    from onpace.demo_run import login_lines, port_is_free, serve_demo, tour_lines
    from onpace.services.demo import build_demo

    if serve and not port_is_free(host, port):
        fail(f"{host}:{port} is in use; choose another port with --port")
    try:
        with user_errors():
            store = build_demo(
                examples_dir(), data_dir, now=now(), say=_say, base_url=f"http://{host}:{port}"
            )
    except KeyboardInterrupt:
        # Ctrl-C during the set-up: the half-built store is the demo's own; the next run rebuilds it.
        fail("interrupted; run `onpace demo` again to build the demo from scratch", 130)
    for line in login_lines(store):
        _say(line)
    if not serve:
        for line in tour_lines(store, ""):
            _say(line)
        _say(
            f"not serving (--no-serve); to browse this store without a worker: "
            f"ONPACE_DATABASE_URL={store.database_url} "
            f"ONPACE_SECRET_KEY_FILE={store.folder / 'secret-key'} onpace serve"
        )
        return
    with user_errors():
        code = serve_demo(store, host=host, port=port, say=_say)
    raise typer.Exit(code)


STARTER_MODEL = """\
org: My organisation
calendar: {week_start: monday}
units:
  - {id: exec, name: Executive team, head: ceo}
people:
  - {id: ceo, name: Chief Executive, email: ceo@example.com, unit: exec}
cycles:
  - {id: 2027-Q1, start: 2027-01-04, end: 2027-03-28}
objectives:
  - id: O1
    title: Grow revenue
    cycle: 2027-Q1
    unit: exec
    owner: ceo
    perspective: financial
    key_results:
      - {id: KR1, title: Revenue to 1.2M, owner: ceo, kpi: revenue, weight: 1}
kpis:
  - id: revenue
    title: Revenue (USD)
    unit: exec
    owner: ceo
    measure: flow
    direction: up
    grain: week
    aggregate: sum
    plan: {per_bucket: 100000}
    leading: true
"""


def main() -> None:
    """Run the CLI; the console script entry point."""
    app()
