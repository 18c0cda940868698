"""Units of measure of KPIs: which are known, and which unit a subject's figures are in.

A KPI's ``uom`` (the model file's ``uom:``; ``unit:`` already names the organisational unit) is one
of ``%``, ``count``, ``days``, ``hours``, ``minutes``, or a currency as its three-letter ISO 4217
code (``EUR``, ``USD``, ``NOK`` …). None means a plain number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from onpace.domain.model import Model

PLAIN_UOMS: tuple[str, ...] = ("%", "count", "days", "hours", "minutes")
_CURRENCY = re.compile(r"[A-Z]{3}")
# The models whose index uoms_of built last, newest first (see there).
_KEEP = 4
_RECENT: list[tuple[Model, dict[str, str | None]]] = []


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


def uoms_of(model: Model) -> Mapping[str, str | None]:
    """Return the unit of measure of every KPI, and of every KR measured by a KPI, by subject id.

    Kept for the last few models by identity: pages, mails and the command line ask for one
    subject at a time, and rebuilding the index for each of 10,000 KPIs took seconds.
    """
    for kept, index in _RECENT:
        if kept is model:
            return index
    kpis = {k.id: k.uom for k in model.kpis}
    index = {**{kr.id: kpis.get(kr.kpi) for kr in model.key_results if kr.kpi is not None}, **kpis}
    _RECENT.insert(0, (model, index))
    del _RECENT[_KEEP:]
    return index


def uom_of(model: Model, subject: str) -> str | None:
    """Return the unit of a KPI's figures, or of a KR measured by a KPI; None otherwise."""
    return uoms_of(model).get(subject)
