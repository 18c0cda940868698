"""Formula KPIs: check the syntax of ``delivery_cost / deliveries`` and list the KPIs it names.

Allowed: KPI ids, numbers, ``+ - * /``, unary minus and parentheses. The engine evaluates
formulas bucket by bucket; this module only reads them.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op>[-+*/()]))"
)


class FormulaError(ValueError):
    """Raise when a formula does not parse; the message says what and where (1-based column)."""


def formula_names(text: str) -> tuple[str, ...]:
    """Return the KPI ids a formula names, in first-use order, after checking its syntax.

    Raise FormulaError when the text is empty, has a character that is not allowed, or does
    not form one expression (unbalanced parentheses, two operators or operands in a row).
    """
    tokens = _tokenize(text)
    if not tokens:
        raise FormulaError("the formula is empty")
    parser = _Parser(tokens)
    parser.expression()
    if parser.pos < len(tokens):
        _, value, column = tokens[parser.pos]
        raise FormulaError(f"unexpected `{value}` at column {column}")
    names = [value for kind, value, _ in tokens if kind == "name"]
    return tuple(dict.fromkeys(names))


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            offset = len(text[pos:]) - len(text[pos:].lstrip())
            raise FormulaError(
                f"`{text[pos + offset]}` at column {pos + offset + 1} is not allowed "
                "(use KPI ids, numbers, + - * / and parentheses)"
            )
        kind = match.lastgroup or "op"
        value = match.group(kind)
        tokens.append((kind, value, match.start(kind) + 1))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over: expr := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*."""

    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def expression(self) -> None:
        self.term()
        while (tok := self._peek()) is not None and tok[1] in "+-" and tok[0] == "op":
            self.pos += 1
            self.term()

    def term(self) -> None:
        self.unary()
        while (tok := self._peek()) is not None and tok[1] in "*/" and tok[0] == "op":
            self.pos += 1
            self.unary()

    def unary(self) -> None:
        tok = self._peek()
        if tok is not None and tok[0] == "op" and tok[1] in "+-":
            self.pos += 1
            self.unary()
            return
        self.operand()

    def operand(self) -> None:
        tok = self._peek()
        if tok is None:
            raise FormulaError("the formula ends where a KPI id, number or `(` is expected")
        kind, value, column = tok
        if kind in ("name", "number"):
            self.pos += 1
            return
        if value == "(":
            self.pos += 1
            self.expression()
            closing = self._peek()
            if closing is None or closing[1] != ")":
                raise FormulaError(f"the `(` at column {column} is never closed")
            self.pos += 1
            return
        raise FormulaError(f"unexpected `{value}` at column {column}")
