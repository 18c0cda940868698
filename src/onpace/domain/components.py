"""Split a model into independent parts, so new data re-evaluates only the part it belongs to.

Two subjects are in the same *component* when a link of the model joins them, directly or through
others: an objective and its KRs, a KR and the KPI that measures it, a KPI and the KRs it feeds,
a formula KPI and every name its formula reads, an initiative and its KRs and cost and capacity
KPIs, a dependency and its health KPI and the KRs it blocks. Nothing in an evaluation crosses
from one component to another — a series is judged on its own points, plan and cycle; a
formula on its inputs; a KR on its KPI or its feeds; an objective on its KRs — so evaluating a
component's sub-model gives its subjects exactly the verdicts a whole evaluation gives them.
The sub-model keeps the items of the model in their order and every cycle, policy and calendar
setting, so the rules that read the model in file order (a KPI's cycle from its first KR) decide
the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence

import polars as pl

from onpace.domain import formula as fx
from onpace.domain.cycles import open_past_cycles
from onpace.domain.engine import Evaluation, evaluate_model
from onpace.domain.model import Model, PlanVersion


class _Groups:
    """Union-find over names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        root = self.parent.setdefault(name, name)
        while root != self.parent[root]:
            root = self.parent[root]
        while name != root:  # path compression keeps later finds short
            self.parent[name], name = root, self.parent[name]
        return root

    def join(self, names: Iterable[str]) -> None:
        roots = [self.find(name) for name in names]
        for other in roots[1:]:
            self.parent[other] = roots[0]


def components(model: Model) -> dict[str, str]:
    """Return, for every KPI, KR, objective and name a formula reads, the name of its component.

    Keys are ``kpi:``/``kr:``/``objective:``/``metric:`` prefixed ids, so a KR and a KPI that share
    an id stay apart; a metric (points' ``metric``) is in the component of the KPI or KR of that id
    and of the formulas that read it.
    """
    groups = _Groups()
    for objective in model.objectives:
        groups.join([f"objective:{objective.id}", *(f"kr:{kr.id}" for kr in objective.key_results)])
        for kr in objective.key_results:
            groups.join([f"kr:{kr.id}", f"metric:{kr.id}"])
            if kr.kpi is not None:
                groups.join([f"kr:{kr.id}", f"kpi:{kr.kpi}"])
    for kpi in model.kpis:
        groups.join([f"kpi:{kpi.id}", f"metric:{kpi.id}", *(f"kr:{feed.kr}" for feed in kpi.feeds)])
        if kpi.formula:
            names = fx.names(fx.parse(kpi.formula))
            groups.join([f"kpi:{kpi.id}", *(f"metric:{name}" for name in names)])
            groups.join([f"kpi:{kpi.id}", *(f"kpi:{name}" for name in names)])
    for initiative in model.initiatives:
        members = [f"kr:{kr}" for kr in initiative.supports]
        members += [f"kpi:{k}" for k in (initiative.cost, initiative.capacity) if k is not None]
        groups.join(members)
    for dependency in model.dependencies:
        members = [f"kr:{kr}" for kr in dependency.blocks]
        members += [f"kpi:{dependency.kpi}"] if dependency.kpi is not None else []
        groups.join(members)
    return {name: groups.find(name) for name in list(groups.parent)}


def touched(model_components: dict[str, str], metrics: Collection[str]) -> set[str]:
    """Return the components whose subjects read any of ``metrics`` (unknown metrics touch none)."""
    return {model_components[f"metric:{m}"] for m in metrics if f"metric:{m}" in model_components}


def sub_model(model: Model, model_components: dict[str, str], wanted: Collection[str]) -> Model:
    """Return the model restricted to the components in ``wanted``, items kept in their order."""

    def inside(name: str) -> bool:
        return model_components.get(name) in wanted

    return dataclasses.replace(
        model,
        objectives=tuple(o for o in model.objectives if inside(f"objective:{o.id}")),
        kpis=tuple(k for k in model.kpis if inside(f"kpi:{k.id}")),
        initiatives=tuple(
            i
            for i in model.initiatives
            if any(inside(f"kr:{kr}") for kr in i.supports)
            or any(inside(f"kpi:{k}") for k in (i.cost, i.capacity) if k is not None)
        ),
        dependencies=tuple(
            d
            for d in model.dependencies
            if any(inside(f"kr:{kr}") for kr in d.blocks) or (d.kpi is not None and inside(f"kpi:{d.kpi}"))
        ),
    )


def subjects_of(model: Model) -> set[str]:
    """Return the ids of every KPI, KR and objective of ``model``."""
    found = {k.id for k in model.kpis} | {o.id for o in model.objectives}
    return found | {kr.id for o in model.objectives for kr in o.key_results}


def evaluate_changed(
    model: Model,
    model_components: dict[str, str],
    kept: Evaluation,
    metrics: Collection[str],
    *,
    points: pl.DataFrame,
    plan_versions: Mapping[str, Sequence[PlanVersion]] | None,
    closed: Collection[str] = (),
) -> Evaluation:
    """Return ``kept`` (the evaluation of ``model``) with the components reading ``metrics`` evaluated again.

    ``points`` are all the points (as for :func:`evaluate_model`); only those of the components
    evaluated again are used. A model with objectives of ended cycles still open (judged as of
    their cycle's end) is evaluated whole.
    """
    as_of = kept.as_of
    if open_past_cycles(model, as_of, closed):
        return evaluate_model(model, points, as_of, plan_versions, closed)
    wanted = touched(model_components, metrics)
    if not wanted:
        return kept
    part_model = sub_model(model, model_components, wanted)
    readers = {
        name.split(":", 1)[1]
        for name, group in model_components.items()
        if group in wanted and name.startswith("metric:")
    }
    part_points = points.filter(pl.col("metric").is_in(sorted(readers)))
    part = evaluate_model(part_model, part_points, as_of, plan_versions, closed)
    return merged(kept, part, part_model)


def merged(kept: Evaluation, part: Evaluation, part_model: Model) -> Evaluation:
    """Return ``kept`` with the rows and results of ``part_model``'s subjects taken from ``part``."""
    subjects = subjects_of(part_model)
    names = sorted(subjects)
    initiatives = sorted(i.id for i in part_model.initiatives)

    def others(frame: pl.DataFrame, column: str) -> pl.DataFrame:
        return frame.filter(~pl.col(column).is_in(names))

    results = {**kept.results, **part.results}
    noise = {**{k: v for k, v in kept.noise.items() if k not in subjects}, **part.noise}
    leadlag = pl.concat([others(kept.leadlag, "kpi"), part.leadlag], how="vertical_relaxed")

    def chart_rows(wanted: Collection[str] | None) -> pl.DataFrame:
        outside = None if wanted is None else [w for w in wanted if w not in subjects]
        inside = None if wanted is None else [w for w in wanted if w in subjects]
        frames = [others(kept.chart_rows(outside), "subject")]
        if inside is None or inside:
            frames.append(part.chart_rows(inside))
        return pl.concat(frames, how="vertical_relaxed")

    return dataclasses.replace(
        kept,
        subjects=pl.concat([others(kept.subjects, "subject"), part.subjects], how="vertical_relaxed"),
        threats=pl.concat([others(kept.threats, "kr"), part.threats], how="vertical_relaxed"),
        impact=pl.concat([others(kept.impact, "kpi"), part.impact], how="vertical_relaxed"),
        resources=pl.concat(
            [kept.resources.filter(~pl.col("initiative").is_in(initiatives)), part.resources],
            how="vertical_relaxed",
        ),
        results=results,
        chart_rows=chart_rows,
        leadlag_rows=lambda: leadlag,
        noise=noise,
    )
