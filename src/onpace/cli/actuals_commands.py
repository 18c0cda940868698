"""Commands on manual entries awaiting approval: list them, approve them, reject them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from onpace.cli.app import By, app, figure, now, org_session, out, user_errors, when

actuals_app = typer.Typer(
    help="Manual entries awaiting approval (policy approve_manual): list, approve, reject.",
    no_args_is_help=True,
)
app.add_typer(actuals_app, name="actuals")

Entry = Annotated[
    int, typer.Argument(help="The entry number (its ingest run, see `onpace actuals pending`).")
]
Points = Annotated[
    list[int] | None,
    typer.Option("--point", help="Decide only this point of the entry (repeat for several)."),
]
AsEditor = Annotated[
    bool,
    typer.Option(
        "--editor",
        help="Decide as an editor or admin of the organisation rather than as the head of the KPI's unit.",
    ),
]


@actuals_app.command("pending")
def actuals_pending() -> None:
    """List the manual points awaiting approval: the value in force now and the one proposed."""
    from onpace.reports.format import format_day
    from onpace.services.manual_approval import pending_entries

    with user_errors(), org_session() as (session, org_id, model):
        points = pending_entries(session, org_id, model)
        names = {p.id: p.name for p in model.people}
        uoms = {k.id: k.uom for k in model.kpis}
    if not points:
        out.print("no manual entry waits for approval")
        return
    table = Table("entry", "point", "KPI", "date", "source", "in force", "proposed", "entered by", "at")
    for p in points:
        table.add_row(
            str(p.run_id or "-"),
            str(p.id),
            p.title,
            format_day(p.date),
            p.source,
            figure(p.in_force, uoms.get(p.metric)) if p.in_force is not None else "none",
            figure(p.proposed, uoms.get(p.metric)),
            names.get(p.entered_by or "", p.entered_by or "-"),
            when(p.entered_at),
        )
    out.print(table)


def _decide(entry: int, points: list[int] | None, by: str, editor: bool, *, approve: bool) -> None:
    from onpace.services.manual_approval import Decider, decide

    with user_errors(), org_session() as (session, org_id, model):
        decision = decide(
            session,
            org_id,
            model,
            approve=approve,
            who=Decider(by, person=by if model.person(by) else None, editor=editor),
            now=now(),
            run=entry,
            points=points or (),
        )
        session.commit()
    count = len(decision.points)
    if approve:
        out.print(
            f"entry {entry}: {count} point(s) approved and now in force; an evaluation is queued",
            soft_wrap=True,
        )
    else:
        out.print(f"entry {entry}: {count} point(s) rejected; the values in force stay", soft_wrap=True)


@actuals_app.command("approve")
def actuals_approve(entry: Entry, by: By, point: Points = None, editor: AsEditor = False) -> None:
    """Approve a manual entry (or some of its points): its values come into force.

    The head of the KPI's unit, or an editor or admin (``--editor``), decides; never the person
    who entered the points.
    """
    _decide(entry, point, by, editor, approve=True)


@actuals_app.command("reject")
def actuals_reject(entry: Entry, by: By, point: Points = None, editor: AsEditor = False) -> None:
    """Reject a manual entry (or some of its points): the values in force stay as they are."""
    _decide(entry, point, by, editor, approve=False)
