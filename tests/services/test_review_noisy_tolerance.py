"""A KPI whose red tolerance is narrower than its own noise is shown in the review pack and on its page, as advice."""

from __future__ import annotations

import datetime as dt

from review_support import STEADY, WEEKS, end_of, ingest, new_org
from sqlalchemy.orm import Session

from onpace.domain.model import Model
from onpace.reports.markdown import render_markdown
from onpace.services.evaluate_service import evaluate_store
from onpace.services.govern import govern_store
from onpace.services.review import build_pack
from onpace.services.subject_view import subject_detail
from onpace.storage.repositories import cases_repo

# Page views swing between 1000 and 1200 a week against a flat plan of 1000 and the default red
# tolerance of 10 %: a swing of 20 % of plan each week.
SWINGING = {week: {"page_views": 1200.0 if k % 2 else 1000.0} for k, week in enumerate(WEEKS)}
LAST = WEEKS[5]


def run_weeks(session: Session, org_id: int, model: Model) -> None:
    """Ingest, evaluate and govern each week to LAST as the loop does, the noise readings included."""
    for week in WEEKS:
        if week > LAST:
            break
        ingest(session, org_id, model, week, {**STEADY, **SWINGING[week]})
        evaluation = evaluate_store(session, org_id, model, week, now=end_of(week))
        govern_store(
            session,
            org_id,
            model,
            evaluation.results,
            as_of=week,
            now=end_of(week),
            leadlag=evaluation.leadlag,
            noise=evaluation.noise,
        )
        session.commit()


def test_a_reviewer_sees_the_tolerance_narrower_than_the_kpis_noise_with_the_tolerance_it_needs(
    session: Session,
) -> None:
    org_id, model = new_org(session)
    run_weeks(session, org_id, model)
    pack = build_pack(session, org_id, now=end_of(LAST) + dt.timedelta(hours=7))
    [section] = [s for s in pack.sections if s.key == "tolerances"]
    assert section.title == "Tolerances narrower than the KPI's own noise"
    [item] = section.items
    assert (item.subject, item.owner, item.case_id) == ("page_views", "lee", None)
    assert "moves by about 20 % of plan from one week to the next" in item.headline
    assert "red tolerance is 10 %" in item.headline
    assert "Widen the red tolerance to at least 40 %" in item.headline
    assert "Widen the red tolerance to at least 40 %" in render_markdown(pack)
    # Steady KPIs are not there, and the advice opened no case of its own.
    hygiene = cases_repo.cases(session, org_id, status="open", subject="page_views", family="hygiene")
    findings = [f["rule"] for case in hygiene for f in (case.detail or {}).get("findings", [])]
    assert findings == ["kpi_pollution"]


def test_the_kpis_page_says_its_tolerance_is_narrower_than_its_noise_and_a_steady_kpis_page_does_not(
    session: Session,
) -> None:
    org_id, model = new_org(session)
    run_weeks(session, org_id, model)
    now = end_of(LAST) + dt.timedelta(hours=7)
    noisy = subject_detail(session, org_id, model, "page_views", now=now)
    steady = subject_detail(session, org_id, model, "throughput", now=now)
    assert noisy is not None
    assert steady is not None
    [note] = noisy.notes
    assert note.startswith("KPI page_views: its value moves by about 20 % of plan")
    assert steady.notes == ()
