"""Read YAML mappings as records: check their keys and read typed fields, noting every problem.

A :class:`Record` wraps one mapping node. Its getters return ``None`` when a field is absent
or wrong, after adding a problem with the line of the offending value, so one pass over a
file reports everything that is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from onpace.modelfile.durations import parse_duration
from onpace.modelfile.errors import Problem
from onpace.modelfile.yamltree import NULL_TAG, construct, line_of

T = TypeVar("T", bound=str)

INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
BOOL_TAG = "tag:yaml.org,2002:bool"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``; did you mean `x`?`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def describe(node: Node) -> str:
    """Return a short rendering of a value for a message: its text, or 'a list'/'a mapping'."""
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    if node.tag == NULL_TAG:
        return "empty"
    text = str(node.value)
    return f"`{text if len(text) <= 40 else text[:37] + '...'}`"


@dataclass
class Sink:
    """Collect the problems of one file."""

    filename: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        """Note a problem at a line."""
        self.problems.append(Problem(self.filename, line, message))


@dataclass
class Record:
    """One YAML mapping read as a record of named fields; ``what`` names it in messages."""

    sink: Sink
    what: str
    line: int
    values: dict[str, Node]

    def has(self, key: str) -> bool:
        """Tell whether the key is present with a non-empty value."""
        node = self.values.get(key)
        return node is not None and not _is_null(node)

    def line_of(self, key: str) -> int:
        """Return the line of a field's value, or the record's line when the field is absent."""
        node = self.values.get(key)
        return line_of(node) if node is not None else self.line

    def problem(self, key: str | None, message: str) -> None:
        """Note a problem at the line of ``key`` (or of the record)."""
        self.sink.add(self.line_of(key) if key else self.line, message)

    def _scalar(self, key: str, expected: str) -> ScalarNode | None:
        node = self.values.get(key)
        if node is None or _is_null(node):
            return None
        if not isinstance(node, ScalarNode):
            self.sink.add(line_of(node), f"`{key}` of {self.what} must be {expected}, not {describe(node)}")
            return None
        return node

    def text(self, key: str) -> str | None:
        """Return a field as text (any scalar, as written)."""
        node = self._scalar(key, "text")
        return None if node is None else str(node.value)

    def number(self, key: str) -> float | None:
        """Return a numeric field as a float."""
        node = self._scalar(key, "a number")
        if node is None:
            return None
        value = number_of(node)
        if value is None:
            self.sink.add(line_of(node), f"`{key}` of {self.what} must be a number, not {describe(node)}")
        return value

    def integer(self, key: str) -> int | None:
        """Return a whole-number field."""
        node = self._scalar(key, "a whole number")
        if node is None:
            return None
        if node.tag != INT_TAG:
            self.sink.add(
                line_of(node), f"`{key}` of {self.what} must be a whole number, not {describe(node)}"
            )
            return None
        value = construct(node)
        assert isinstance(value, int)
        return value

    def boolean(self, key: str) -> bool | None:
        """Return a true/false field."""
        node = self._scalar(key, "true or false")
        if node is None:
            return None
        if node.tag != BOOL_TAG:
            self.sink.add(
                line_of(node), f"`{key}` of {self.what} must be true or false, not {describe(node)}"
            )
            return None
        return bool(construct(node))

    def date(self, key: str) -> dt.date | None:
        """Return a date field (``2026-01-05``)."""
        node = self._scalar(key, "a date")
        if node is None:
            return None
        value = date_of(node)
        if value is None:
            self.sink.add(
                line_of(node), f"`{key}` of {self.what} must be a date like 2026-01-05, not {describe(node)}"
            )
        return value

    def choice(self, key: str, choices: Sequence[T]) -> T | None:
        """Return a field whose value must be one of ``choices``."""
        value = self.text(key)
        if value is None:
            return None
        for option in choices:
            if option == value:
                return option
        self.sink.add(
            self.line_of(key),
            f"`{key}` of {self.what} is `{value}`, which is not one of {', '.join(choices)}"
            + did_you_mean(value, choices),
        )
        return None

    def duration(self, key: str) -> dt.timedelta | None:
        """Return a duration field (``30m``, ``1h``, ``2d``, ``1w``)."""
        value = self.text(key)
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.sink.add(self.line_of(key), f"`{key}` of {self.what}: {exc}")
            return None

    def words(self, key: str, example: str) -> list[tuple[str, int]]:
        """Return a list of ids/words with the line of each; ``example`` shows the expected form."""
        node = self.values.get(key)
        if node is None or _is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.sink.add(line_of(node), f"`{key}` of {self.what} must be a list, like `{example}`")
            return []
        out: list[tuple[str, int]] = []
        for item in node.value:
            if isinstance(item, ScalarNode) and not _is_null(item):
                out.append((str(item.value), line_of(item)))
            else:
                self.sink.add(
                    line_of(item), f"each item of `{key}` of {self.what} must be a name, not {describe(item)}"
                )
        return out

    def listed(self, key: str) -> list[tuple[str, int]]:
        """Return the names in a field that is one name or a list of names, silently skipping others."""
        node = self.values.get(key)
        if node is None or _is_null(node):
            return []
        nodes = node.value if isinstance(node, SequenceNode) else [node]
        return [
            (str(item.value), line_of(item))
            for item in nodes
            if isinstance(item, ScalarNode) and not _is_null(item)
        ]

    def items(self, key: str) -> list[Node]:
        """Return the item nodes of a list field (noting a problem when it is not a list)."""
        node = self.values.get(key)
        if node is None or _is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.sink.add(line_of(node), f"`{key}` of {self.what} must be a list, not {describe(node)}")
            return []
        return list(node.value)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def number_of(node: ScalarNode) -> float | None:
    """Return a scalar's value as a float when YAML reads it as a number, else None."""
    if node.tag not in (INT_TAG, FLOAT_TAG):
        return None
    value = construct(node)
    assert isinstance(value, int | float)
    return float(value)


def date_of(node: ScalarNode) -> dt.date | None:
    """Return a scalar's value as a date (a YAML date or an ISO date string), else None."""
    if node.tag == TIMESTAMP_TAG:
        value = construct(node)
        if isinstance(value, dt.datetime):
            return None
        assert isinstance(value, dt.date)
        return value
    try:
        return dt.date.fromisoformat(str(node.value).strip())
    except ValueError:
        return None


def read_record(
    sink: Sink,
    node: Node,
    kind: str,
    place: str,
    allowed: Collection[str] | None,
    *,
    required: Collection[str] = (),
    what: str | None = None,
) -> Record | None:
    """Return a mapping node as a Record, noting unknown, duplicate and missing keys.

    ``kind`` names the record (``KPI``) and ``place`` where it sits when it has no id
    (``item 3 of `kpis```); ``what`` overrides the name used in messages. ``allowed`` None
    accepts any key (sources keep extra options).
    """
    if not isinstance(node, MappingNode):
        sink.add(line_of(node), f"{place} must be a mapping of fields, not {describe(node)}")
        return None
    values: dict[str, Node] = {}
    key_lines: dict[str, int] = {}
    pending: list[tuple[int, str]] = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            pending.append((line_of(key_node), f"a key in {{what}} is {describe(key_node)}; keys are names"))
            continue
        key = str(key_node.value)
        if key in values:
            pending.append(
                (line_of(key_node), f"duplicate key `{key}` in {{what}} (first on line {key_lines[key]})")
            )
            continue
        values[key] = value_node
        key_lines[key] = line_of(key_node)
    ident = values.get("id")
    if what is not None:
        pass
    elif ident is not None and isinstance(ident, ScalarNode) and not _is_null(ident):
        what = f"{kind} `{ident.value}`"
    else:
        what = f"the {kind} at {place}"
    for line, message in pending:
        sink.add(line, message.format(what=what))
    if allowed is not None:
        for key, line in key_lines.items():
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f"; expected one of {', '.join(allowed)}"
                sink.add(line, f"unknown key `{key}` in {what}{hint}")
    record = Record(sink, what, line_of(node), values)
    for key in required:
        if not record.has(key):
            if key in values:
                sink.add(line_of(values[key]), f"{what} has an empty `{key}`")
            else:
                sink.add(record.line, f"{what} is missing `{key}`")
    return record
