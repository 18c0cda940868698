"""Convert the model's values to and from the REST API's bodies (see :mod:`onpace.api.schemas`)."""

from __future__ import annotations

from onpace.api.schemas import (
    DependencyBody,
    FeedBody,
    KeyResultBody,
    KpiBody,
    ObjectiveBody,
    PersonBody,
    PlanBody,
    PlanPoint,
    SideBody,
    ThresholdBody,
    ToleranceBody,
    UnitBody,
)
from onpace.domain import model as m


def _threshold(body: ThresholdBody) -> m.Threshold:
    return m.Threshold(body.value, body.relative)


def tolerance_value(body: ToleranceBody | None) -> m.Tolerance | None:
    """Return the model value of a tolerance body."""
    return None if body is None else m.Tolerance(_threshold(body.amber), _threshold(body.red))


def plan_value(body: PlanBody | None) -> m.Plan | None:
    """Return the model value of a plan body."""
    if body is None:
        return None
    return m.Plan(
        baseline=body.baseline,
        target=body.target,
        phasing=body.phasing,
        points=tuple((p.date, p.value) for p in body.points),
        per_bucket=body.per_bucket,
        band=body.band,
        seasonal_from=body.seasonal_from,
        growth=body.growth,
    )


def tolerance_body(value: m.Tolerance | None) -> ToleranceBody | None:
    """Return the body of a tolerance."""
    if value is None:
        return None
    return ToleranceBody(
        amber=ThresholdBody(value=value.amber.value, relative=value.amber.relative),
        red=ThresholdBody(value=value.red.value, relative=value.red.relative),
    )


def plan_body(value: m.Plan | None) -> PlanBody | None:
    """Return the body of a plan."""
    if value is None:
        return None
    return PlanBody(
        baseline=value.baseline,
        target=value.target,
        phasing=value.phasing,
        points=[PlanPoint(date=d, value=v) for d, v in value.points],
        per_bucket=value.per_bucket,
        band=value.band,
        seasonal_from=value.seasonal_from,
        growth=value.growth,
    )


def unit_value(body: UnitBody) -> m.Unit:
    """Return the model unit of a body."""
    return m.Unit(id=body.id, name=body.name, parent=body.parent, head=body.head)


def person_value(body: PersonBody) -> m.Person:
    """Return the model person of a body."""
    return m.Person(id=body.id, name=body.name, email=body.email, unit=body.unit)


def objective_value(body: ObjectiveBody) -> m.Objective:
    """Return the model objective of a body (without key results)."""
    return m.Objective(
        id=body.id,
        title=body.title,
        cycle=body.cycle,
        unit=body.unit,
        owner=body.owner,
        perspective=body.perspective,
    )


def kr_value(body: KeyResultBody) -> m.KeyResult:
    """Return the model key result of a body."""
    return m.KeyResult(
        id=body.id,
        title=body.title,
        objective=body.objective,
        owner=body.owner,
        weight=body.weight,
        kpi=body.kpi,
        measure=body.measure,
        direction=body.direction,
        grain=body.grain,
        aggregate=body.aggregate,
        tolerance=tolerance_value(body.tolerance),
        plan=plan_value(body.plan),
    )


def kpi_value(body: KpiBody) -> m.Kpi:
    """Return the model KPI of a body."""
    return m.Kpi(
        id=body.id,
        title=body.title,
        unit=body.unit,
        owners=tuple(body.owners),
        measure=body.measure,
        direction=body.direction,
        grain=body.grain,
        aggregate=body.aggregate,
        tolerance=tolerance_value(body.tolerance),
        plan=plan_value(body.plan),
        source=body.source,
        leading=body.leading,
        feeds=tuple(m.Feed(kr=f.kr, weight=f.weight, lag_days=f.lag_days) for f in body.feeds),
        formula=body.formula,
        kind=body.kind,
        constraint=body.constraint,
        cycle=body.cycle,
        uom=body.uom,
    )


def dependency_value(body: DependencyBody) -> m.Dependency:
    """Return the model dependency of a body."""
    return m.Dependency(
        id=body.id,
        title=body.title,
        provider=m.Side(body.provider.unit, body.provider.owner),
        consumer=m.Side(body.consumer.unit, body.consumer.owner),
        due=body.due,
        delivered=body.delivered,
        kpi=body.kpi,
        blocks=tuple(body.blocks),
    )


def unit_body(u: m.Unit) -> UnitBody:
    """Return the body of a unit."""
    return UnitBody.model_construct(id=u.id, name=u.name, parent=u.parent, head=u.head)


def person_body(p: m.Person) -> PersonBody:
    """Return the body of a person."""
    return PersonBody.model_construct(id=p.id, name=p.name, email=p.email, unit=p.unit)


def objective_body(o: m.Objective) -> ObjectiveBody:
    """Return the body of an objective."""
    return ObjectiveBody.model_construct(
        id=o.id, title=o.title, cycle=o.cycle, unit=o.unit, owner=o.owner, perspective=o.perspective
    )


def kr_body(kr: m.KeyResult) -> KeyResultBody:
    """Return the body of a key result."""
    return KeyResultBody.model_construct(
        id=kr.id,
        title=kr.title,
        objective=kr.objective,
        owner=kr.owner,
        weight=kr.weight,
        kpi=kr.kpi,
        measure=kr.measure,
        direction=kr.direction,
        grain=kr.grain,
        aggregate=kr.aggregate,
        tolerance=tolerance_body(kr.tolerance),
        plan=plan_body(kr.plan),
    )


def kpi_body(k: m.Kpi) -> KpiBody:
    """Return the body of a KPI."""
    return KpiBody.model_construct(
        id=k.id,
        title=k.title,
        unit=k.unit,
        owners=list(k.owners),
        measure=k.measure,
        direction=k.direction,
        grain=k.grain,
        aggregate=k.aggregate,
        tolerance=tolerance_body(k.tolerance),
        plan=plan_body(k.plan),
        source=k.source,
        leading=k.leading,
        feeds=[FeedBody.model_construct(kr=f.kr, weight=f.weight, lag_days=f.lag_days) for f in k.feeds],
        formula=k.formula,
        kind=k.kind,
        constraint=k.constraint,
        cycle=k.cycle,
        uom=k.uom,
    )


def dependency_body(d: m.Dependency) -> DependencyBody:
    """Return the body of a dependency."""
    return DependencyBody.model_construct(
        id=d.id,
        title=d.title,
        provider=SideBody.model_construct(unit=d.provider.unit, owner=d.provider.owner),
        consumer=SideBody.model_construct(unit=d.consumer.unit, owner=d.consumer.owner),
        due=d.due,
        delivered=d.delivered,
        kpi=d.kpi,
        blocks=list(d.blocks),
    )
