"""Look up what a person reads instead of an id: the titles of the model's subjects, its sources' kinds."""

from __future__ import annotations

from onpace.domain.model import Model

#: What each kind of source is, in words (a source has no title of its own).
SOURCE_KINDS = {
    "sql": "database query",
    "http": "web API",
    "csv": "CSV drop folder",
    "excel": "spreadsheet drop folder",
    "push": "pushed through the API",
}


def source_names(model: Model) -> dict[str, str]:
    """Return what a person reads for each source: its id in words and its kind ("shop db, database query")."""
    return {s.id: f"{s.id.replace('_', ' ')}, {SOURCE_KINDS.get(s.kind, s.kind)}" for s in model.sources}
