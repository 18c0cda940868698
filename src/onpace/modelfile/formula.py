"""Formula KPIs as the model file reads them: check the syntax and list the KPIs a formula names.

The grammar and its error messages are the engine's (``onpace.domain.formula``), so a formula the
model file accepts is one the engine evaluates.
"""

from __future__ import annotations

from onpace.domain.formula import FormulaError, names, parse

__all__ = ["FormulaError", "formula_names"]


def formula_names(text: str) -> tuple[str, ...]:
    """Return the KPI ids a formula names, in first-use order, after checking its syntax.

    Raise FormulaError when the text is empty, has a character that is not allowed, or does
    not form one expression (unbalanced parentheses, two operators or operands in a row).
    """
    return names(parse(text))
