"""Compose YAML text into a node tree whose every value knows its line.

PyYAML's composer keeps a ``start_mark`` on every node; the model reader walks those nodes
instead of plain Python values so each problem can name its line.
"""

from __future__ import annotations

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from onpace.modelfile.errors import Problem
from onpace.modelfile.limits import check_limits

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def line_of(node: Node) -> int:
    """Return the 1-based line where a node starts."""
    return int(node.start_mark.line) + 1


def compose_text(text: str, filename: str) -> tuple[Node | None, list[Problem]]:
    """Return the document's root node, or None and the syntax problem that stopped PyYAML.

    Merge keys (``<<: *anchor``) are expanded. In a flow mapping a bare word after a comma
    continues the value before it — ``{title: 10,000 users}`` reads as the title
    ``10,000 users``, where plain YAML would read a key ``000 users`` with no value.
    """
    limits = check_limits(text, filename)
    if limits:
        return None, limits
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        return None, [Problem(filename, 1, "values are nested too deeply to read")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        detail = exc.problem or "the text is not valid YAML"
        if exc.context:
            detail = f"{exc.context}, {detail}"
        return None, [Problem(filename, line, f"YAML syntax error: {detail}")]
    except yaml.YAMLError as exc:
        return None, [Problem(filename, 1, f"YAML syntax error: {exc}")]
    if root is None:
        return None, []
    _tidy(root, text, set())
    dates = impossible_dates(root, filename)
    return (None, dates) if dates else (root, [])


def impossible_dates(root: Node, filename: str) -> list[Problem]:
    """Return a problem for every value YAML reads as a date that no calendar has (``2026-02-30``).

    Checked once here so that no later reading of the tree meets a date it cannot build.
    """
    problems: list[tuple[int, int, Problem]] = []
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            pending.extend(part for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, ScalarNode) and node.tag == TIMESTAMP_TAG:
            try:
                SafeConstructor().construct_yaml_timestamp(node)
            except (ValueError, OverflowError) as exc:
                problem = Problem(
                    filename, line_of(node), f"`{node.value}` is not a real date or time ({exc})"
                )
                problems.append((problem.line, int(node.start_mark.column), problem))
    return [problem for _, _, problem in sorted(problems, key=lambda found: found[:2])]


def _tidy(node: Node, text: str, seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        _merge(node)
        if node.flow_style:
            _join_comma_continuations(node, text)
        for key, value in node.value:
            _tidy(key, text, seen)
            _tidy(value, text, seen)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _tidy(item, text, seen)


def _merge(node: MappingNode) -> None:
    """Expand ``<<`` merge keys; explicit keys override merged ones, as in plain YAML."""
    if not any(key.tag == MERGE_TAG for key, _ in node.value):
        return
    explicit = [(k, v) for k, v in node.value if k.tag != MERGE_TAG]
    SafeConstructor().flatten_mapping(node)
    merged = node.value[: len(node.value) - len(explicit)]
    taken = {k.value for k, _ in explicit if isinstance(k, ScalarNode)}
    kept: list[tuple[Node, Node]] = []
    # flatten_mapping lists the first merged mapping last; the last occurrence of a key wins.
    for key, value in reversed(merged):
        if isinstance(key, ScalarNode) and key.value in taken:
            continue
        taken.add(key.value)
        kept.append((key, value))
    node.value = [*reversed(kept), *explicit]


def _join_comma_continuations(node: MappingNode, text: str) -> None:
    pairs: list[tuple[Node, Node]] = []
    for key, value in node.value:
        if pairs and _is_bare_word(key, value):
            prev_key, prev_value = pairs[-1]
            if isinstance(prev_value, ScalarNode) and prev_value.style is None:
                start, end = prev_value.start_mark, key.end_mark
                joined = ScalarNode(STR_TAG, text[start.index : end.index], start, end, style=None)
                pairs[-1] = (prev_key, joined)
                continue
        pairs.append((key, value))
    node.value = pairs


def _is_bare_word(key: Node, value: Node) -> bool:
    """Tell whether a flow-mapping entry is a plain word with no `:` at all (an implicit null)."""
    return (
        isinstance(key, ScalarNode)
        and key.style is None
        and isinstance(value, ScalarNode)
        and value.tag == NULL_TAG
        and value.value == ""
        and value.start_mark.index == key.end_mark.index
    )


def construct(node: Node) -> object:
    """Return the plain Python value of a node (scalars typed as YAML resolves them)."""
    return SafeConstructor().construct_object(node, deep=True)
