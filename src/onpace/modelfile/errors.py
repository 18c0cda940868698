"""Problems found in a model file, each pinned to a file and line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a model file: where it is and a plain sentence saying what is wrong."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ModelFileError(ValueError):
    """Raise when a model file has problems; ``problems`` lists every one, sorted by line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = sort_problems(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Return the problems ordered by file and line, keeping the order of those on one line."""
    return sorted(problems, key=lambda p: (p.file, p.line))
