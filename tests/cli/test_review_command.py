"""``onpace review`` as a user meets it: the pack in Markdown, HTML and PDF, kept for next week, plain errors."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onpace.cli import app
from onpace.config import get_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "onpace.yaml"

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ONPACE_BASE_URL", "https://onpace.greenway.example")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def evaluated(store: Path) -> Path:
    """The demo organisation with its actuals, evaluated as of the last two weeks of May."""
    assert runner.invoke(app, ["load", str(EXAMPLE)]).exit_code == 0
    # A historical load, judged below as of past dates: not as of today.
    assert (
        runner.invoke(app, ["ingest", str(ROOT / "examples" / "actuals.csv"), "--no-evaluate"]).exit_code == 0
    )
    for day in ("2026-05-24", "2026-05-31"):
        result = runner.invoke(app, ["evaluate", "--as-of", day, "--json"])
        assert result.exit_code == 0, result.output
    return store


def test_the_markdown_pack_is_written_to_a_file_and_names_this_weeks_breaches(evaluated: Path) -> None:
    result = runner.invoke(app, ["review", "--format", "md", "-o", "pack.md"])
    assert result.exit_code == 0, result.output
    assert "wrote pack.md — review pack #1 as of 2026-05-31" in result.stderr
    text = (evaluated / "pack.md").read_text(encoding="utf-8")
    assert text.startswith("# Weekly review: Greenway Markets\n")
    breaches = text[text.index("## 1. New breaches") : text.index("## 2. ")]
    assert "(`substitution_rate`)" in breaches
    assert "(`fulfilment_spend`)" in breaches
    assert "](https://onpace.greenway.example/cases/" in breaches


def test_the_next_weeks_pack_says_what_changed_since_the_stored_one(evaluated: Path) -> None:
    assert runner.invoke(app, ["review", "-o", "first.md"]).exit_code == 0
    assert runner.invoke(app, ["evaluate", "--as-of", "2026-06-07", "--json"]).exit_code == 0
    result = runner.invoke(app, ["review", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert "## What changed since 31 May 2026" in result.stdout
    # No longer a new breach, its case is still open: it stays in the pack, under its case, not gone.
    assert "**Gone** in New breaches: Online items substituted" not in result.stdout
    assert "### Online items substituted or missing (%) (`substitution_rate`)" in result.stdout
    # The overspent pilot's case went a rung up the ladder: the change says from what to what.
    assert re.search(
        r"- \*\*Changed\*\* in [^\n]*Micro-fulfilment pilot spend \(EUR\) \(worse\) — red → red; [^\n]*level 2",
        result.stdout,
    )
    assert "review pack #2 as of 2026-06-07" in result.stderr


def test_a_unit_pack_as_of_an_earlier_date_keeps_to_the_unit(evaluated: Path) -> None:
    result = runner.invoke(app, ["review", "--unit", "supply", "--as-of", "2026-05-31"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Weekly review: Greenway Markets — Supply chain\n")
    breaches = result.stdout[result.stdout.index("## 1. New breaches") : result.stdout.index("## 2. ")]
    assert "(`substitution_rate`)" in breaches
    assert "fulfilment_spend" not in breaches  # the online shop's


def test_the_html_and_pdf_packs_are_written_and_the_pdf_renders_to_pages(evaluated: Path) -> None:
    html = runner.invoke(app, ["review", "--format", "html", "-o", "pack.html"])
    assert html.exit_code == 0, html.output
    page = (evaluated / "pack.html").read_text(encoding="utf-8")
    assert "<html" in page
    assert "substitution_rate" in page
    pdf = runner.invoke(app, ["review", "--format", "pdf", "-o", "pack.pdf"])
    assert pdf.exit_code == 0, pdf.output
    assert (evaluated / "pack.pdf").read_bytes().startswith(b"%PDF")
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(evaluated / "pack.pdf"), str(evaluated / "page")],
        check=True,
        capture_output=True,
    )
    assert sorted(evaluated.glob("page*.png"))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--unit", "sales"], 1, "there is no unit 'sales' in Greenway Markets"),
        (["--format", "docx"], 2, "--format must be one of md, html, pdf, not 'docx'"),
        (["--format", "pdf"], 2, "a PDF pack needs a file: add -o FILE.pdf"),
        (["-o", "no/such/folder/pack.md"], 1, "cannot write no/such/folder/pack.md"),
        (["--as-of", "2026-13-01"], 2, "--as-of"),
    ],
)
def test_bad_use_is_one_plain_line_and_stores_nothing(
    evaluated: Path, args: list[str], code: int, message: str
) -> None:
    result = runner.invoke(app, ["review", *args])
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output
    after = runner.invoke(app, ["review"])
    assert "review pack #1 " in after.stderr  # the failed run kept no pack


def test_a_store_never_evaluated_says_to_evaluate_first(store: Path) -> None:
    assert runner.invoke(app, ["load", str(EXAMPLE)]).exit_code == 0
    result = runner.invoke(app, ["review"])
    assert result.exit_code == 1
    assert "nothing has been evaluated yet" in result.stderr
