"""Search filter and order-by language of the tracking store: text to a small frozen AST.

The grammar, loosest binding first (keywords are case-insensitive)::

    filter    := and_expr ("or" and_expr)*
    and_expr  := unary ("and" unary)*
    unary     := "not" unary | "(" filter ")" | predicate
    predicate := ident (op literal | ["not"] ("like" | "ilike") string
                 | ["not"] "in" "(" literal ("," literal)* ")" | "is" ["not"] "null")
    ident     := ("metrics" | "params" | "tags" | "attributes") "." key | attribute
    order     := ident ["asc" | "desc"]

Metrics compare as numbers (their latest value). Params and tags are text: a string literal
compares as text, a number literal compares numerically with values that look like numbers.
A missing key matches no comparison (``!=`` and ``not in`` included); test absence with
``is null``. :mod:`tracking.search.compiler` turns the AST into SQL.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from tracking.entities import RunStatus
from tracking.errors import FilterError
from tracking.search.lexer import PREFIXES, Token, quote, render_key, tokenize

Kind = Literal["metrics", "params", "tags", "attributes"]
Value = str | int | float

# Attribute name -> True where the column holds numbers (epoch milliseconds, ids).
ATTRIBUTES: dict[str, bool] = {
    "run_id": False,
    "name": False,
    "status": False,
    "start_time": True,
    "end_time": True,
    "parent_run_id": False,
    "user": False,
    "experiment_id": True,
    "artifact_uri": False,
}
_ATTRIBUTE_ALIASES = {"run_name": "name", "user_id": "user"}
STATUSES = tuple(status.value for status in RunStatus)
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "like", "ilike", "null"})

COMPARISON_OPS = ("=", "!=", "<", "<=", ">", ">=")
PATTERN_OPS = ("like", "not like", "ilike", "not ilike")
# Bounds the recursion of parser, renderer and compiler on hostile input like "((((...".
MAX_DEPTH = 64
# Bounds the SQL a filter becomes: past ~1,000 terms SQLite refuses the expression tree, and
# PostgreSQL plans and runs hundreds of joined conditions for minutes.
MAX_PREDICATES = 100
MAX_IN_VALUES = 1_000


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: Kind
    key: str

    def __str__(self) -> str:
        return render_key(self.kind, self.key)


@dataclass(frozen=True, slots=True)
class Compare:
    ident: Identifier
    op: str  # one of COMPARISON_OPS or PATTERN_OPS
    value: Value


@dataclass(frozen=True, slots=True)
class In:
    ident: Identifier
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class IsNull:
    ident: Identifier
    negated: bool = False  # True for "is not null"


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Predicate = Compare | In | IsNull
Node = Compare | In | IsNull | Not | And | Or


@dataclass(frozen=True, slots=True)
class OrderKey:
    ident: Identifier
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ReferencedKeys:
    """Keys a filter names, per kind, in order of first mention."""

    metrics: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def parse_filter(text: str) -> Node:
    """Parse a filter; raise :class:`FilterError` naming the position of the first problem."""
    if not isinstance(text, str):
        raise FilterError(f"a filter must be a string, not {type(text).__name__}")
    if not text.strip():
        raise FilterError("empty filter", text=text, position=0)
    return _Parser(text).parse()


def parse_order_by(items: str | Sequence[str] | None) -> list[OrderKey]:
    """Parse order-by items such as ``"metrics.accuracy desc"``; ascending by default."""
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    return [_parse_order_item(item) for item in items]


def referenced_keys(node: Node | str | None) -> ReferencedKeys:
    """The metric, param and tag keys a filter mentions (an empty or None filter: none)."""
    if node is None or (isinstance(node, str) and not node.strip()):
        return ReferencedKeys()
    if isinstance(node, str):
        node = parse_filter(node)
    found: dict[str, dict[str, None]] = {"metrics": {}, "params": {}, "tags": {}}
    for predicate in _predicates(node):
        if predicate.ident.kind in found:
            found[predicate.ident.kind][predicate.ident.key] = None
    return ReferencedKeys(*(tuple(keys) for keys in found.values()))


def render_filter(node: Node) -> str:
    """Render ``node`` as filter text that :func:`parse_filter` parses back to ``node``."""
    match node:
        case Compare(ident, op, value):
            return f"{ident} {op} {_render_value(value)}"
        case In(ident, values, negated):
            listed = ", ".join(_render_value(value) for value in values)
            return f"{ident} {'not in' if negated else 'in'} ({listed})"
        case IsNull(ident, negated):
            return f"{ident} is {'not ' if negated else ''}null"
        case Not(operand):
            return f"not {_render_child(operand, (And, Or))}"
        case And(operands):
            return " and ".join(_render_child(child, (And, Or)) for child in operands)
        case Or(operands):
            # "a and b or c" already groups as (a and b) or c, so only nested ors need parens.
            return " or ".join(_render_child(child, (Or,)) for child in operands)
    raise FilterError(f"not a filter node: {node!r}")


def value_error(ident: Identifier, op: str, value: Value) -> str | None:
    """Why ``ident op value`` cannot be evaluated, or None when it can."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return f"unsupported literal {value!r}: use a number or a string"
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return f"integer {value} is out of range"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number"
    if ident.kind == "metrics":
        if isinstance(value, str):
            return f"{ident} is a metric and compares as a number, not as text {quote(value)}"
        return None
    if ident.kind != "attributes":
        return identifier_error(ident)
    if ident.key not in ATTRIBUTES:
        return _unknown_attribute(ident.key)
    if ATTRIBUTES[ident.key] and isinstance(value, str):
        return f"{ident} is a number (epoch milliseconds or an id), not text {quote(value)}"
    if not ATTRIBUTES[ident.key] and not isinstance(value, str):
        return f"{ident} is text: quote the value ({quote(str(value))})"
    if ident.key == "status" and op not in PATTERN_OPS and str(value).upper() not in STATUSES:
        return f"unknown run status {quote(str(value))}: expected one of {', '.join(STATUSES)}"
    return None


def identifier_error(ident: Identifier) -> str | None:
    """Why ``ident`` names nothing (bad kind, unknown attribute), or None when it is valid."""
    if ident.kind not in PREFIXES:
        return f"unknown identifier kind {ident.kind!r}: expected one of {', '.join(PREFIXES)}"
    if ident.kind == "attributes" and ident.key not in ATTRIBUTES:
        return _unknown_attribute(ident.key)
    return None


def _predicates(node: Node) -> Iterator[Predicate]:
    match node:
        case Not(operand):
            yield from _predicates(operand)
        case And(operands) | Or(operands):
            for child in operands:
                yield from _predicates(child)
        case _:
            yield cast(Predicate, node)


def check_size(node: Node) -> None:
    """Refuse a hand-built filter past the bounds that :func:`parse_filter` enforces on text."""
    predicates = list(_predicates(node))
    if len(predicates) > MAX_PREDICATES:
        raise FilterError(_too_many_predicates())
    if any(isinstance(p, In) and len(p.values) > MAX_IN_VALUES for p in predicates):
        raise FilterError(_too_many_values())


def _too_many_predicates() -> str:
    return (
        f"the filter has more than {MAX_PREDICATES} conditions (at most {MAX_PREDICATES} are allowed); "
        "use 'in (...)' for many values of one key, or search in several steps"
    )


def _too_many_values() -> str:
    return f"the 'in' list has more than {MAX_IN_VALUES} values (at most {MAX_IN_VALUES} are allowed)"


def _render_value(value: Value) -> str:
    if isinstance(value, str):
        return quote(value)
    return repr(value) if isinstance(value, float) else str(value)


def _render_child(child: Node, needs_parens: tuple[type, ...]) -> str:
    text = render_filter(child)
    return f"({text})" if isinstance(child, needs_parens) else text


def _unknown_attribute(name: str) -> str:
    known = [*ATTRIBUTES, *_ATTRIBUTE_ALIASES]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f": expected one of {', '.join(known)}"
    return f"unknown attribute '{name}'{hint}"


def _parse_order_item(item: str) -> OrderKey:
    if not isinstance(item, str):
        raise FilterError(f"order_by items must be strings, not {type(item).__name__}")
    parser = _Parser(item)
    if parser.current.kind == "eof":
        raise FilterError("empty order_by item: expected e.g. 'metrics.accuracy desc'", item, 0)
    ident = parser.identifier()
    descending = parser.current.is_word("desc")
    if parser.current.is_word("asc", "desc"):
        parser.advance()
    if parser.current.kind != "eof":
        raise parser.error(f"expected 'asc', 'desc' or the end of the order_by item, found {_describe(parser.current)}")
    return OrderKey(ident, descending)


def _describe(token: Token) -> str:
    return token.text if token.kind == "eof" else repr(token.text)


class _Parser:
    """Recursive descent over the token list; one instance parses one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.predicates = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        if token.kind != "eof":
            self.index += 1
        return token

    def error(self, message: str, token: Token | None = None) -> FilterError:
        position = (token or self.current).pos
        return FilterError(message, text=self.text, position=position)

    def parse(self) -> Node:
        node = self.or_expr()
        if self.current.kind == "rparen":
            raise self.error("unbalanced parenthesis: ')' has no matching '('")
        if self.current.kind != "eof":
            raise self.error(
                f"unexpected {_describe(self.current)} after a complete condition (join conditions with 'and' or 'or')"
            )
        return node

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.current.is_word("or"):
            self.advance()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.unary()]
        while self.current.is_word("and"):
            self.advance()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Node:
        token = self.current
        if not (token.is_word("not") or token.kind == "lparen"):
            return self.predicate()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"filter nested more than {MAX_DEPTH} levels deep")
        self.advance()
        if token.kind == "lparen":
            node = self.or_expr()
            if self.current.kind == "eof":
                raise self.error("unbalanced parenthesis: '(' is never closed", token)
            if self.current.kind != "rparen":
                raise self.error(f"expected 'and', 'or' or ')', found {_describe(self.current)}")
            self.advance()
        else:
            node = Not(self.unary())
        self.depth -= 1
        return node

    def identifier(self) -> Identifier:
        token = self.current
        if token.kind == "ident":
            prefix, key = cast(tuple[str, str], token.value)
            self.advance()
            if prefix != "attributes":
                return Identifier(cast(Kind, prefix), key)
            return self.attribute(key, token.pos + len("attributes."))
        if token.kind == "word" and _ATTRIBUTE_ALIASES.get(str(token.value), token.value) in ATTRIBUTES:
            self.advance()
            return self.attribute(token.text, token.pos)
        if token.kind == "word" and str(token.value) not in _KEYWORDS:
            raise self.error(
                f"unknown identifier {token.text!r}: expected metrics.<key>, params.<key>, "
                f"tags.<key> or an attribute ({', '.join(ATTRIBUTES)})"
            )
        raise self.error(
            "expected an identifier such as metrics.accuracy, params.alpha, tags.team or "
            f"status, found {_describe(token)}"
        )

    def attribute(self, name: str, position: int) -> Identifier:
        canonical = _ATTRIBUTE_ALIASES.get(name.lower(), name.lower())
        if canonical not in ATTRIBUTES:
            raise FilterError(_unknown_attribute(name), text=self.text, position=position)
        return Identifier("attributes", canonical)

    def predicate(self) -> Predicate:
        ident_token = self.current
        self.predicates += 1
        if self.predicates > MAX_PREDICATES:
            raise self.error(_too_many_predicates())
        ident = self.identifier()
        token = self.advance()
        if token.kind == "op":
            return Compare(ident, str(token.value), self.literal(ident, str(token.value)))
        negated = token.is_word("not")
        if negated:
            token = self.advance()
            if not token.is_word("like", "ilike", "in"):
                raise self.error("expected 'like', 'ilike' or 'in' after 'not'", token)
        if token.is_word("like", "ilike"):
            op = f"not {token.value}" if negated else str(token.value)
            if self.current.kind != "string":
                raise self.error(f"expected a quoted pattern after '{token.text}'")
            return Compare(ident, op, self.literal(ident, op))
        if token.is_word("in"):
            return In(ident, self.in_values(ident), negated)
        if token.is_word("is"):
            negated = self.current.is_word("not")
            if negated:
                self.advance()
            if not self.current.is_word("null"):
                raise self.error("expected 'null' after 'is' or 'is not'")
            self.advance()
            return IsNull(ident, negated)
        raise self.error(
            f"expected a comparison operator after '{ident_token.text}' "
            "(=, !=, <, <=, >, >=, like, ilike, in, is null)",
            token,
        )

    def in_values(self, ident: Identifier) -> tuple[Value, ...]:
        opening = self.advance()
        if opening.kind != "lparen":
            raise self.error("expected '(' after 'in'", opening)
        if self.current.kind == "rparen":
            raise self.error("empty 'in ()' list: give at least one value")
        values = [self.literal(ident, "=")]
        while self.current.kind == "comma":
            self.advance()
            if len(values) == MAX_IN_VALUES:
                raise self.error(_too_many_values())
            values.append(self.literal(ident, "="))
        if self.current.kind == "eof":
            raise self.error("unbalanced parenthesis: the 'in (' list is never closed", opening)
        if self.current.kind != "rparen":
            raise self.error(f"expected ',' or ')' in the 'in' list, found {_describe(self.current)}")
        self.advance()
        return tuple(values)

    def literal(self, ident: Identifier, op: str) -> Value:
        token = self.current
        if token.is_word("null"):
            raise self.error("compare with null using 'is null' or 'is not null'")
        if token.kind not in ("string", "number"):
            raise self.error(f"expected a number or a quoted string, found {_describe(token)}")
        value = cast(Value, token.value)
        problem = value_error(ident, op, value)
        if problem:
            raise self.error(problem)
        self.advance()
        return value
