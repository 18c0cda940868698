"""Parse formula KPIs (``delivery_cost / deliveries``) and turn them into polars expressions.

Grammar (recursive descent, nothing is ever ``eval``-ed)::

    expr    := term (('+' | '-') term)*
    term    := unary (('*' | '/') unary)*
    unary   := ('+' | '-') unary | operand
    operand := NUMBER | NAME | '(' expr ')'

A NAME is a KPI id (letters, digits, ``_`` and ``.``, not starting with a digit). Evaluated
bucket by bucket over a frame with one column per name: a bucket where any named input is
missing has no value, and so does a division by zero; the result is never NaN or infinite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op>[-+*/()]))"
)


class FormulaError(ValueError):
    """Raise when a formula does not parse; the message names the 1-based column."""


@dataclass(frozen=True)
class Number:
    """A numeric literal."""

    value: float


@dataclass(frozen=True)
class Name:
    """A reference to another KPI's bucket value."""

    name: str


@dataclass(frozen=True)
class Negate:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class Binary:
    """One of ``+ - * /`` applied to two sub-expressions."""

    op: str
    left: Node
    right: Node


Node = Number | Name | Negate | Binary


def parse(text: str) -> Node:
    """Parse a formula into a tree, or raise FormulaError saying what is wrong and where."""
    tokens = _tokenize(text)
    if not tokens:
        raise FormulaError("the formula is empty")
    parser = _Parser(tokens)
    node = parser.expression()
    if parser.pos < len(tokens):
        _, value, column = tokens[parser.pos]
        raise FormulaError(f"unexpected `{value}` at column {column}")
    return node


def names(node: Node) -> tuple[str, ...]:
    """Return the names a formula tree uses, in first-use order, without repeats."""
    found: dict[str, None] = {}
    _collect(node, found)
    return tuple(found)


def shape(node: Node, slots: dict[str, str]) -> str:
    """Return the formula's canonical text with each name replaced by its slot column.

    Formulas with the same shape (``s0 / s1``) are evaluated together in one expression.
    """
    if isinstance(node, Number):
        return repr(node.value)
    if isinstance(node, Name):
        return slots[node.name]
    if isinstance(node, Negate):
        return f"(-{shape(node.operand, slots)})"
    return f"({shape(node.left, slots)} {node.op} {shape(node.right, slots)})"


def to_expr(node: Node, column: dict[str, str]) -> pl.Expr:
    """Return a polars expression computing the formula from the columns named by ``column``.

    Division by zero and any non-finite intermediate give null, so no NaN or inf leaks out.
    """
    expr = _expr(node, column)
    return pl.when(expr.is_finite()).then(expr).otherwise(None)


def _expr(node: Node, column: dict[str, str]) -> pl.Expr:
    if isinstance(node, Number):
        return pl.lit(node.value, dtype=pl.Float64)
    if isinstance(node, Name):
        return pl.col(column[node.name]).cast(pl.Float64)
    if isinstance(node, Negate):
        return -_expr(node.operand, column)
    left = _expr(node.left, column)
    right = _expr(node.right, column)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    return pl.when(right != 0).then(left / right).otherwise(None)


def _collect(node: Node, found: dict[str, None]) -> None:
    if isinstance(node, Name):
        found.setdefault(node.name, None)
    elif isinstance(node, Negate):
        _collect(node.operand, found)
    elif isinstance(node, Binary):
        _collect(node.left, found)
        _collect(node.right, found)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            offset = len(text[pos:]) - len(text[pos:].lstrip())
            raise FormulaError(
                f"`{text[pos + offset]}` at column {pos + offset + 1} is not allowed "
                "(use KPI ids, numbers, + - * / and parentheses)"
            )
        kind = match.lastgroup or "op"
        tokens.append((kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the token list; each method returns the subtree it read."""

    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek_op(self, ops: str) -> str | None:
        if self.pos < len(self.tokens):
            kind, value, _ = self.tokens[self.pos]
            if kind == "op" and value in ops:
                return value
        return None

    def expression(self) -> Node:
        node = self.term()
        while (op := self._peek_op("+-")) is not None:
            self.pos += 1
            node = Binary(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while (op := self._peek_op("*/")) is not None:
            self.pos += 1
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        op = self._peek_op("+-")
        if op is not None:
            self.pos += 1
            operand = self.unary()
            return Negate(operand) if op == "-" else operand
        return self.operand()

    def operand(self) -> Node:
        if self.pos >= len(self.tokens):
            raise FormulaError("the formula ends where a KPI id, number or `(` is expected")
        kind, value, column = self.tokens[self.pos]
        if kind == "number":
            self.pos += 1
            return Number(float(value))
        if kind == "name":
            self.pos += 1
            return Name(value)
        if value == "(":
            self.pos += 1
            node = self.expression()
            if self._peek_op(")") is None:
                raise FormulaError(f"the `(` at column {column} is never closed")
            self.pos += 1
            return node
        raise FormulaError(f"unexpected `{value}` at column {column}")


def substitute(node: Node, trees: dict[str, Node]) -> Node:
    """Return the tree with every name that is itself a formula replaced by that formula's tree.

    The caller guarantees the formulas do not refer to each other in a cycle.
    """
    if isinstance(node, Name):
        inner = trees.get(node.name)
        return substitute(inner, trees) if inner is not None else node
    if isinstance(node, Negate):
        return Negate(substitute(node.operand, trees))
    if isinstance(node, Binary):
        return Binary(node.op, substitute(node.left, trees), substitute(node.right, trees))
    return node


def rename(node: Node, new_names: dict[str, str]) -> Node:
    """Return the tree with every name replaced by ``new_names[name]``."""
    if isinstance(node, Name):
        return Name(new_names[node.name])
    if isinstance(node, Negate):
        return Negate(rename(node.operand, new_names))
    if isinstance(node, Binary):
        return Binary(node.op, rename(node.left, new_names), rename(node.right, new_names))
    return node
