"""Filter, search and sort the scorecard by row, and list the KPIs the tree does not reach.

The unit, status and search filters select rows: a key result or KPI that matches is shown with
the objective and key result above it as context (greyed), and nothing else. KPIs that measure
or feed no key result are listed apart, with the cost and capacity KPIs of initiatives in their
own list, so every KPI can be found on the scorecard.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from onpace.domain.model import Model
from onpace.services.read_models import Scorecard, ScoreLine, latest_verdicts, scorecard, trends

PER_PAGE = 25
SORTS = ("", "status", "attainment", "title")
_WORST_FIRST = {"red": 0, "at_risk": 1, "amber": 2, "no_data": 3, "unplanned": 4, "green": 5}


@dataclass(frozen=True)
class Filters:
    """What the reader asked for; every field is optional ("" means not given)."""

    unit: str = ""
    cycle: str = ""
    perspective: str = ""
    status: str = ""
    q: str = ""
    sort: str = ""

    def query(self) -> dict[str, str]:
        """Return the filters that are set, to keep in links."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v}


@dataclass(frozen=True)
class RowCard:
    """The scorecard as shown: the pruned tree (one page of objectives) and the KPIs outside it."""

    card: Scorecard
    unlinked: list[ScoreLine]
    resources: list[ScoreLine]
    filters: Filters
    matches: int


def _matches(line: ScoreLine, filters: Filters) -> bool:
    if filters.status and line.status != filters.status:
        return False
    if filters.unit and line.unit != filters.unit:
        return False
    needle = filters.q.strip().lower()
    return not needle or needle in line.title.lower() or needle in line.id.lower()


def prune(line: ScoreLine, filters: Filters) -> ScoreLine | None:
    """Return ``line`` with only the rows that match or lead to a match; None when none does."""
    children = [kept for child in line.children if (kept := prune(child, filters)) is not None]
    matched = _matches(line, filters)
    if not matched and not children:
        return None
    return dataclasses.replace(line, children=children, matched=matched)


def _key(sort: str) -> Callable[[ScoreLine], tuple[float, str]]:
    if sort == "status":
        return lambda line: (float(_WORST_FIRST.get(line.status, 9)), line.title.lower())
    if sort == "attainment":
        return lambda line: (
            line.verdict.attainment if line.verdict and line.verdict.attainment is not None else 9e9,
            line.title.lower(),
        )
    return lambda line: (0.0, line.title.lower())


def sort_tree(lines: Sequence[ScoreLine], sort: str) -> list[ScoreLine]:
    """Return ``lines`` (and their children) in the order asked: worst status, lowest attainment, title."""
    if not sort:
        return list(lines)
    key = _key(sort)
    return [
        dataclasses.replace(line, children=sort_tree(line.children, sort)) for line in sorted(lines, key=key)
    ]


def count(lines: Iterable[ScoreLine]) -> int:
    """Return how many rows match (context rows excluded)."""
    return sum(int(line.matched) + count(line.children) for line in lines)


def row_scorecard(
    session: Session, org_id: int, model: Model, filters: Filters, *, page: int, as_of: dt.date | None = None
) -> RowCard:
    """Return the scorecard filtered by row, one page of objectives at a time, with the KPIs outside the tree.

    ``as_of`` looks at a past cycle as of its last day (default: the latest evaluation).
    """
    whole = scorecard(
        session,
        org_id,
        model,
        as_of=as_of,
        cycle=filters.cycle or None,
        perspective=filters.perspective or None,
        per_page=10**9,
    )
    kept = [p for line in whole.objectives if (p := prune(line, filters)) is not None]
    kept = sort_tree(kept, filters.sort)
    pages = max(1, -(-len(kept) // PER_PAGE))
    page = min(max(page, 0), pages - 1)
    card = dataclasses.replace(
        whole,
        objectives=kept[page * PER_PAGE : (page + 1) * PER_PAGE],
        filters=filters.query(),
        page=page,
        pages=pages,
        total=len(kept),
    )
    unlinked, resources = _outside_tree(session, org_id, model, filters, whole)
    return RowCard(card, unlinked, resources, filters, count(kept) + len(unlinked) + len(resources))


def _outside_tree(
    session: Session, org_id: int, model: Model, filters: Filters, whole: Scorecard
) -> tuple[list[ScoreLine], list[ScoreLine]]:
    linked = {kr.kpi for kr in model.key_results if kr.kpi} | {k.id for k in model.kpis if k.feeds}
    spent = {i.cost for i in model.initiatives if i.cost} | {
        i.capacity for i in model.initiatives if i.capacity
    }
    verdicts = latest_verdicts(session, org_id)
    history = trends(session, org_id, whole.as_of) if whole.as_of is not None else {}

    def line(kpi_id: str) -> ScoreLine:
        kpi = next(k for k in model.kpis if k.id == kpi_id)
        return ScoreLine(
            kpi.id, kpi.title, "kpi", kpi.owner, kpi.unit, None, verdicts.get(kpi.id), history.get(kpi.id, [])
        )

    unlinked = [line(k.id) for k in model.kpis if k.id not in linked and k.id not in spent]
    resources = [line(k.id) for k in model.kpis if k.id in spent]
    keep = [x for x in unlinked if _matches(x, filters)], [x for x in resources if _matches(x, filters)]
    return sort_tree(keep[0], filters.sort), sort_tree(keep[1], filters.sort)
