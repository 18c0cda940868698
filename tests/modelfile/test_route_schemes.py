"""Notification routes are checked against the installed Apprise when the model is read."""

from __future__ import annotations

import pytest

from onpace.modelfile import ModelFileError, parse_model_text
from onpace.notifiers.schemes import apprise_schemes, route_url_problem

MODEL = """org: Tiny
units: [{id: ops, name: Operations, head: maria}]
people: [{id: maria, name: Maria Chen, unit: ops}]
cycles: [{id: Q1, start: 2026-01-05, end: 2026-03-29}]
notify:
  - {id: ops-teams, url: "ROUTE", units: [ops], events: [case_opened]}
"""


def model_with(url: str) -> str:
    return MODEL.replace("ROUTE", url)


def test_a_teams_route_through_msteams_is_a_problem_on_its_line_that_names_workflows() -> None:
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(model_with("msteams://tokenA/tokenB/tokenC"), "m.yaml")
    [problem] = caught.value.problems
    assert problem.line == 6
    assert "`msteams://`" in problem.message
    assert "workflows://" in problem.message
    assert str(problem).startswith("m.yaml:6")


def test_a_made_up_scheme_is_a_problem_too() -> None:
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(model_with("carrierpigeon://loft/7"), "m.yaml")
    assert "does not know `carrierpigeon://`" in caught.value.problems[0].message


@pytest.mark.parametrize(
    "url",
    [
        "workflows://prod-00.westus.logic.azure.com:443/abc123/?signature=xyz",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
        "mailtos://user:pass@mail.example.com?to=ops@example.com",
        "https://hooks.example.com/onpace",
        "env:OPS_TEAMS_URL",
    ],
)
def test_routes_the_installed_apprise_knows_webhooks_and_env_references_are_accepted(url: str) -> None:
    model = parse_model_text(model_with(url), "m.yaml")
    assert model.notify[0].url == url


def test_the_installed_apprise_knows_workflows_and_no_longer_msteams() -> None:
    assert "workflows" in apprise_schemes()
    assert "msteams" not in apprise_schemes()
    assert route_url_problem("no scheme here") is not None
