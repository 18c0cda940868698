"""The pages write a KPI's figures in its unit of measure (``uom``); a unit is never guessed from a title."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from onpace.modelfile.load import load_model_file
from onpace.web.format import figure, subject_unit, subject_units

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "onpace.yaml"


def test_the_unit_is_the_models_uom_and_a_title_naming_another_is_not_read() -> None:
    model = load_model_file(EXAMPLE)
    spend = next(k for k in model.kpis if k.id == "fulfilment_spend")
    renamed = dataclasses.replace(spend, title="Micro-fulfilment pilot spend (EUR)", uom="NOK")
    model = dataclasses.replace(model, kpis=tuple(renamed if k is spend else k for k in model.kpis))
    assert subject_unit(model, "fulfilment_spend") == "NOK"
    unmeasured = dataclasses.replace(renamed, title="Pilot spend (EUR)", uom=None)
    model = dataclasses.replace(model, kpis=tuple(unmeasured if k is renamed else k for k in model.kpis))
    # Without a uom the figures are plain numbers: the title's "(EUR)" is not taken for one.
    assert subject_unit(model, "fulfilment_spend") == ""


def test_a_kr_measured_by_a_kpi_takes_the_kpis_unit() -> None:
    model = load_model_file(EXAMPLE)
    kr = next(k for k in model.key_results if k.id == "KR2")  # "Perfect orders from 91% to 97%"
    kpi = next(k for k in model.kpis if k.id == kr.kpi)
    assert kpi.uom == "%"
    assert subject_units(model)["KR2"] == "%"


def test_figures_read_in_every_unit_of_measure() -> None:
    assert figure(212_400, "EUR") == "EUR 212,400"
    assert figure(212_400, "NOK") == "NOK 212,400"
    assert figure(97.24, "%") == "97.2 %"
    assert figure(3_200, "count") == "3,200"
    assert figure(3.5, "days") == "3.5 days"
    assert figure(1, "days") == "1 day"
    assert figure(None, "EUR") == "–"
