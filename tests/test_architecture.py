"""Keep the pure core pure: ``onpace.domain`` imports no IO library and never reads the clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[1] / "src" / "onpace" / "domain"
IO_LIBRARIES = {
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "httpx",
    "httpx2",
    "requests",
    "urllib",
    "apprise",
    "psycopg",
    "sqlite3",
    "socket",
    "subprocess",
    "onpace.storage",
    "onpace.services",
    "onpace.api",
    "onpace.web",
    "onpace.connectors",
    "onpace.notifiers",
    "onpace.config",
}
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("datetime", "today"),
    ("time", "time"),
}


def domain_modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def imported_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def clock_reads(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (owner_name, node.func.attr) in CLOCK_CALLS:
                lines.append(node.lineno)
    return lines


def test_the_domain_package_has_modules_to_check() -> None:
    assert len(domain_modules()) >= 3


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.name)
def test_a_domain_module_imports_no_io_library(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = {
        name
        for name in imported_names(tree)
        if any(name == lib or name.startswith(lib + ".") for lib in IO_LIBRARIES)
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.name)
def test_a_domain_module_never_reads_the_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert clock_reads(tree) == [], f"{path.name} reads the clock on lines {clock_reads(tree)}"


def test_the_checker_catches_an_io_import_and_a_clock_read() -> None:
    tree = ast.parse("import sqlalchemy\nfrom datetime import datetime\nx = datetime.now()\n")
    assert "sqlalchemy" in imported_names(tree)
    assert clock_reads(tree) == [3]
