"""Refuse model files that would take the reader down: too large, too deep, or an alias bomb.

YAML aliases let a few lines stand for an exponential number of values (``a: &a [x, x]``,
``b: &b [*a, *a]`` … — "billion laughs"); PyYAML's composer recurses once per nesting level,
so 20,000 nested brackets end in a RecursionError. Both are caught here, before the document is
composed, in one pass over PyYAML's parse events (a loop, no recursion): the nesting depth,
and the number of values the document holds once every alias is expanded (each anchor's
expanded size is remembered, so counting is linear in the text). Each problem names the line
where the limit is crossed.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    Event,
    ScalarEvent,
)

from onpace.modelfile.errors import Problem

MAX_CHARS = 5_000_000
MAX_DEPTH = 40
MAX_VALUES = 500_000


@dataclass
class _Frame:
    """An open collection: its anchor, and the values it holds so far with aliases expanded."""

    anchor: str | None
    size: int = 1


def check_limits(text: str, filename: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> list[Problem]:
    """Return the limit ``text`` breaks (at most one problem), or an empty list.

    A syntax error is not reported here: composing the text reports it with its context.
    ``loader`` is PyYAML's own reader or libyaml's (``yaml.CSafeLoader``, much faster).
    """
    if len(text) > MAX_CHARS:
        return [
            Problem(
                filename,
                1,
                f"the file has {len(text):,} characters; a model file may have at most {MAX_CHARS:,}",
            )
        ]
    depth = 0
    expanded: dict[str, int] = {}
    frames = [_Frame(None, 0)]
    total = 0
    try:
        # Scalars first: they are most of the events, and a line is worked out only for a problem.
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, ScalarEvent):
                if event.anchor:
                    expanded[event.anchor] = 1
                size, total = 1, total + 1
            elif isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return [
                        Problem(
                            filename,
                            _line(event),
                            f"values are nested more than {MAX_DEPTH} levels deep here; "
                            "a model file needs far fewer",
                        )
                    ]
                frames.append(_Frame(event.anchor))
                size, total = 0, total + 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
                closed = frames.pop()
                if closed.anchor:
                    expanded[closed.anchor] = closed.size
                size = closed.size
            elif isinstance(event, AliasEvent):
                size = expanded.get(str(event.anchor), 1)
                total += size
            else:
                continue
            if size:
                frames[-1].size += size
            if total > MAX_VALUES:
                return [
                    Problem(
                        filename,
                        _line(event),
                        f"aliases here expand the file to more than {MAX_VALUES:,} values "
                        "(an alias bomb?); a model file needs far fewer",
                    )
                ]
    except yaml.YAMLError:
        return []
    return []


def _line(event: Event) -> int:
    """Return the 1-based line where an event starts."""
    return int(event.start_mark.line) + 1 if event.start_mark is not None else 1
