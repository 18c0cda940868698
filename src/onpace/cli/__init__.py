"""The ``onpace`` command line: a thin door onto the services.

The root app and what every command shares live in :mod:`onpace.cli.app`; the commands are
grouped by what they are for (set-up and model, data and evaluation, the weekly loop,
accounts and audit, running servers, cycles). Importing this package registers them all.
"""

from __future__ import annotations

# The commands register in the order `onpace --help` lists them: set-up first, running last.
# isort: off
from onpace.cli import (
    model_commands,
    data_commands,
    actuals_commands,
    case_commands,
    account_commands,
    run_commands,
)

# isort: on
from onpace.cli.app import app, err, fail, now, org_session, out, today, user_errors
from onpace.cli.cycles import cycle_app

app.add_typer(cycle_app, name="cycle")

__all__ = [
    "account_commands",
    "actuals_commands",
    "app",
    "case_commands",
    "data_commands",
    "err",
    "fail",
    "main",
    "model_commands",
    "now",
    "org_session",
    "out",
    "run_commands",
    "today",
    "user_errors",
]


def main() -> None:
    """Run the CLI; the console script entry point."""
    app()
