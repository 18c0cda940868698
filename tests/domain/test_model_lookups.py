"""The model answers "what is this called" and "who is this" by id, from indexes built once."""

from __future__ import annotations

import dataclasses

from onpace.domain.model import Initiative, KeyResult, Kpi, Model, Objective, Person, Unit


def a_model() -> Model:
    return Model(
        org="Lookups",
        units=(Unit(id="ops", name="Operations", head="olga"),),
        people=(Person(id="olga", name="Olga Berg", email="olga@example.com", unit="ops"),),
        objectives=(
            Objective(
                id="O1",
                title="Deliver",
                cycle="q1",
                unit="ops",
                owner="olga",
                key_results=(KeyResult(id="KR1", title="On time", objective="O1", owner="olga"),),
            ),
        ),
        kpis=(
            Kpi(id="otd", title="On-time delivery", unit="ops", owners=("olga",)),
            Kpi(id="raw", title="", unit="ops", owners=("olga",)),
        ),
        initiatives=(Initiative(id="I1", title="New carrier", owner="olga", unit="ops"),),
    )


def test_every_kind_of_subject_is_named_by_its_title_and_an_untitled_one_by_its_id() -> None:
    model = a_model()
    assert [model.title(s) for s in ("O1", "KR1", "otd", "I1")] == [
        "Deliver",
        "On time",
        "On-time delivery",
        "New carrier",
    ]
    assert model.title("raw") == "raw"
    assert model.title("nobody-knows") == "nobody-knows"


def name_of(model: Model, person: str) -> str | None:
    found = model.person(person)
    return None if found is None else found.name


def test_people_and_units_are_found_by_id_and_a_changed_model_is_indexed_afresh() -> None:
    model = a_model()
    assert name_of(model, "olga") == "Olga Berg"
    unit = model.unit("ops")
    assert unit is not None
    assert unit.name == "Operations"
    assert model.person(None) is None
    assert model.unit("sales") is None
    renamed = dataclasses.replace(
        model, people=(Person(id="olga", name="Olga Berg-Lind", email="olga@example.com", unit="ops"),)
    )
    assert name_of(renamed, "olga") == "Olga Berg-Lind"
    assert name_of(model, "olga") == "Olga Berg"
