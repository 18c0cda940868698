"""The root of the ``onpace`` command line: the app, its consoles, and what every command shares.

Every command turns user errors into one plain line on stderr and a non-zero exit code
(1: the input has problems; 2: the command was used wrongly), never a traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from onpace.cli.org import OrgAwareGroup, current_org
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


By = Annotated[str, typer.Option("--by", help="The person acting (a person id of the model).")]
CaseId = Annotated[int, typer.Argument(help="The case number (see `onpace cases`).")]
Day = Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])]


def as_of_date(value: dt.datetime | None) -> dt.date:
    """Return the date of ``--as-of``, or today."""
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
        org = find_org(session, name)
        yield session, org.id, load_model(session, org.name)


def find_org(session: Any, name: str | None = None) -> Any:
    """Return the organisation named (or by ``--org``/``ONPACE_ORG``, or the only one), with a hint when several."""
    from onpace.cli.org import name_one
    from onpace.storage.errors import OrgNotFoundError
    from onpace.storage.repositories.model_repo import find_org

    wanted = name or current_org()
    try:
        return find_org(session, wanted)
    except OrgNotFoundError as exc:
        raise UserError(
            name_one(str(exc)) if wanted is None and "several" in str(exc) else str(exc)
        ) from None


def figure(value: float | None, uom: str | None = None) -> str:
    """Return a figure formatted by its unit of measure (``-`` when there is none)."""
    from onpace.reports.format import format_value

    return format_value(value, uom) if uom else "-" if value is None else f"{value:,.2f}"


def when(moment: dt.datetime | None) -> str:
    """Return a moment as the tables show it (``-`` when there is none)."""
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M")
