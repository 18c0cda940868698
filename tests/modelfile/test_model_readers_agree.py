"""libyaml (the fast reader) and PyYAML's own reader give the same model and the same problems."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from modelfile_samples import BROKEN, VALID_FILES

from onpace.modelfile import yamltree
from onpace.modelfile.errors import ModelFileError
from onpace.modelfile.load import parse_model_text

pytestmark = pytest.mark.skipif(yamltree.LOADER is yaml.SafeLoader, reason="PyYAML built without libyaml")

TRICKY = """\
org: Acme
units: [{id: sales, name: Sales, head: ann}]
people: [{id: ann, name: Ann, email: ann@acme.example, unit: sales}]
cycles: [{id: q1, start: 2026-01-01, end: 2026-03-31}]
objectives:
  - id: O1
    title: 'Grow: quoted'
    cycle: q1
    key_results: [{id: KR1, title: 10,000 users, owner: ann}]
kpis:
  - &kpi {id: signups, title: Sign ups, unit: sales, owner: ann, grain: week, measure: flow,
      aggregate: sum, plan: {per_bucket: 10}, feeds: [{kr: KR1, weight: 1}]}
  - <<: *kpi
    id: churn
    title: "Churn, monthly"
    plan: {per_bucket: 2.5}
"""


def _read(text: str, loader: type[yaml.SafeLoader], monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setattr(yamltree, "LOADER", loader)
    try:
        return parse_model_text(text, "m.yaml")
    except ModelFileError as exc:
        return [str(problem) for problem in exc.problems]


@pytest.mark.parametrize("path", [*VALID_FILES, BROKEN], ids=lambda p: Path(p).name)
def test_both_readers_read_each_sample_file_alike(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_text(encoding="utf-8")
    fast = _read(text, yamltree.LOADER, monkeypatch)
    assert fast == _read(text, yaml.SafeLoader, monkeypatch)


def test_both_readers_agree_on_merges_quotes_and_comma_continuations(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _read(TRICKY, yamltree.LOADER, monkeypatch)
    assert not isinstance(fast, list), fast
    assert fast == _read(TRICKY, yaml.SafeLoader, monkeypatch)
    assert fast.key_results[0].title == "10,000 users"  # type: ignore[attr-defined]


def test_a_syntax_error_is_worded_by_pyyaml_with_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "org: Acme\nunits:\n  - {id: a, name: [unclosed\n"
    assert _read(text, yamltree.LOADER, monkeypatch) == _read(text, yaml.SafeLoader, monkeypatch)
