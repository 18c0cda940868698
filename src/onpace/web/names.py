"""Look up what a person reads instead of an id: the titles of the model's subjects."""

from __future__ import annotations

from onpace.domain.model import Model


def subject_titles(model: Model) -> dict[str, str]:
    """Return the title of every objective, key result, KPI, dependency and initiative by id."""
    titles = {o.id: o.title for o in model.objectives} | {kr.id: kr.title for kr in model.key_results}
    titles |= {k.id: k.title for k in model.kpis} | {d.id: d.title for d in model.dependencies}
    return titles | {i.id: i.title for i in model.initiatives}
