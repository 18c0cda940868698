"""Model files that would take the reader down are refused quickly, with the line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from onpace.cli import app
from onpace.modelfile import ModelFileError, parse_model_text
from onpace.modelfile.limits import MAX_CHARS

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "onpace.yaml"


def alias_bomb() -> str:
    lines = ["org: Acme", "sources:", "  - id: a", "    kind: http", '    url: "https://x.example"']
    lines.append('    lol0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    lines += [f"    lol{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(text, "m.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_billion_laughs_alias_bomb_is_refused_at_its_line() -> None:
    # Refused by counting before anything is built: the old reader expanded it for minutes.
    problems = problems_of(alias_bomb())
    assert problems == [
        "m.yaml:11: aliases here expand the file to more than 500,000 values (an alias bomb?); "
        "a model file needs far fewer"
    ]


def test_twenty_thousand_levels_of_nesting_are_refused_without_a_recursion_error() -> None:
    problems = problems_of("org: Acme\nx: " + "[" * 20_000 + "]" * 20_000 + "\n")
    assert problems == [
        "m.yaml:2: values are nested more than 40 levels deep here; a model file needs far fewer"
    ]


def test_a_file_beyond_the_size_limit_is_refused_before_parsing() -> None:
    problems = problems_of("org: Acme\n#" + "x" * MAX_CHARS + "\n")
    assert problems[0].startswith("m.yaml:1: the file has ")


@pytest.mark.parametrize(
    ("written", "reason"),
    [("2026-13-45", "month must be in 1..12"), ("2026-02-30", "day is out of range for month")],
)
def test_an_unquoted_impossible_date_is_a_problem_at_its_line(written: str, reason: str) -> None:
    text = f"org: Acme\ncycles:\n  - {{id: Q1, start: 2026-01-05, end: {written}}}\n"
    assert problems_of(text) == [f"m.yaml:3: `{written}` is not a real date or time ({reason})"]


def test_an_impossible_date_in_a_source_option_or_plan_point_is_found_too() -> None:
    text = (
        "org: Acme\nsources:\n  - {id: api, kind: http, url: 'https://x.example', since_default: 2026-02-30}\n"
        "kpis:\n  - id: k\n    plan: {points: {2026-13-01: 5}}\n"
    )
    problems = problems_of(text)
    assert problems[:2] == [
        "m.yaml:3: `2026-02-30` is not a real date or time (day is out of range for month)",
        "m.yaml:6: `2026-13-01` is not a real date or time (month must be in 1..12)",
    ]


def test_an_unknown_source_kind_is_a_problem_with_a_suggestion() -> None:
    problems = problems_of("org: Acme\nsources:\n  - {id: api, kind: htttp, url: 'https://x.example'}\n")
    assert problems == [
        "m.yaml:3: unknown source kind `htttp` (known: csv, excel, http, push, sql); did you mean `http`?"
    ]


def test_an_unknown_source_option_is_a_problem_at_its_line() -> None:
    text = "org: Acme\nsources:\n  - id: api\n    kind: http\n    url: 'https://x.example'\n    pagination: {style: cursor}\n"
    [problem] = problems_of(text)
    assert problem.startswith(
        "m.yaml:6: unknown option `pagination` for a source of kind http (it reads: url, "
    )
    assert problem.endswith("did you mean `paginate`?")


def test_a_push_source_takes_no_options() -> None:
    [problem] = problems_of("org: Acme\nsources:\n  - {id: app, kind: push, url: 'https://x.example'}\n")
    assert "unknown option `url` for a source of kind push (it reads: none)" in problem


def test_an_email_field_holding_two_addresses_is_refused() -> None:
    text = "org: Acme\npeople:\n  - {id: ana, name: Ana, email: 'ana@acme.example,eve@evil.example'}\n"
    [problem] = problems_of(text)
    assert problem.startswith("m.yaml:3: email `ana@acme.example,eve@evil.example` is not one address")


@pytest.mark.parametrize("command", ["validate", "load"])
def test_validate_and_load_say_where_and_exit_one_without_a_traceback(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onpace.config import get_settings

    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'm.db'}")
    get_settings.cache_clear()
    for name, text in {
        "bomb.yaml": alias_bomb(),
        "deep.yaml": "org: Acme\nx: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n",
        "dates.yaml": "org: Acme\ncycles:\n  - {id: Q1, start: 2026-13-45, end: 2026-02-30}\n",
    }.items():
        path = tmp_path / name
        path.write_text(text)
        result = runner.invoke(app, [command, str(path)])
        assert result.exit_code == 1, (name, result.output)
        assert f"{path}:" in result.stderr
        assert "Traceback" not in result.output
    get_settings.cache_clear()


def test_the_example_model_still_validates() -> None:
    assert runner.invoke(app, ["validate", str(EXAMPLE)]).exit_code == 0
