"""Durations written as ``30m``, ``1h``, ``2d``, ``1w`` (or combined, ``1d12h``)."""

from __future__ import annotations

import datetime as dt
import re

_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)\s*([wdhms])")
_WHOLE = re.compile(r"^(?:\s*\d+\s*[wdhms])+\s*$")


def parse_duration(text: str) -> dt.timedelta:
    """Return the timedelta that ``text`` (``45s``, ``30m``, ``1h``, ``2d``, ``1w``, ``1d12h``) names.

    Raise ValueError with a plain sentence when the text is not such a duration or is zero.
    """
    cleaned = text.strip().lower()
    if not _WHOLE.match(cleaned):
        raise ValueError(
            f"`{text}` is not a duration; write a number and a unit, like `30m`, `1h`, `2d` or `1w`"
        )
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(cleaned))
    if seconds == 0:
        raise ValueError(f"duration `{text}` is zero; it must be longer than that")
    return dt.timedelta(seconds=seconds)


def format_duration(value: dt.timedelta) -> str:
    """Return the shortest text that :func:`parse_duration` reads back as ``value``."""
    seconds = int(value.total_seconds())
    if seconds <= 0 or dt.timedelta(seconds=seconds) != value:
        raise ValueError(f"{value!r} is not a positive whole number of seconds")
    parts: list[str] = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_days(days: int) -> str:
    """Return a whole number of days as ``2w`` when it is whole weeks, else ``10d``."""
    if days % 7 == 0:
        return f"{days // 7}w"
    return f"{days}d"
