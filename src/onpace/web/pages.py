"""Server-rendered pages (Jinja2 + htmx + ECharts): thin doors onto the services, like the API.

Pages use the same principal, permission rules and services as ``/api/v1``. Forms post with
the session's CSRF token; a successful post redirects (303) back to the page it changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from onpace.api.deps import (
    Context,
    app_state,
    browser_session,
    check_csrf,
    db,
    now,
    optional_principal,
    signer,
)
from onpace.api.errors import forbidden, not_found, unauthenticated
from onpace.api.schemas import MAX_ROW_ID
from onpace.api.security import BrowserSession, new_session
from onpace.domain.cases import CAUSE_CATEGORIES, Case
from onpace.domain.model import (
    PERSPECTIVES,
    Aggregate,
    Dependency,
    Direction,
    Grain,
    KeyResult,
    Kpi,
    Measure,
    Objective,
    Perspective,
    Plan,
    Side,
)
from onpace.domain.review import ReviewPack
from onpace.domain.whatif import Shift, what_if
from onpace.errors import UserError
from onpace.reports.html import pack_css, render_body
from onpace.reports.markdown import render_markdown
from onpace.services import cases as case_service
from onpace.services import model_edit, read_models
from onpace.services import rebaseline as rebaseline_service
from onpace.services import review as review_service
from onpace.services.auth import (
    Principal,
    may_check_in,
    may_edit_model,
    may_request_rebaseline,
    may_work_case,
    owned_subjects,
)
from onpace.services.checkins import new_checkin, record_checkins
from onpace.services.model_store import plan_versions
from onpace.storage.repositories import cases_repo, points_repo
from onpace.web.sparkline import sparkline_svg

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
# Templates ship with the package and never change under a running app: do not stat them per render.
TEMPLATES.env.auto_reload = False
# Escape every value in every template, whatever its file name (select_autoescape skips some).
TEMPLATES.env.autoescape = True
TEMPLATES.env.filters["sparkline"] = sparkline_svg
TEMPLATES.env.filters["tojson_attr"] = lambda value: json.dumps(value, default=str)

RowIdPath = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]

router = APIRouter(include_in_schema=False)

STATUS_LABELS = {
    "green": "on track",
    "amber": "amber",
    "red": "red",
    "at_risk": "at risk",
    "no_data": "no data",
    "unplanned": "unplanned",
}
TEMPLATES.env.globals["STATUS_LABELS"] = STATUS_LABELS


def _ensure_session(request: Request) -> tuple[BrowserSession, bool]:
    found = browser_session(request)
    if found is not None:
        return found, False
    return new_session(), True


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a page with the CSRF token and the signed-in user; set a session cookie if missing."""
    session, fresh = _ensure_session(request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"csrf": session.csrf, "who": getattr(request.state, "who", None), **context},
        status_code=status,
    )
    if fresh:
        signer(request).write(response, session)
    return response


_SLOT = "<!--onpace:main-->"


def render_around(request: Request, template: str, main: bytes, status: int = 200) -> HTMLResponse:
    """Render a page frame around content already rendered and encoded (a view shared by readers).

    Only the frame (the reader's name, the CSRF token) is rendered per request; the shared part,
    often most of the page, is spliced in as bytes rather than rendered and encoded again.
    """
    response = render(request, template, {"main": Markup(_SLOT)}, status)
    head, slot, tail = bytes(response.body).partition(_SLOT.encode())
    if not slot:
        raise RuntimeError(f"{template} does not show {{{{ main }}}}")
    response.body = head + main + tail
    response.headers["content-length"] = str(len(response.body))
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """Return an HTML error page with a message a person understands."""
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def to_login(request: Request) -> RedirectResponse:
    """Return a redirect to the sign-in page that comes back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


async def page_context(
    request: Request,
    session: Annotated[Session, Depends(db)],
    who: Annotated[Principal | None, Depends(optional_principal)],
) -> Context:
    """Return the context of a page request; anonymous visitors are sent to sign in.

    Pages take signed-in sessions only: a bearer token on any page is refused (403) by
    :func:`~onpace.api.deps.optional_principal` before this runs.
    """
    if who is None:
        raise unauthenticated()
    await check_csrf(request, who)
    request.state.who = who
    return Context(session, who, app_state(request), now())


Page = Annotated[Context, Depends(page_context)]


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------------------------------------
# desk and scorecard


@router.get("/")
def desk(request: Request, context: Page) -> HTMLResponse:
    """Show my desk: my open cases with deadlines and what I own with its status."""
    found = read_models.my_desk(context.session, context.org_id, context.model, context.who.person_id)
    return render(request, "desk.html", {"desk": found, "now": context.now})


@router.get("/scorecard")
async def scorecard_page(
    request: Request,
    context: Page,
    *,
    unit: str | None = None,
    cycle: str | None = None,
    perspective: str | None = None,
    status: str | None = None,
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    """Show the objective → KR → KPI tree with status, attainment, forecast and trend."""
    filters = (unit or None, cycle or None, perspective or None, status or None)

    def build() -> tuple[bytes, bytes]:
        card = read_models.scorecard(
            context.session,
            context.org_id,
            context.model,
            unit=filters[0],
            cycle=filters[1],
            perspective=filters[2],
            status=filters[3],
            page=page,
        )
        rows = Markup(TEMPLATES.get_template("scorecard_rows.html").render(card=card))
        main = TEMPLATES.get_template("scorecard_main.html").render(
            card=card, rows=rows, statuses=list(STATUS_LABELS)
        )
        return rows.encode(), main.encode()

    # Every reader sees the same tree until the model or the evaluations change: render it once,
    # leaving only the page's frame (the reader's name, the CSRF token) to render per request.
    rows, main = await context.view(("scorecard", *filters, page), build)
    if request.headers.get("hx-request"):
        return HTMLResponse(rows)
    return render_around(request, "scorecard.html", main)


@router.get("/kpis/{subject}")
@router.get("/krs/{subject}")
def subject_page(subject: str, request: Request, context: Page) -> HTMLResponse:
    """Show a KPI or KR: plan vs actual with forecast and tolerance bands, buckets, lineage, cases."""
    detail = read_models.subject_detail(
        context.session, context.org_id, context.model, subject, now=context.now
    )
    if detail is None:
        raise not_found(f"there is no KPI or key result {subject!r}")
    model = context.model
    return render(
        request,
        "subject.html",
        {
            "d": detail,
            "may_request": may_request_rebaseline(context.who, model, subject),
            "may_checkin": detail.level == "kr" and may_check_in(context.who, model, subject),
            "today": context.now.date(),
        },
    )


# ---------------------------------------------------------------------------------------------
# cases


def _load_case(context: Context, case_id: int) -> Case:
    try:
        return case_service.load_case(context.session, context.org_id, case_id)
    except UserError:
        raise not_found(f"there is no case {case_id}") from None


def _workable(context: Context, case_id: int) -> Case:
    case = _load_case(context, case_id)
    if not may_work_case(context.who, case):
        raise forbidden(
            f"case {case_id} is not yours: only its owner, holder, participants or an admin may work it"
        )
    return case


def _actor(context: Context) -> str:
    return context.who.person_id or context.who.email


@router.get("/cases")
def cases_inbox(request: Request, context: Page, mine: bool = False, state: str = "open") -> HTMLResponse:
    """Show the cases inbox (open ones by default; ``mine`` keeps mine)."""
    person = (context.who.person_id or "") if mine else None
    found = case_service.list_cases(context.session, context.org_id, mine=person, open_only=state == "open")
    found.sort(key=lambda c: (not c.is_open, -c.rung, c.explain_due))
    return render(request, "cases.html", {"cases": found, "mine": mine, "state": state, "now": context.now})


@router.get("/cases/{case_id}")
def case_page(case_id: RowIdPath, request: Request, context: Page) -> HTMLResponse:
    """Show a case: its subject, escalation level, participants, forms and timeline."""
    case = _load_case(context, case_id)
    events = case_service.case_history(context.session, context.org_id, case_id)
    model = context.model
    return render(
        request,
        "case.html",
        {
            "case": case,
            "events": events,
            "may_work": may_work_case(context.who, case),
            "categories": CAUSE_CATEGORIES,
            "people": model.people,
            "ladder": model.policy.escalation,
            "now": context.now,
            "subject_href": subject_href(case.subject_level, case.subject),
        },
    )


def subject_href(level: str, subject: str) -> str | None:
    """Return the page that shows a case's subject, or None for subjects without one (sources, channels)."""
    pages = {
        "kpi": f"/kpis/{subject}",
        "kr": f"/krs/{subject}",
        "dependency": "/dependencies",
        "objective": "/scorecard",
    }
    return pages.get(level)


@router.post("/cases/{case_id}/explain")
def case_explain(
    case_id: RowIdPath,
    context: Page,
    category: Annotated[str, Form(max_length=100)],
    text: Annotated[str, Form(max_length=5000)],
) -> Response:
    """Record the root cause of a case."""
    _workable(context, case_id)
    case_service.explain_case(
        context.session,
        context.org_id,
        case_id,
        category=category,
        text=text,
        by=_actor(context),
        now=context.now,
    )
    context.commit()
    return _redirect(f"/cases/{case_id}")


@router.post("/cases/{case_id}/act")
def case_act(
    case_id: RowIdPath,
    context: Page,
    title: Annotated[str, Form(max_length=500)],
    owner: Annotated[str, Form(max_length=200)],
    due: Annotated[dt.date, Form()],
) -> Response:
    """Commit a corrective action on a case."""
    _workable(context, case_id)
    if context.model.person(owner) is None:
        raise UserError(f"there is no person {owner!r} to own the action")
    case_service.act_on_case(
        context.session,
        context.org_id,
        case_id,
        title=title,
        owner=owner,
        due=due,
        by=_actor(context),
        now=context.now,
    )
    context.commit()
    return _redirect(f"/cases/{case_id}")


@router.post("/cases/{case_id}/comment")
def case_comment(case_id: RowIdPath, context: Page, text: Annotated[str, Form(max_length=5000)]) -> Response:
    """Add a comment to a case."""
    _workable(context, case_id)
    case_service.comment_on_case(
        context.session, context.org_id, case_id, text=text, by=_actor(context), now=context.now
    )
    context.commit()
    return _redirect(f"/cases/{case_id}")


@router.post("/cases/{case_id}/close")
def case_close(
    case_id: RowIdPath, context: Page, note: Annotated[str, Form(max_length=5000)] = ""
) -> Response:
    """Resolve a case by hand."""
    _workable(context, case_id)
    case_service.close_case(
        context.session, context.org_id, case_id, by=_actor(context), now=context.now, note=note
    )
    context.commit()
    return _redirect(f"/cases/{case_id}")


# ---------------------------------------------------------------------------------------------
# weekly review


def _review_pack(context: Context, unit: str | None, as_of: str | None) -> ReviewPack:
    """Build (never save) the pack the query asks for; refuse an unknown unit or a malformed date."""
    unit_id = (unit or "").strip() or None
    if unit_id is not None and context.model.unit(unit_id) is None:
        raise not_found(f"there is no unit {unit_id!r}")
    day: dt.date | None = None
    if as_of and as_of.strip():
        try:
            day = dt.date.fromisoformat(as_of.strip())
        except ValueError:
            raise UserError(f"as_of {as_of!r} is not a date (YYYY-MM-DD)") from None
    return review_service.build_pack(
        context.session, context.org_id, as_of=day, unit=unit_id, now=context.now
    )


def _review_query(unit: str | None, as_of: str | None) -> str:
    """Return the query string that asks the downloads for the pack on the page ("" for the default)."""
    kept = {
        key: value.strip() for key, value in (("unit", unit), ("as_of", as_of)) if value and value.strip()
    }
    return f"?{urlencode(kept)}" if kept else ""


def _download(content: bytes | str, media_type: str, pack: ReviewPack, suffix: str) -> Response:
    name = "-".join(["review", *([pack.unit] if pack.unit else []), pack.as_of.isoformat()])
    headers = {"Content-Disposition": f'attachment; filename="{quote(name)}.{suffix}"'}
    return Response(content, media_type=media_type, headers=headers)


ReviewUnit = Annotated[str | None, Query(max_length=200)]
ReviewDate = Annotated[str | None, Query(max_length=40)]


@router.get("/review")
def review_page(
    request: Request, context: Page, unit: ReviewUnit = None, as_of: ReviewDate = None
) -> HTMLResponse:
    """Show the weekly review pack: what needs a decision, ranked by impact, with links to the cases."""
    pack = _review_pack(context, unit, as_of)
    return render(
        request,
        "review.html",
        {
            "body": render_body(pack, base_url=""),
            "pack_css": pack_css(),
            "units": context.model.units,
            "unit": pack.unit,
            "as_of": (as_of or "").strip(),
            "query": _review_query(unit, as_of),
        },
    )


@router.get("/review.pdf")
def review_pdf(context: Page, unit: ReviewUnit = None, as_of: ReviewDate = None) -> Response:
    """Download the weekly review pack as PDF (its items link back to this site)."""
    # WeasyPrint takes most of a second to import: load it on the first PDF, not at app start.
    from onpace.reports.pdf import render_pdf

    pack = _review_pack(context, unit, as_of)
    pdf = render_pdf(pack, base_url=context.state.settings.base_url)
    return _download(pdf, "application/pdf", pack, "pdf")


@router.get("/review.md")
def review_markdown(context: Page, unit: ReviewUnit = None, as_of: ReviewDate = None) -> Response:
    """Download the weekly review pack as Markdown."""
    pack = _review_pack(context, unit, as_of)
    markdown = render_markdown(pack, base_url=context.state.settings.base_url)
    return _download(markdown, "text/markdown; charset=utf-8", pack, "md")


# ---------------------------------------------------------------------------------------------
# dependency map, what-if, check-in, re-baseline


@router.get("/dependencies")
def dependency_page(request: Request, context: Page) -> HTMLResponse:
    """Show the dependency map: units as nodes, hand-offs as edges coloured by status."""
    graph = read_models.dependency_map(
        context.session, context.org_id, context.model, today=context.now.date()
    )
    return render(request, "dependencies.html", {"graph": graph})


@router.get("/what-if")
def whatif_form(request: Request, context: Page) -> HTMLResponse:
    """Show the what-if form."""
    return render(
        request, "whatif.html", {"kpis": context.model.kpis, "flips": None, "picked": [], "pct": -5.0}
    )


@router.post("/what-if")
def whatif_run(
    request: Request,
    context: Page,
    kpis: Annotated[list[str], Form(max_length=100)],
    pct: Annotated[float, Form(ge=-1000, le=1000)],
) -> HTMLResponse:
    """Shift the picked KPIs by ``pct`` percent and show what flips."""
    verdicts = read_models.latest_verdicts(context.session, context.org_id)
    as_of = read_models.evaluated_as_of(verdicts) or context.now.date()
    points = points_repo.points_frame(context.session, context.org_id, as_of)
    try:
        flips = what_if(
            context.model,
            points,
            as_of,
            {k: Shift(pct=pct) for k in kpis},
            plan_versions(context.session, context.org_id),
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    template = "whatif_result.html" if request.headers.get("hx-request") else "whatif.html"
    return render(
        request,
        template,
        {"kpis": context.model.kpis, "flips": flips, "picked": kpis, "pct": pct, "as_of": as_of},
    )


@router.get("/checkin")
def checkin_form(request: Request, context: Page) -> HTMLResponse:
    """Show the check-in form for what I own."""
    model = context.model
    mine = owned_subjects(model, context.who.person_id)
    subjects = [(o.id, o.title) for o in model.objectives if context.who.admin or o.id in mine]
    subjects += [(kr.id, kr.title) for kr in model.key_results if context.who.admin or kr.id in mine]
    return render(request, "checkin.html", {"subjects": subjects, "today": context.now.date(), "done": None})


@router.post("/checkin")
def checkin_post(
    *,
    request: Request,
    context: Page,
    subject: Annotated[str, Form(max_length=200)],
    status: Annotated[str, Form(max_length=10)],
    confidence: Annotated[int, Form(ge=0, le=10)],
    day: Annotated[dt.date, Form()],
    comment: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Record a check-in on a KR or objective I own."""
    model = context.model
    if not may_check_in(context.who, model, subject):
        raise forbidden(f"you may check in only on what you own; {subject!r} is not yours")
    checkin = new_checkin(
        model,
        subject=subject,
        day=day,
        status=status,
        confidence=confidence,
        by=_actor(context),
        comment=comment,
    )
    record_checkins(context.session, context.org_id, [checkin], now=context.now)
    context.commit()
    return _redirect("/checkin?saved=" + quote(subject))


@router.get("/rebaselines")
def rebaselines_page(request: Request, context: Page) -> HTMLResponse:
    """Show re-baseline requests and the form to ask for one."""
    rows = cases_repo.rebaselines(context.session, context.org_id)
    model = context.model
    subjects = [(k.id, k.title) for k in model.kpis] + [(kr.id, kr.title) for kr in model.key_results]
    return render(
        request, "rebaselines.html", {"rows": rows, "subjects": subjects, "today": context.now.date()}
    )


@router.post("/rebaselines")
def rebaseline_request(
    *,
    context: Page,
    subject: Annotated[str, Form(max_length=200)],
    target: Annotated[float, Form(allow_inf_nan=False)],
    reason: Annotated[str, Form(max_length=5000)],
    effective: Annotated[dt.date, Form()],
    baseline: Annotated[float | None, Form(allow_inf_nan=False)] = None,
) -> Response:
    """Ask to re-baseline a KPI or KR to a new baseline/target."""
    model = context.model
    if not may_request_rebaseline(context.who, model, subject):
        raise forbidden(f"only the owner of {subject!r}, an editor or an admin may ask to re-baseline it")
    rebaseline_service.request_rebaseline(
        context.session,
        context.org_id,
        model,
        subject=subject,
        plan=Plan(baseline=baseline, target=target),
        reason=reason,
        effective=effective,
        by=_actor(context),
        now=context.now,
    )
    context.commit()
    return _redirect("/rebaselines")


@router.post("/rebaselines/{request_id}/{decision}")
def rebaseline_decide(
    request_id: RowIdPath, decision: str, context: Page, note: Annotated[str, Form(max_length=5000)] = ""
) -> Response:
    """Approve or reject a re-baseline request."""
    if not context.who.writes:
        raise forbidden("viewers cannot decide re-baselines")
    decide = {
        "approve": rebaseline_service.approve_rebaseline,
        "reject": rebaseline_service.reject_rebaseline,
    }
    if decision not in decide:
        raise not_found("a request is approved or rejected")
    decide[decision](
        context.session,
        context.org_id,
        context.model,
        request_id,
        by=_actor(context),
        now=context.now,
        admin=context.who.admin,
        note=note,
    )
    context.commit()
    return _redirect("/rebaselines")


# ---------------------------------------------------------------------------------------------
# model editing (editors)


def _editor(context: Context) -> None:
    if not may_edit_model(context.who):
        raise forbidden("only editors and admins change the model")


def _save(context: Context, edited: Any) -> None:
    model_edit.save_edit(context.session, context.org_id, edited, by=context.who.email, now=context.now)
    context.commit()


@router.get("/edit")
def edit_page(request: Request, context: Page) -> HTMLResponse:
    """Show the model editor: objectives, KRs, KPIs, links and dependencies with their forms."""
    _editor(context)
    return render(request, "edit.html", {"model": context.model, "perspectives": PERSPECTIVES})


def _blank(value: str) -> str | None:
    return value.strip() or None


@router.post("/edit/objectives")
def edit_objective(
    *,
    context: Page,
    id: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=500)],
    cycle: Annotated[str, Form(max_length=200)],
    unit: Annotated[str, Form(max_length=200)] = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    perspective: Annotated[Perspective | Literal[""], Form()] = "",
) -> Response:
    """Add or change an objective."""
    _editor(context)
    objective = Objective(
        id=id.strip(),
        title=title.strip(),
        cycle=cycle.strip(),
        unit=_blank(unit),
        owner=_blank(owner),
        perspective=perspective or None,
    )
    _save(context, model_edit.with_objective(context.model, objective))
    return _redirect("/edit#objectives")


@router.post("/edit/krs")
def edit_kr(
    *,
    context: Page,
    id: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=500)],
    objective: Annotated[str, Form(max_length=200)],
    owner: Annotated[str, Form(max_length=200)] = "",
    kpi: Annotated[str, Form(max_length=200)] = "",
    weight: Annotated[float, Form(ge=0, le=1000, allow_inf_nan=False)] = 1.0,
) -> Response:
    """Add or change a key result (measured by a KPI, or by its feeds)."""
    _editor(context)
    model = context.model
    existing = next((k for k in model.key_results if k.id == id.strip()), None)
    base = existing or KeyResult(id=id.strip(), title="", objective=objective.strip(), owner=None)
    kr = dataclasses.replace(
        base,
        title=title.strip(),
        objective=objective.strip(),
        owner=_blank(owner),
        kpi=_blank(kpi),
        weight=weight,
    )
    _save(context, model_edit.with_key_result(model, kr))
    return _redirect("/edit#krs")


@router.post("/edit/kpis")
def edit_kpi(
    *,
    context: Page,
    id: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=500)],
    unit: Annotated[str, Form(max_length=200)] = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    measure: Annotated[Measure, Form()] = "level",
    direction: Annotated[Direction, Form()] = "up",
    grain: Annotated[Grain, Form()] = "week",
    aggregate: Annotated[Aggregate, Form()] = "mean",
    target: Annotated[float | None, Form(allow_inf_nan=False)] = None,
    baseline: Annotated[float | None, Form(allow_inf_nan=False)] = None,
    leading: Annotated[bool, Form()] = False,
) -> Response:
    """Add or change a KPI (its feeds are kept; edit links separately)."""
    _editor(context)
    model = context.model
    existing = next((k for k in model.kpis if k.id == id.strip()), None)
    base = existing or Kpi(id=id.strip(), title="", unit=None, owners=())
    plan = Plan(baseline=baseline, target=target) if target is not None else base.plan
    kpi = dataclasses.replace(
        base,
        title=title.strip(),
        unit=_blank(unit),
        owners=(owner.strip(),) if owner.strip() else (),
        measure=measure,
        direction=direction,
        grain=grain,
        aggregate=aggregate,
        plan=plan,
        leading=leading,
    )
    _save(context, model_edit.with_kpi(model, kpi))
    return _redirect("/edit#kpis")


@router.post("/edit/links")
def edit_link(
    context: Page,
    kpi: Annotated[str, Form(max_length=200)],
    kr: Annotated[str, Form(max_length=200)],
    weight: Annotated[float, Form(ge=0, le=1, allow_inf_nan=False)],
    lag_days: Annotated[int, Form(ge=0, le=3660)] = 0,
) -> Response:
    """Set the weight of a KPI → KR link (0 removes it)."""
    _editor(context)
    edited = model_edit.with_feed_weight(context.model, kpi.strip(), kr.strip(), weight or None, lag_days)
    _save(context, edited)
    return _redirect("/edit#links")


@router.post("/edit/dependencies")
def edit_dependency(
    *,
    context: Page,
    id: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=500)],
    provider_unit: Annotated[str, Form(max_length=200)],
    provider_owner: Annotated[str, Form(max_length=200)],
    consumer_unit: Annotated[str, Form(max_length=200)],
    consumer_owner: Annotated[str, Form(max_length=200)],
    due: Annotated[dt.date, Form()],
    delivered: Annotated[str, Form(max_length=10)] = "",
    kpi: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add or change a dependency (record its delivery date here)."""
    _editor(context)
    try:
        delivered_on = dt.date.fromisoformat(delivered) if delivered.strip() else None
    except ValueError:
        raise UserError(f"delivered {delivered!r} is not a date (YYYY-MM-DD)") from None
    model = context.model
    existing = next((d for d in model.dependencies if d.id == id.strip()), None)
    dependency = Dependency(
        id=id.strip(),
        title=title.strip(),
        provider=Side(provider_unit.strip(), provider_owner.strip()),
        consumer=Side(consumer_unit.strip(), consumer_owner.strip()),
        due=due,
        delivered=delivered_on,
        kpi=_blank(kpi),
        blocks=existing.blocks if existing else (),
    )
    _save(context, model_edit.with_dependency(model, dependency))
    return _redirect("/edit#dependencies")
