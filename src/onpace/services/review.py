"""The weekly review pack: build it from the store, keep it, and find the one kept last.

:func:`build_pack` reads the store as of a date (by default the latest evaluation's) and ranks
what needs a decision, section by section (``onpace.services.review_sections``), for the whole
organisation or one unit; it compares the result with the latest stored pack of the same scope
so the reader sees what appeared, changed or went away. It writes nothing: :func:`save_pack`
keeps a pack so that next week's can be compared with it. Nothing here commits.

The store is read in a fixed number of queries whatever the size of the organisation: the
engine's evaluation (points and plan versions), the stored verdicts, the open cases with their
actions and events, check-ins, plan versions and re-baseline requests, point counts, ingest runs,
the status history of the subjects in the pack, and the previous pack's digest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from onpace.domain.accountability import SubjectIndex, cycle_at
from onpace.domain.calendar import end_of_day
from onpace.domain.hygiene import hygiene_findings
from onpace.domain.model import Model
from onpace.domain.review import (
    ItemDigest,
    ReviewPack,
    assemble_sections,
    diff_packs,
    pack_digest,
    subject_weights,
    unit_tree,
)
from onpace.domain.review_codec import pack_from_doc, pack_to_doc
from onpace.domain.review_merge import merge_items
from onpace.domain.tolerance_noise import noisy_tolerance_findings
from onpace.errors import UserError
from onpace.reports.format import format_day
from onpace.services.cases import list_cases
from onpace.services.checkins import checkins_as_of
from onpace.services.evaluate_service import evaluate_store
from onpace.services.model_store import load_model
from onpace.services.read_models import latest_verdicts
from onpace.services.review_charts import CHARTED_LEVELS, charts_for, in_scope
from onpace.services.review_parts import OFF_TRACK, ReviewFacts, Window
from onpace.services.review_sections import build_items
from onpace.storage.repositories import cases_repo, evaluations_repo, model_repo, review_repo
from onpace.storage.tables import OrgRow, ReviewPackRow

#: Without an earlier pack, a breach is new when it was not red a week before the pack's date.
DEFAULT_WINDOW = dt.timedelta(days=7)
#: How far back the status history goes when no cycle is running (to date each condition's start).
HISTORY_REACH = dt.timedelta(days=182)


def org_model(session: Session, org_id: int) -> Model:
    """Return the organisation's model; raise :class:`UserError` for an unknown organisation."""
    org = session.get(OrgRow, org_id)
    if org is None:
        raise UserError(f"there is no organisation {org_id} in the store")
    return load_model(session, org.name)


def check_unit(model: Model, unit: str | None) -> None:
    """Raise :class:`UserError` naming the known units when ``unit`` is not one of them."""
    if unit is None or model.unit(unit) is not None:
        return
    known = ", ".join(u.id for u in model.units) or "none"
    raise UserError(f"there is no unit {unit!r} in {model.org}; the units are: {known}")


def default_as_of(session: Session, org_id: int) -> dt.date:
    """Return the latest evaluated date; raise :class:`UserError` before the first evaluation."""
    latest = review_repo.latest_evaluation_date(session, org_id)
    if latest is None:
        raise UserError("nothing has been evaluated yet: run `onpace evaluate` (or the worker) first")
    return latest


def load_facts(
    session: Session, org_id: int, model: Model, as_of: dt.date, *, now: dt.datetime
) -> ReviewFacts:
    """Read everything a pack as of ``as_of`` is built from (the part that does not depend on its scope)."""
    moment = min(now, end_of_day(as_of, model.calendar.timezone))
    cycle = cycle_at(model.cycles, as_of)
    evaluation = evaluate_store(session, org_id, model, as_of, now=now, store=False)
    results = evaluation.results
    cases = list_cases(session, org_id, open_only=True)
    watched = {
        r.subject
        for r in results.values()
        if r.status == "red" or r.effective_status in OFF_TRACK or r.threatened_by
    } | {d.kpi for d in model.dependencies if d.kpi}
    # Histories and this cycle's counts start with the cycle (or reach back half a year without one).
    first = cycle.start if cycle is not None and cycle.start <= as_of else as_of - HISTORY_REACH
    return ReviewFacts(
        model=model,
        as_of=as_of,
        moment=moment,
        cycle=cycle,
        evaluation=evaluation,
        index=SubjectIndex(model, as_of),
        weights=subject_weights(model),
        cases=cases,
        events=cases_repo.events_for(session, [c.id for c in cases if c.id is not None and c.rung > 0]),
        checkins=checkins_as_of(session, org_id, as_of),
        verdicts=latest_verdicts(session, org_id, as_of),
        history=review_repo.status_history(session, org_id, watched, first, as_of),
        findings=[
            *hygiene_findings(model, results, as_of),
            *noisy_tolerance_findings(model, evaluation.noise),
        ],
        plan_rows=model_repo.plan_version_rows(session, org_id),
        requests=cases_repo.rebaselines(session, org_id, status="requested"),
        manual=review_repo.manual_counts(session, org_id, first, as_of),
        runs=review_repo.latest_runs(session, org_id, moment),
    )


def load_window(session: Session, org_id: int, facts: ReviewFacts, since: dt.date) -> Window:
    """Read what "since the last review" means for a scope whose last pack is as of ``since``."""
    baseline = {
        row.subject: "at_risk" if row.at_risk and row.status in ("green", "amber") else row.status
        for row in evaluations_repo.latest_evaluations(session, org_id, since)
    }
    retro = review_repo.retro_edits(session, org_id, end_of_day(since), facts.moment)
    return Window(since=since, baseline=baseline, retro=retro)


def assemble_pack(
    session: Session, org_id: int, facts: ReviewFacts, unit: str | None, *, now: dt.datetime
) -> ReviewPack:
    """Build the pack of one scope from loaded facts: its items, charts and changes since its last pack."""
    model = facts.model
    previous = review_repo.previous_digest(session, org_id, unit, facts.as_of)
    since = previous[0] if previous is not None else facts.as_of - DEFAULT_WINDOW
    items = build_items(facts, load_window(session, org_id, facts, since))
    if unit is not None:
        units = unit_tree(model, unit)
        items = [item for item in items if in_scope(model, item, units)]
    items = merge_items(items)
    charted = [i.subject for i in items if i.subject_level in CHARTED_LEVELS and i.section != "pollution"]
    charts = charts_for(facts, charted)
    items = [
        dataclasses.replace(item, chart=charts[item.subject]) if item.subject in charts else item
        for item in items
    ]
    found = model.unit(unit)
    pack = ReviewPack(
        org=model.org,
        as_of=facts.as_of,
        generated_at=now,
        sections=assemble_sections(items),
        unit=unit,
        unit_name=found.name if found is not None else None,
        previous_as_of=previous[0] if previous is not None else None,
    )
    if previous is None:
        return pack
    gone_why = _gone_why(session, org_id, previous[1], pack)
    return dataclasses.replace(pack, changes=diff_packs(previous[1], pack, gone_why=gone_why))


def _gone_why(
    session: Session, org_id: int, previous: Mapping[str, ItemDigest], pack: ReviewPack
) -> dict[str, str]:
    """Say why each case of last week's pack left it: resolved, closed by hand, or (in a unit) moved."""
    now = {item.key for item in pack.items}
    ids = [
        int(key[5:]) for key in previous if key.startswith("case:") and key not in now and key[5:].isdigit()
    ]
    why: dict[str, str] = {}
    for case in cases_repo.cases_by_id(session, org_id, ids) if ids else ():
        if case.status != "open" and case.resolved_at is not None:
            why[f"case:{case.id}"] = f"case {case.status} on {format_day(case.resolved_at.date())}"
        else:
            why[f"case:{case.id}"] = "case still open, no longer in this scope"
    return why


def build_packs(
    session: Session,
    org_id: int,
    scopes: Sequence[str | None],
    *,
    as_of: dt.date | None = None,
    now: dt.datetime,
    model: Model | None = None,
) -> list[ReviewPack]:
    """Build the packs of several scopes (None: the organisation) as of one date, reading the store once."""
    model = model or org_model(session, org_id)
    for unit in scopes:
        check_unit(model, unit)
    day = as_of or default_as_of(session, org_id)
    facts = load_facts(session, org_id, model, day, now=now)
    return [assemble_pack(session, org_id, facts, unit, now=now) for unit in scopes]


def build_pack(
    session: Session,
    org_id: int,
    *,
    as_of: dt.date | None = None,
    unit: str | None = None,
    now: dt.datetime,
) -> ReviewPack:
    """Build the review pack of the organisation (or of ``unit`` and the units below it) as of a date.

    ``as_of`` defaults to the latest evaluated date. Items are those whose subject sits in the
    scope or whose owner does. ``changes`` compares with the latest stored pack of the same
    scope dated before ``as_of`` (none: no changes and no ``previous_as_of``); a breach is
    new when its subject was not red at that pack's date (or a week before ``as_of``). Nothing
    is written. Raise :class:`UserError` for an unknown unit or a store never evaluated.
    """
    return build_packs(session, org_id, [unit], as_of=as_of, now=now)[0]


def save_pack(session: Session, org_id: int, pack: ReviewPack, *, now: dt.datetime) -> ReviewPack:
    """Store ``pack`` (replacing a stored pack of the same scope and date); return it with its id."""
    for stale in review_repo.packs_on(session, org_id, pack.unit, pack.as_of):
        session.delete(stale)
    row = ReviewPackRow(
        org_id=org_id,
        as_of=pack.as_of,
        unit=pack.unit,
        content=pack_to_doc(pack),
        items=pack_digest(pack),
        generated_at=pack.generated_at,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return dataclasses.replace(pack, id=row.id)


def latest_pack(session: Session, org_id: int, *, unit: str | None = None) -> ReviewPack | None:
    """Return the stored pack of a scope with the latest as-of date, or None when none is stored."""
    row = review_repo.latest_pack(session, org_id, unit)
    return pack_from_doc(row.content, pack_id=row.id) if row is not None else None


def stored_pack(session: Session, org_id: int, pack_id: int) -> ReviewPack | None:
    """Return stored pack ``pack_id`` of the organisation, or None."""
    row = review_repo.get_pack(session, org_id, pack_id)
    return pack_from_doc(row.content, pack_id=row.id) if row is not None else None
