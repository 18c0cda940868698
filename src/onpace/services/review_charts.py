"""Narrow a review pack's items to a unit, and draw the charts of its KPIs and key results."""

from __future__ import annotations

from collections.abc import Iterable

from onpace.domain.model import Model
from onpace.domain.review import Chart, ReviewItem
from onpace.domain.running_bucket import owed_plan

#: Statuses of subjects that are off track (at risk folded in).
from onpace.services.review_parts import (
    ReviewFacts,
)
from onpace.services.routing import subject_units

# ---------------------------------------------------------------------------------------------
# scope and charts


def in_scope(model: Model, item: ReviewItem, units: frozenset[str]) -> bool:
    """Return whether an item belongs to a scope: its subject sits in one of ``units`` or its owner does."""
    level = (
        item.subject_level
        if item.subject_level in ("kpi", "kr", "objective", "dependency", "source")
        else None
    )
    if subject_units(model, item.subject, level) & units:
        return True
    owner = model.person(item.owner)
    return owner is not None and owner.unit in units


#: Sections whose items get a chart (KPIs and KRs only: they have a series).
CHARTED_LEVELS = ("kpi", "kr")


def charts_for(facts: ReviewFacts, subjects: Iterable[str]) -> dict[str, Chart | None]:
    """Return the chart of each subject (None for one without a series), drawing only the ones not yet drawn.

    One call to the engine's chart rows for all new subjects; the results are kept in
    ``facts.charts`` so the organisation's pack and the units' share them.
    """
    wanted = sorted({s for s in subjects if s not in facts.charts})
    if wanted:
        frame = facts.evaluation.subjects
        series_of = dict(zip(frame["subject"].to_list(), frame["series"].to_list(), strict=True))
        measure_of = dict(zip(frame["subject"].to_list(), frame["measure"].to_list(), strict=True))
        rows = facts.evaluation.chart(wanted).sort("subject", "bucket_start")
        by_series = {str(key[0]): group for key, group in rows.group_by("subject", maintain_order=True)}
        for subject in wanted:
            series = series_of.get(subject) or subject
            group = by_series.get(series)
            if group is None or group.height == 0:
                facts.charts[subject] = None
                continue
            result = facts.results.get(subject)
            owed = result.plan_to_date if result is not None and not result.stale else None
            starts = group["bucket_start"].to_list()
            facts.charts[subject] = Chart(
                subject=subject,
                periods=tuple(starts),
                plan=owed_plan(
                    starts, group["bucket_end"].to_list(), group["plan_to_date"].to_list(), facts.as_of, owed
                ),
                actual=tuple(group["actual_to_date"].to_list()),
                forecast=tuple(group["forecast"].to_list()),
                low=tuple(group["lo"].to_list()),
                high=tuple(group["hi"].to_list()),
                as_of=facts.as_of,
                measure=str(measure_of.get(subject) or ""),
            )
    return {s: facts.charts.get(s) for s in subjects}
