"""Commands of the weekly loop: the review pack, cases and their next steps, check-ins, re-baselines."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from onpace.cli.app import (
    By,
    CaseId,
    Day,
    app,
    as_of_date,
    err,
    fail,
    now,
    org_session,
    out,
    user_errors,
    when,
)

case_app = typer.Typer(
    help="Act on one case: explain, commit an action, comment, close.", no_args_is_help=True
)
rebaseline_app = typer.Typer(
    help="Request, approve or reject a re-baseline (a plan change).", no_args_is_help=True
)
app.add_typer(case_app, name="case")
app.add_typer(rebaseline_app, name="rebaseline")

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
            when(c.explain_due) if c.explained_at is None else "explained",
            when(c.act_due) if c.acted_at is None else "acted",
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
            f"  {when(row.at)}  {row.event:<16} {row.actor or '-'}  {json.dumps(row.detail)}", markup=False
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
            day=as_of_date(day),
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
