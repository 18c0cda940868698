"""Units of measure of KPIs: which are known, and which unit a subject's figures are in.

A KPI's ``uom`` (the model file's ``uom:``; ``unit:`` already names the organisational unit) is one
of ``%``, ``count``, ``days``, ``hours``, ``minutes``, or a currency as its three-letter ISO 4217
code (``EUR``, ``USD``, ``NOK`` …). None means a plain number.
"""

from __future__ import annotations

import re

from onpace.domain.model import Model

PLAIN_UOMS: tuple[str, ...] = ("%", "count", "days", "hours", "minutes")
_CURRENCY = re.compile(r"[A-Z]{3}")


def is_currency(uom: str | None) -> bool:
    """Return whether ``uom`` is a currency code (three capital letters)."""
    return uom is not None and _CURRENCY.fullmatch(uom) is not None


def check_uom(uom: str) -> str | None:
    """Return why ``uom`` is not a unit of measure, or None when it is one."""
    if uom in PLAIN_UOMS or is_currency(uom):
        return None
    return (
        f"`{uom}` is not a unit of measure: use one of {', '.join(PLAIN_UOMS)} "
        "or a currency code such as EUR or USD"
    )


def uom_of(model: Model, subject: str) -> str | None:
    """Return the unit of a KPI's figures, or of a KR measured by a KPI; None otherwise."""
    kpis = {k.id: k for k in model.kpis}
    if subject in kpis:
        return kpis[subject].uom
    kr_kpi = next((kr.kpi for kr in model.key_results if kr.id == subject), None)
    return kpis[kr_kpi].uom if kr_kpi in kpis else None
