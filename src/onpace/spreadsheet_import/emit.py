"""Write the imported model as onpace.yaml text: one line per item, comments where a person must look."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml


def flow(value: Mapping[str, Any]) -> str:
    """Return a mapping as one YAML flow line (``{id: x, title: "…"}``)."""
    text: str = yaml.safe_dump(
        dict(value), default_flow_style=True, sort_keys=False, width=1_000_000, allow_unicode=True
    )
    return text.strip()


def model_text(
    *,
    header: Sequence[str],
    org: str,
    sections: Mapping[str, Sequence[Mapping[str, Any]]],
    notes: Mapping[str, str],
) -> str:
    """Return the YAML of a model: ``sections`` in order, objectives with their key results as blocks."""
    lines = [f"# {line}" for line in header]
    lines.append(f"org: {flow({'o': org})[4:-1]}")
    lines.append("calendar: {week_start: monday}")
    for name, items in sections.items():
        if not items:
            continue
        lines.append(f"{name}:")
        for item in items:
            if name == "objectives":
                lines.extend(_objective(item, notes))
            else:
                lines.append(f"  - {flow(item)}{_note(item, notes)}")
    return "\n".join(lines) + "\n"


def _objective(item: Mapping[str, Any], notes: Mapping[str, str]) -> list[str]:
    head = {k: v for k, v in item.items() if k != "key_results"}
    lines = []
    for index, (key, value) in enumerate(head.items()):
        prefix = "  - " if index == 0 else "    "
        lines.append(
            f"{prefix}{key}: {flow({'v': value})[4:-1]}" + (_note(item, notes) if index == 0 else "")
        )
    if not item["key_results"]:
        lines.append("    key_results: []")
        return lines
    lines.append("    key_results:")
    lines.extend(f"      - {flow(kr)}{_note(kr, notes)}" for kr in item["key_results"])
    return lines


def _note(item: Mapping[str, Any], notes: Mapping[str, str]) -> str:
    note = notes.get(str(item.get("id")))
    return f"   # {note}" if note else ""
