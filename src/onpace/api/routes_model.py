"""REST doors onto the model: units, people, objectives, key results, KPIs, dependencies.

Everyone signed in reads; admins and editors create (POST) and replace (PUT) one object at a
time through :mod:`onpace.services.model_edit`, which checks the whole model as a load would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Protocol, TypeVar

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from onpace.api import model_bodies as mb
from onpace.api import schemas as s
from onpace.api.deps import Context, ReadContext, WriteContext
from onpace.api.errors import ApiError, forbidden, not_found
from onpace.api.responses import DocumentedRoute
from onpace.domain.model import Model
from onpace.services import model_edit
from onpace.services.auth import may_edit_model

router = APIRouter(prefix="/api/v1", tags=["model"], route_class=DocumentedRoute)

DEFAULT_PAGE = 100
MAX_PAGE = 1000


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_T = TypeVar("_T", bound=_HasId)


def _one(items: Sequence[_T], item_id: str, what: str) -> _T:
    found = next((i for i in items if i.id == item_id), None)
    if found is None:
        raise not_found(f"there is no {what} {item_id!r}")
    return found


def _save(context: Context, edit: Callable[[Model], Model]) -> s.SaveOut:
    if not may_edit_model(context.who):
        raise forbidden("only editors and admins change the model")
    report = model_edit.save_edit(
        context.session, context.org_id, edit(context.model), by=context.who.email, now=context.now
    )
    context.commit()
    return s.SaveOut(
        changed=report.changed, summary=report.summary() if report.changed else "nothing changed"
    )


def _check_new(items: Sequence[_HasId], item_id: str, what: str) -> None:
    if any(i.id == item_id for i in items):
        raise ApiError(409, f"there is already a {what} {item_id!r}; use PUT to change it", "body.id")


def _check_path(path_id: str, body_id: str) -> None:
    if path_id != body_id:
        raise ApiError(400, f"the body's id {body_id!r} differs from the address's {path_id!r}", "body.id")


@router.get("/units")
def list_units(context: ReadContext) -> list[s.UnitBody]:
    """List the units."""
    return [mb.unit_body(u) for u in context.model.units]


@router.get("/units/{unit_id}")
def get_unit(unit_id: str, context: ReadContext) -> s.UnitBody:
    """Return one unit."""
    return mb.unit_body(_one(context.model.units, unit_id, "unit"))


@router.post("/units", status_code=201)
def create_unit(body: s.UnitBody, context: WriteContext) -> s.SaveOut:
    """Add a unit (editors)."""
    _check_new(context.model.units, body.id, "unit")
    return _save(context, lambda m: model_edit.with_unit(m, mb.unit_value(body)))


@router.put("/units/{unit_id}")
def put_unit(unit_id: str, body: s.UnitBody, context: WriteContext) -> s.SaveOut:
    """Replace a unit (editors)."""
    _check_path(unit_id, body.id)
    _one(context.model.units, unit_id, "unit")
    return _save(context, lambda m: model_edit.with_unit(m, mb.unit_value(body)))


@router.get("/people")
def list_people(context: ReadContext) -> list[s.PersonBody]:
    """List the people."""
    return [mb.person_body(p) for p in context.model.people]


@router.get("/people/{person_id}")
def get_person(person_id: str, context: ReadContext) -> s.PersonBody:
    """Return one person."""
    return mb.person_body(_one(context.model.people, person_id, "person"))


@router.post("/people", status_code=201)
def create_person(body: s.PersonBody, context: WriteContext) -> s.SaveOut:
    """Add a person (editors)."""
    _check_new(context.model.people, body.id, "person")
    return _save(context, lambda m: model_edit.with_person(m, mb.person_value(body)))


@router.put("/people/{person_id}")
def put_person(person_id: str, body: s.PersonBody, context: WriteContext) -> s.SaveOut:
    """Replace a person (editors)."""
    _check_path(person_id, body.id)
    _one(context.model.people, person_id, "person")
    return _save(context, lambda m: model_edit.with_person(m, mb.person_value(body)))


@router.get("/objectives")
def list_objectives(context: ReadContext) -> list[s.ObjectiveBody]:
    """List the objectives."""
    return [mb.objective_body(o) for o in context.model.objectives]


@router.get("/objectives/{objective_id}")
def get_objective(objective_id: str, context: ReadContext) -> s.ObjectiveBody:
    """Return one objective."""
    return mb.objective_body(_one(context.model.objectives, objective_id, "objective"))


@router.post("/objectives", status_code=201)
def create_objective(body: s.ObjectiveBody, context: WriteContext) -> s.SaveOut:
    """Add an objective (editors)."""
    _check_new(context.model.objectives, body.id, "objective")
    return _save(context, lambda m: model_edit.with_objective(m, mb.objective_value(body)))


@router.put("/objectives/{objective_id}")
def put_objective(objective_id: str, body: s.ObjectiveBody, context: WriteContext) -> s.SaveOut:
    """Replace an objective, keeping its key results (editors)."""
    _check_path(objective_id, body.id)
    _one(context.model.objectives, objective_id, "objective")
    return _save(context, lambda m: model_edit.with_objective(m, mb.objective_value(body)))


@router.get("/krs")
def list_krs(context: ReadContext) -> list[s.KeyResultBody]:
    """List the key results."""
    return [mb.kr_body(kr) for kr in context.model.key_results]


@router.get("/krs/{kr_id}")
def get_kr(kr_id: str, context: ReadContext) -> s.KeyResultBody:
    """Return one key result."""
    return mb.kr_body(_one(context.model.key_results, kr_id, "key result"))


@router.post("/krs", status_code=201)
def create_kr(body: s.KeyResultBody, context: WriteContext) -> s.SaveOut:
    """Add a key result to its objective (editors)."""
    _check_new(context.model.key_results, body.id, "key result")
    return _save(context, lambda m: model_edit.with_key_result(m, mb.kr_value(body)))


@router.put("/krs/{kr_id}")
def put_kr(kr_id: str, body: s.KeyResultBody, context: WriteContext) -> s.SaveOut:
    """Replace a key result (editors)."""
    _check_path(kr_id, body.id)
    _one(context.model.key_results, kr_id, "key result")
    return _save(context, lambda m: model_edit.with_key_result(m, mb.kr_value(body)))


@router.get("/kpis", response_model=list[s.KpiBody])
async def list_kpis(
    context: ReadContext,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="how many KPIs, at most")] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="how many to skip")] = 0,
) -> Response:
    """List the KPIs with their feeds (links to key results), ``limit`` at a time.

    The ``X-Total-Count`` header gives the number of KPIs, for paging with ``offset``.
    """

    def build() -> tuple[bytes, int]:
        kpis = context.model.kpis
        return _KPI_LIST.dump_json([mb.kpi_body(k) for k in kpis[offset : offset + limit]]), len(kpis)

    # The page is the same for every reader until the model changes: serialise it once.
    body, total = await context.view(("kpis", limit, offset), build, evaluations=False)
    return Response(content=body, media_type="application/json", headers={"X-Total-Count": str(total)})


_KPI_LIST: TypeAdapter[list[s.KpiBody]] = TypeAdapter(list[s.KpiBody])


@router.get("/kpis/{kpi_id}")
def get_kpi(kpi_id: str, context: ReadContext) -> s.KpiBody:
    """Return one KPI."""
    return mb.kpi_body(_one(context.model.kpis, kpi_id, "KPI"))


@router.post("/kpis", status_code=201)
def create_kpi(body: s.KpiBody, context: WriteContext) -> s.SaveOut:
    """Add a KPI (editors)."""
    _check_new(context.model.kpis, body.id, "KPI")
    return _save(context, lambda m: model_edit.with_kpi(m, mb.kpi_value(body)))


@router.put("/kpis/{kpi_id}")
def put_kpi(kpi_id: str, body: s.KpiBody, context: WriteContext) -> s.SaveOut:
    """Replace a KPI, its feeds included (editors)."""
    _check_path(kpi_id, body.id)
    _one(context.model.kpis, kpi_id, "KPI")
    return _save(context, lambda m: model_edit.with_kpi(m, mb.kpi_value(body)))


@router.get("/dependencies")
def list_dependencies(context: ReadContext) -> list[s.DependencyBody]:
    """List the cross-team dependencies (hand-offs)."""
    return [mb.dependency_body(d) for d in context.model.dependencies]


@router.get("/dependencies/{dependency_id}")
def get_dependency(dependency_id: str, context: ReadContext) -> s.DependencyBody:
    """Return one dependency."""
    return mb.dependency_body(_one(context.model.dependencies, dependency_id, "dependency"))


@router.post("/dependencies", status_code=201)
def create_dependency(body: s.DependencyBody, context: WriteContext) -> s.SaveOut:
    """Add a dependency (editors)."""
    _check_new(context.model.dependencies, body.id, "dependency")
    return _save(context, lambda m: model_edit.with_dependency(m, mb.dependency_value(body)))


@router.put("/dependencies/{dependency_id}")
def put_dependency(dependency_id: str, body: s.DependencyBody, context: WriteContext) -> s.SaveOut:
    """Replace a dependency, e.g. to record its delivery (editors)."""
    _check_path(dependency_id, body.id)
    _one(context.model.dependencies, dependency_id, "dependency")
    return _save(context, lambda m: model_edit.with_dependency(m, mb.dependency_value(body)))
