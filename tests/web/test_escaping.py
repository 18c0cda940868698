"""Every user-supplied text reaches HTML escaped: templates autoescape, markup is made in few known places.

A page that shows a text a user wrote (a unit name, a case comment) must show it as text. The
templates escape every value; the only values inserted as markup are those built here from
numbers or already-escaped templates, listed below, so a new ``Markup(...)`` or ``|safe`` fails
this test until someone looks at it. The scripts put no data into HTML but through
``escapeHtml``.
"""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment

from onpace.reports.html import _environment as report_environment
from onpace.web.pages import TEMPLATES

SRC = Path(__file__).resolve().parents[2] / "src" / "onpace"
TEMPLATE_DIRS = [SRC / "web" / "templates", SRC / "reports" / "templates"]
SCRIPTS = sorted((SRC / "web" / "static").glob("*.js"))

# What may be wrapped in Markup: the argument's opening, and why it is safe.
REVIEWED_MARKUP = {
    "_SLOT": "a constant placeholder",
    'TEMPLATES.get_template("scorecard_rows.html").render(': "an autoescaped template's output",
    '""': "empty",
    'f\'<svg class="spark"': "a sparkline drawn from numbers",
    "chart_svg(chart)": "an SVG chart that escapes every text it places",
    "chart_svg(chart, title=title)": "an SVG chart that escapes every text it places, its title too",
    '(TEMPLATES / "pack.css")': "the package's own stylesheet",
    "template.render(": "an autoescaped template's output",
}


def autoescapes(env: Environment, name: str) -> bool:
    setting = env.autoescape
    return bool(setting(name) if callable(setting) else setting)


def test_every_template_escapes_what_it_shows() -> None:
    for folder, env in zip(TEMPLATE_DIRS, [TEMPLATES.env, report_environment()], strict=True):
        names = [path.name for path in folder.iterdir() if path.suffix in (".html", ".svg", ".txt", ".md")]
        assert names
        for name in names:
            assert autoescapes(env, name), name
    assert autoescapes(TEMPLATES.env, "fragment.txt")


def test_no_template_marks_a_value_safe_or_turns_escaping_off() -> None:
    for folder in TEMPLATE_DIRS:
        for path in folder.iterdir():
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\|\s*safe\b", text), path.name
            assert "autoescape false" not in text, path.name


def test_markup_is_made_only_where_it_was_reviewed() -> None:
    found: list[str] = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\bMarkup\(\s*", text):
            rest = text[match.end() :]
            if not any(rest.startswith(opening) for opening in REVIEWED_MARKUP):
                found.append(f"{path.relative_to(SRC)}: Markup({rest[:60]!r}")
    assert found == [], "review these Markup uses and add them to REVIEWED_MARKUP"


def test_the_scripts_put_data_into_html_only_through_escape_html() -> None:
    assert SCRIPTS
    for path in SCRIPTS:
        text = path.read_text(encoding="utf-8")
        for sink in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ):
            assert sink not in text, f"{path.name} uses {sink}"
        # An ECharts formatter's return value is HTML in tooltips: each must go through escapeHtml.
        for formatter in re.findall(r"formatter:\s*function\s*\([^)]*\)\s*\{[^}]*\}", text):
            returned = re.search(r"return\s+([^;]+);", formatter)
            assert returned is not None, formatter
            value = returned.group(1).strip()
            assert value.startswith("escapeHtml(") or re.fullmatch(r"[A-Za-z_]\w*", value), formatter
