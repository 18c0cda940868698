"""Read onpace.yaml into a Model, or report every problem in it with its line."""

from __future__ import annotations

from pathlib import Path

from onpace.domain.model import Model
from onpace.modelfile.errors import ModelFileError, Problem
from onpace.modelfile.limits import MAX_CHARS
from onpace.modelfile.links import check_links
from onpace.modelfile.records import Sink
from onpace.modelfile.sections import read_draft
from onpace.modelfile.yamltree import compose_text
from onpace.paused_gc import paused_gc


def parse_model_text(text: str, filename: str = "onpace.yaml") -> Model:
    """Return the Model a model file's text describes.

    Raise ModelFileError listing every problem (sorted by line) when the text is not valid
    YAML or not a valid model; ``filename`` is used in the problems.
    """
    with paused_gc():
        root, problems = compose_text(text, filename)
        if problems:
            raise ModelFileError(problems)
        if root is None:
            raise ModelFileError([Problem(filename, 1, "the file is empty; a model needs at least `org:`")])
        sink = Sink(filename)
        draft = read_draft(sink, root)
        check_links(draft, sink)
        if sink.problems:
            raise ModelFileError(sink.problems)
        return draft.model()


def load_model_file(path: Path) -> Model:
    """Return the Model in a model file; raise ModelFileError (with every problem) when it has any."""
    return parse_model_text(_read(path), str(path))


def validate_file(path: Path) -> list[Problem]:
    """Return every problem in a model file, sorted by line; an empty list means it is valid."""
    try:
        load_model_file(path)
    except ModelFileError as exc:
        return exc.problems
    return []


def _read(path: Path) -> str:
    try:
        # UTF-8 takes at most 4 bytes a character: a larger file cannot be within the limit.
        if path.stat().st_size > 4 * MAX_CHARS:
            message = f"the file is {path.stat().st_size:,} bytes; a model file may have at most {MAX_CHARS:,} characters"
            raise ModelFileError([Problem(str(path), 1, message)])
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        message = "no such file"
    except IsADirectoryError:
        message = "this is a folder, not a model file"
    except UnicodeDecodeError as exc:
        message = f"the file is not UTF-8 text (byte {exc.start})"
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
    raise ModelFileError([Problem(str(path), 1, message)])
