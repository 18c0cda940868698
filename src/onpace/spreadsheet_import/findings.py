"""What an import guessed and what it leaves for a person, each with the cell it is about."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["guessed", "needs a person"]


@dataclass(frozen=True)
class Finding:
    """One line of the import report."""

    kind: Kind
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.message}"


@dataclass
class Report:
    """The findings of one import, in the order they were made."""

    findings: list[Finding] = field(default_factory=list)

    def guessed(self, where: str, message: str) -> None:
        """Note something the import decided on its own, that a person may want to check."""
        self._add(Finding("guessed", where, message))

    def needs_person(self, where: str, message: str) -> None:
        """Note something only a person can settle (a missing owner, an unknown person …)."""
        self._add(Finding("needs a person", where, message))

    def _add(self, finding: Finding) -> None:
        if finding not in self.findings:  # the same cell read twice (objective and key result) says it once
            self.findings.append(finding)

    def of(self, kind: Kind) -> list[Finding]:
        """Return the findings of one kind."""
        return [f for f in self.findings if f.kind == kind]


def slug(text: str, *, fallback: str = "item") -> str:
    """Return an id made of a text: ascii lower case words joined by underscores."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", plain.lower().replace("%", " pct "))
    ident = "_".join(words)[:48].strip("_")
    if not ident:
        return fallback
    return ident if ident[0].isalpha() else f"{fallback}_{ident}"


def unique(ident: str, taken: set[str]) -> str:
    """Return ``ident``, or ``ident_2``, ``ident_3`` … the first not in ``taken``; add it to ``taken``."""
    candidate, n = ident, 1
    while candidate in taken:
        n += 1
        candidate = f"{ident}_{n}"
    taken.add(candidate)
    return candidate
