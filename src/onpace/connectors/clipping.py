"""Keep refused input short where it is stored and shown: a 10 MB cell must not be kept twice or printed.

The quarantine keeps each refused row's text (``raw``) to show what arrived, and its reason
quotes the bad value. Both are clipped: ``raw`` to :data:`MAX_RAW` characters, a quoted value
to :data:`MAX_QUOTED`, each clipped text ending with how long the original was.
"""

from __future__ import annotations

import polars as pl

MAX_RAW = 1_000
MAX_QUOTED = 80


def clip(text: str, limit: int = MAX_RAW) -> str:
    """Return ``text``, or its first ``limit`` characters and a note of its full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def clip_expr(expr: pl.Expr, limit: int = MAX_QUOTED) -> pl.Expr:
    """Return the vectorised :func:`clip` of a text expression."""
    length = expr.str.len_chars()
    clipped = pl.format("{}… ({} characters)", expr.str.slice(0, limit), length)
    return pl.when(length > limit).then(clipped).otherwise(expr)
