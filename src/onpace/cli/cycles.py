"""``onpace cycle …``: list cycles, write retrospectives, close a cycle, look at a past one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

cycle_app = typer.Typer(
    help="Cycles over time: list, retrospective notes, close, look back.", no_args_is_help=True
)

CycleId = Annotated[str, typer.Argument(help="The cycle id, e.g. 2026-Q1.")]
By = Annotated[str, typer.Option("--by", help="The person acting (a person id of the model).")]


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


@cycle_app.command("list")
def cycle_list() -> None:
    """List the cycles: dates, state (upcoming, running, ended, closed) and grades once closed."""
    from onpace.cli.app import org_session, out, today, user_errors
    from onpace.services.cycle_state import cycle_lines

    with user_errors(), org_session() as (session, org_id, model):
        lines = cycle_lines(session, org_id, model, today())
    table = Table(title=f"{model.org}: cycles")
    for column in ("cycle", "start", "end", "state", "objectives", "grades", "closed", "next"):
        table.add_column(column)
    for line in lines:
        grades = ", ".join(f"{n} {status}" for status, n in sorted((line.grades or {}).items())) or "-"
        closed = f"{line.closed_at:%Y-%m-%d} by {line.closed_by}" if line.closed_at else "-"
        table.add_row(
            line.id,
            str(line.start),
            str(line.end),
            line.state,
            str(line.objectives),
            grades,
            closed,
            line.next_cycle or "-",
        )
    out.print(table)


@cycle_app.command("note")
def cycle_note(
    subject: Annotated[str, typer.Argument(help="A KR or objective id.")],
    text: Annotated[str, typer.Option("--text", help="The retrospective: what happened, what was learnt.")],
    by: By,
) -> None:
    """Write the owner's retrospective note on a KR or objective (it goes on the cycle's grade)."""
    from onpace.cli.app import now, org_session, out, user_errors
    from onpace.services.cycle_state import write_note

    with user_errors(), org_session() as (session, org_id, model):
        row = write_note(session, org_id, model, subject, text=text, by=by, now=now())
        session.commit()
        cycle = row.cycle
    out.print(f"retrospective note recorded on {subject} ({cycle})")


@cycle_app.command("close")
def cycle_close(
    cycle_id: CycleId,
    by: By,
    carry_cases: Annotated[
        str | None, typer.Option(help="Open cases on its KRs/objectives to carry: all, none or ids (3,7).")
    ] = None,
    carry_kr: Annotated[list[str] | None, typer.Option(help="An unfinished KR to carry (repeat).")] = None,
    drop_unfinished: Annotated[bool, typer.Option(help="Let the unfinished KRs not carried go.")] = False,
    carry_plans: Annotated[
        str | None,
        typer.Option(help="KPIs with no plan next cycle that keep this one's: all, none or ids (a,b)."),
    ] = None,
    next_cycle: Annotated[
        str | None, typer.Option("--next", help="The cycle to open (created if the model has none after).")
    ] = None,
) -> None:
    """Close a cycle: grade every KR and objective, freeze them, carry forward as decided, open the next."""
    from onpace.cli.app import now, org_session, out, user_errors
    from onpace.errors import UserError
    from onpace.services.cycle_close import CarryOver, close_cycle

    with user_errors():
        cases: str | list[int] | None = carry_cases
        if carry_cases not in (None, "all", "none"):
            try:
                cases = [int(part) for part in str(carry_cases).split(",") if part.strip()]
            except ValueError:
                raise UserError(
                    f"--carry-cases takes all, none or case numbers like 3,7, not {carry_cases!r}"
                ) from None
        plans: str | list[str] | None = carry_plans
        if carry_plans not in (None, "all", "none"):
            plans = [part.strip() for part in str(carry_plans).split(",") if part.strip()]
        carry = CarryOver(
            cases=cases, krs=tuple(carry_kr or ()), drop_unfinished=drop_unfinished, plans=plans
        )
        with org_session() as (session, org_id, model):
            report = close_cycle(
                session, org_id, model, cycle_id, carry=carry, by=by, now=now(), next_id=next_cycle
            )
            session.commit()
    counts: dict[str, int] = {}
    for grade in report.grades:
        counts[grade.status] = counts.get(grade.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to grade"
    out.print(f"closed {report.cycle}: {len(report.grades)} grades ({summary}); {report.next_cycle} is open")
    out.print(
        f"carried: {len(report.carried_cases)} case(s), KRs {', '.join(report.carried_krs) or '-'}, "
        f"plans {', '.join(report.carried_plans) or '-'}; resolved {len(report.resolved_cases)} case(s)"
    )


@cycle_app.command("show")
def cycle_show(
    cycle_id: CycleId,
    as_of: Annotated[
        dt.datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="For a cycle not closed.")
    ] = None,
) -> None:
    """Show a cycle's KRs and objectives: the frozen grades once closed, else the verdicts as of a date."""
    from onpace.cli.app import org_session, out, today, user_errors
    from onpace.services.cycle_view import cycle_view

    with user_errors(), org_session() as (session, org_id, model):
        view = cycle_view(session, org_id, model, cycle_id, as_of.date() if as_of else today())
    table = Table(title=f"{model.org}: {view.cycle} ({view.state}, as of {view.as_of})")
    for column in ("subject", "level", "plan", "actual", "attainment", "status", "note"):
        table.add_column(column)
    for row in view.rows:
        table.add_row(
            row.subject,
            row.level,
            _figure(row.plan_to_date),
            _figure(row.actual_to_date),
            _percent(row.attainment),
            row.status,
            row.note or "",
        )
    out.print(table)
