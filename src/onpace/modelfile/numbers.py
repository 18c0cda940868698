"""Write numbers so that YAML reads them back as exactly the same float."""

from __future__ import annotations

import math
from decimal import Decimal


def format_number(value: float) -> str:
    """Return a YAML scalar for a number: ``5``, ``0.25``, ``1.0e-05``, ``.inf``.

    Whole floats are written as integers (YAML reads them back as equal numbers); exponents
    get the dot and sign that YAML 1.1 needs to read them as floats rather than text.
    """
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    if float(value).is_integer() and abs(value) < 1e16:
        return str(int(value))
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        if exponent[0] not in "+-":
            exponent = "+" + exponent
        text = f"{mantissa}e{exponent}"
    return text


def format_percent(fraction: float) -> str:
    """Return ``fraction`` as a percentage text (0.05 -> ``5``) that reads back exactly.

    The reader divides the written decimal by 100 in decimal arithmetic, so shifting the
    shortest repr of ``fraction`` two places is exact both ways.
    """
    shifted = (Decimal(repr(float(fraction))) * 100).normalize()
    text = format(shifted, "f")
    return text


def percent_to_fraction(text: str) -> float:
    """Return the fraction a percentage text names (``5`` -> 0.05), rounding once."""
    return float(Decimal(text) / 100)
