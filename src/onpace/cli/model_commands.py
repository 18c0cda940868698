"""Commands that set up the store and move the model in and out: init, db, validate, load, export, import, replay."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from onpace.cli.app import (
    ModelPath,
    app,
    db_app,
    err,
    fail,
    find_org,
    now,
    out,
    today,
    user_errors,
)
from onpace.cli.org import current_org
from onpace.errors import UserError

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
        org = find_org(session)
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
