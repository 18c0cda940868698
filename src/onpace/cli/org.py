"""Name the organisation a command works on: ``--org NAME`` anywhere on the line, or ``ONPACE_ORG``.

A store may hold several organisations. Every command that reads or changes one organisation
takes the one named here; when none is named and the store holds one, that one is used; when it
holds several, the command stops and lists them. ``--org`` is taken out of the arguments before
the commands see them, so it may stand before or after the command's name
(``onpace --org acme evaluate`` and ``onpace evaluate --org acme`` are the same).
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from typing import Any

from typer import BadParameter
from typer.core import TyperGroup

ENV_VARIABLE = "ONPACE_ORG"
OPTION = "--org"
# Set when the command line is parsed: one command line per process, or per test invocation.
_named: ContextVar[str | None] = ContextVar("onpace_org", default=None)


class OrgAwareGroup(TyperGroup):
    """The root command group: takes ``--org NAME`` (or ``--org=NAME``) wherever it stands."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Remove ``--org`` from the arguments and remember its value for the command."""
        rest, org = take_org(args)
        _named.set(org)
        result: list[str] = super().parse_args(ctx, rest)
        return result


def take_org(args: list[str]) -> tuple[list[str], str | None]:
    """Return the arguments without ``--org`` and the last value given (None when absent).

    Arguments after ``--`` are left alone. Raise :class:`typer.BadParameter` (a usage error) for ``--org`` without a value.
    """
    rest: list[str] = []
    org: str | None = None
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg == OPTION:
            if index + 1 >= len(args) or args[index + 1].startswith("-"):
                raise BadParameter("--org needs the organisation's name")
            org = args[index + 1]
            index += 2
            continue
        if arg.startswith(OPTION + "="):
            org = arg.split("=", 1)[1]
            index += 1
            continue
        rest.append(arg)
        index += 1
    if org is not None and not org.strip():
        raise BadParameter("--org needs the organisation's name")
    return rest, org


def current_org() -> str | None:
    """Return the organisation named for this command (``--org``, else ``ONPACE_ORG``), or None."""
    return _named.get() or os.environ.get(ENV_VARIABLE) or None


def name_one(message: str) -> str:
    """Return a store message about several organisations with how to name one."""
    return f"{message} with --org NAME or ONPACE_ORG=NAME"
