"""Read a file or a watched drop folder once per content, remembering what was read by content hash.

The ``path`` option names a file or a folder. In a folder every file matching ``pattern`` is
read, except hidden files and ``*.part`` / ``*.tmp`` (a writer still busy with a file should
write it under such a name and rename it when done). A file whose SHA-256 matches the one in the
state passed in is skipped; a new or changed file is read whole and its hash goes into the state
returned. Entries of files no longer present are dropped, so the state stays small.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

from onpace.connectors.base import FetchResult, Rejected, SourceError, combine, option_text
from onpace.connectors.clipping import clip
from onpace.domain.model import Source

ReadFile = Callable[[bytes, str], FetchResult]
"""Read one file's bytes; the second argument is the file's name, used in locators."""

_IGNORED_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")
STATE_PREFIX = "sha256:"


def _candidates(root: Path, pattern: str) -> list[Path]:
    if root.is_file():
        return [root]
    if root.is_dir():
        return sorted(
            p
            for p in root.glob(pattern)
            if p.is_file() and not p.name.startswith(".") and not p.name.endswith(_IGNORED_SUFFIXES)
        )
    raise SourceError(f"path {root} does not exist", permanent=False)


def scan(
    source: Source,
    *,
    env: Mapping[str, str],
    state: Mapping[str, str] | None,
    pattern: str,
    read: ReadFile,
) -> FetchResult:
    """Read every new or changed file under the source's ``path`` and return the results combined.

    A file that cannot be parsed at all (bad header, not UTF-8, not a workbook) becomes one
    rejected row at line 1 and is remembered like any other, so it is not re-read until it
    changes. A missing path is a transient :class:`SourceError` (a share may be unmounted).
    """
    root = Path(option_text(source, "path", env))
    glob = option_text(source, "pattern", env, pattern)
    seen = dict(state or {})
    try:
        files = _candidates(root, glob)
    except SourceError as err:
        raise SourceError(err.message, permanent=False, source=source.id) from None
    results: list[FetchResult] = []
    new_state: dict[str, str] = {}
    for path in files:
        key = str(path)
        try:
            content = path.read_bytes()
        except OSError as err:
            # The file may be mid-copy or briefly locked: leave it for the next run.
            results.append(FetchResult(rejected=(Rejected(None, path.name, "", f"cannot read file: {err}"),)))
            continue
        digest = STATE_PREFIX + hashlib.sha256(content).hexdigest()
        new_state[key] = digest
        if seen.get(key) == digest:
            continue
        try:
            results.append(read(content, path.name))
        except SourceError:
            raise  # the source's own settings are wrong: no file can be read
        except Exception as err:
            # Parsers of foreign formats fail in many ways (XML errors, type errors in a
            # workbook's styles …): the file is refused, remembered, and the others are read.
            reason = f"cannot read this file ({type(err).__name__}: {clip(str(err), 200)})"
            results.append(FetchResult(rejected=(Rejected(None, path.name, "", reason),)))
    return combine(results, new_state)
