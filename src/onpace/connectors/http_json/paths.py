"""Read values out of parsed JSON by dotted path (``fields.status.name``, ``items.0.id``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MISSING = object()


def lookup(document: object, path: str) -> object:
    """Return the value at ``path`` in ``document``, or :data:`MISSING` when any step is absent.

    Steps are separated by dots; a step into a list is an index. An empty path is the
    document itself.
    """
    node = document
    for step in path.split(".") if path else ():
        if isinstance(node, Mapping):
            if step not in node:
                return MISSING
            node = node[step]
        elif isinstance(node, Sequence) and not isinstance(node, str | bytes):
            if not step.lstrip("-").isdigit() or not -len(node) <= int(step) < len(node):
                return MISSING
            node = node[int(step)]
        else:
            return MISSING
    return node


def extract(document: object, spec: str) -> object:
    """Return the field a mapping ``spec`` names: ``=text`` is the literal text, else a dotted path.

    A missing path gives ``None`` so the record checks report it as a missing field.
    """
    if spec.startswith("="):
        return spec[1:]
    value = lookup(document, spec)
    return None if value is MISSING else value
