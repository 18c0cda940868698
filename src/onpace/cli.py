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

from onpace.errors import UserError

app = typer.Typer(
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


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit with ``code``."""
    err.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one line and exit 1."""
    from onpace.modelfile.errors import ModelFileError

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
        out.print(f"store ready; wrote {path} — edit it, then `onpace validate {path}` and `onpace load {path}`")


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

    with user_errors():
        model = load_model_file(path)
        engine = make_engine()
        upgrade(engine)
        with session_for(engine) as session:
            report = save_model(session, model, by="cli", now=now())
            session.commit()
    out.print(f"loaded {model.org}: {report}")


@app.command()
def export(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
) -> None:
    """Print the stored model as onpace.yaml (load → export → load gives the same model)."""
    from onpace.modelfile import dump_model
    from onpace.services.model_store import load_model
    from onpace.storage.db import make_engine, session_for

    with user_errors(), session_for(make_engine()) as session:
        text = dump_model(load_model(session))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")


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


def _kv_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False)
    for key, value in rows:
        table.add_row(key, str(value))
    return table


def model_summary(model: Any) -> Table:
    """Return a small table describing a model: counts of each kind of item."""
    return _kv_table(
        model.org,
        [
            ("units", len(model.units)),
            ("people", len(model.people)),
            ("cycles", ", ".join(c.id for c in model.cycles)),
            ("objectives", len(model.objectives)),
            ("key results", len(model.key_results)),
            ("KPIs", len(model.kpis)),
            ("initiatives", len(model.initiatives)),
            ("dependencies", len(model.dependencies)),
            ("sources", len(model.sources)),
        ],
    )


def examples_dir() -> Path:
    """Return the folder of the demo organisation shipped with onpace."""
    here = Path(__file__).resolve()
    for candidate in (here.parent / "examples", here.parents[2] / "examples"):
        if (candidate / "onpace.yaml").exists():
            return candidate
    raise UserError("the demo organisation (examples/onpace.yaml) is not installed with this copy of onpace")


@app.command()
def demo() -> None:
    """Load the demo organisation into the embedded store and show what it holds."""
    from onpace.modelfile import load_model_file
    from onpace.services.model_store import save_model
    from onpace.storage.db import make_engine, session_for, upgrade

    with user_errors():
        folder = examples_dir()
        model = load_model_file(folder / "onpace.yaml")
        engine = make_engine()
        upgrade(engine)
        with session_for(engine) as session:
            save_model(session, model, by="demo", now=now())
            session.commit()
    out.print(model_summary(model))
    out.print(f"loaded from {folder / 'onpace.yaml'}; `onpace export` prints it back")


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


