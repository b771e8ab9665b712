"""Compile filter ASTs and order-by keys to SQLAlchemy Core expressions over ``runs``.

Every literal and key becomes a bound parameter; only SQLAlchemy constructs that render on
both SQLite and PostgreSQL are used. ``like``/``ilike`` run as anchored regular expressions
because SQLite's LIKE ignores ASCII case while PostgreSQL's does not.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

from sqlalchemy import (
    BigInteger,
    Float,
    Table,
    and_,
    asc,
    case,
    cast,
    desc,
    exists,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from tracking.errors import FilterError
from tracking.search.filter import (
    And,
    Compare,
    In,
    IsNull,
    Node,
    Not,
    Or,
    OrderKey,
    Predicate,
    Value,
    check_size,
    identifier_error,
    parse_filter,
    parse_order_by,
    value_error,
)
from tracking.store.schema import metric_summaries, params, runs, tags

Comparator = Callable[[ColumnElement, Value], ColumnElement[bool]]
_COMPARATORS: dict[str, Comparator] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# The positive form each negated operator is compiled from, then wrapped in NOT.
_POSITIVE = {"!=": "=", "not like": "like", "not ilike": "ilike"}
_TEXT_TABLES: dict[str, Table] = {"params": params, "tags": tags}

# Text that PostgreSQL's float8 input accepts without an out-of-range error: the digit
# counts are bounded so that no match can overflow or underflow a double.
NUMERIC_TEXT = r"\A[-+]?(?:[0-9]{1,100}(?:\.[0-9]{0,100})?|\.[0-9]{1,100})(?:[eE][-+]?[0-9]{1,2})?\Z"


def compile_filter(filter_: str | Node | None) -> ColumnElement[bool]:
    """A boolean SQL expression over ``runs`` for a filter; blank or None matches every run."""
    if filter_ is None or (isinstance(filter_, str) and not filter_.strip()):
        return true()
    node = parse_filter(filter_) if isinstance(filter_, str) else filter_
    check_size(node)  # parsed text is within bounds already; a hand-built node may not be
    return _compile(node)


def compile_order_by(items: str | Sequence[str | OrderKey] | None) -> list[ColumnElement]:
    """ORDER BY clauses for order-by items; missing keys and NaN metrics sort last either way."""
    if isinstance(items, str) or items is None:
        keys = parse_order_by(items)
    else:
        keys = [item if isinstance(item, OrderKey) else parse_order_by(item)[0] for item in items]
    clauses: list[ColumnElement] = []
    for key in keys:
        clauses.extend(_order_clauses(key))
    return clauses


def like_to_regex(pattern: str, ignore_case: bool = False) -> str:
    """An anchored regex, valid for Python's ``re`` and PostgreSQL, equal to a LIKE pattern.

    ``%`` is any run of characters and ``_`` one character; ``\\%``, ``\\_`` and ``\\\\`` are
    literal. Any other backslash is itself literal, so ``'C:\\temp%'`` needs no doubling.
    """
    parts = ["(?si)" if ignore_case else "(?s)", r"\A"]
    pos = 0
    while pos < len(pattern):
        char = pattern[pos]
        if char == "\\" and pattern[pos + 1 : pos + 2] in ("%", "_", "\\"):
            pos += 1
            parts.append(_regex_literal(pattern[pos]))
        elif char == "%":
            # Collapsing runs of % keeps backtracking down on patterns like '%%%%a'.
            if parts[-1] != ".*":
                parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(_regex_literal(char))
        pos += 1
    parts.append(r"\Z")
    return "".join(parts)


def _regex_literal(char: str) -> str:
    # Both engines read a backslash before a non-alphanumeric ASCII character as that
    # character; letters and digits must stay bare since escaped they mean classes.
    if char.isascii() and not char.isalnum() and char != "_":
        return "\\" + char
    return char


def _compile(node: Node) -> ColumnElement[bool]:
    match node:
        case And(operands):
            return and_(*(_compile(child) for child in operands))
        case Or(operands):
            return or_(*(_compile(child) for child in operands))
        case Not(operand):
            return not_(_compile(operand))
        case Compare() | In() | IsNull():
            _check(node)
            if node.ident.kind == "metrics":
                return _metric_predicate(node)
            if node.ident.kind == "attributes":
                return _attribute_predicate(node)
            return _text_predicate(_TEXT_TABLES[node.ident.kind], node)
    raise FilterError(f"not a filter node: {node!r}")


def _check(node: Predicate) -> None:
    """Re-validate nodes built by hand, which never went through the parser's checks."""
    problem = identifier_error(node.ident)
    if problem:
        raise FilterError(problem)
    if isinstance(node, In) and not node.values:
        raise FilterError(f"empty 'in ()' list for {node.ident}")
    pairs = [(node.op, node.value)] if isinstance(node, Compare) else []
    if isinstance(node, In):
        pairs = [("=", value) for value in node.values]
    if isinstance(node, Compare) and node.op not in (*_COMPARATORS, *_POSITIVE, "like", "ilike"):
        raise FilterError(f"unknown operator {node.op!r}")
    for op, value in pairs:
        problem = value_error(node.ident, op, value)
        if problem:
            raise FilterError(problem)


def _exists(table: Table, key: str, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(table.c.run_id == runs.c.run_id, table.c.key == key, *conditions).correlate(runs)


def _metric_predicate(node: Predicate) -> ColumnElement[bool]:
    # Only a missing summary row is "null"; a NaN latest value (stored NULL) is present but
    # matches no comparison, as NaN compares false in IEEE arithmetic.
    last = metric_summaries.c.last_value
    if isinstance(node, IsNull):
        found = _exists(metric_summaries, node.ident.key)
        return found if node.negated else not_(found)
    if isinstance(node, In):
        values = [_bind(value) for value in node.values]
        condition = last.not_in(values) if node.negated else last.in_(values)
    else:
        condition = _COMPARATORS[node.op](last, _bind(node.value))
    return _exists(metric_summaries, node.ident.key, condition)


def _text_predicate(table: Table, node: Predicate) -> ColumnElement[bool]:
    # Every condition on the value is two-valued (the value is NOT NULL), so negating it
    # inside EXISTS keeps "a missing key matches nothing" for != and not in too.
    if isinstance(node, IsNull):
        found = _exists(table, node.ident.key)
        return found if node.negated else not_(found)
    if isinstance(node, In):
        condition = or_(*(_text_compare(table.c.value, "=", value) for value in node.values))
        negated = node.negated
    else:
        condition = _text_compare(table.c.value, _POSITIVE.get(node.op, node.op), node.value)
        negated = node.op in _POSITIVE
    return _exists(table, node.ident.key, not_(condition) if negated else condition)


def _text_compare(column: ColumnElement, op: str, value: Value) -> ColumnElement[bool]:
    if op in ("like", "ilike"):
        return column.regexp_match(like_to_regex(str(value), ignore_case=op == "ilike"))
    if isinstance(value, str):
        return _COMPARATORS[op](column, value)
    looks_numeric = column.regexp_match(NUMERIC_TEXT)
    return and_(looks_numeric, _COMPARATORS[op](_as_number(column), _bind(value)))


def _as_number(column: ColumnElement) -> ColumnElement:
    # PostgreSQL may evaluate a CAST before a sibling AND condition, so the guard must sit
    # in a CASE; non-numeric text yields NULL instead of a cast error.
    return case((column.regexp_match(NUMERIC_TEXT), cast(column, Float)))


def _attribute_predicate(node: Predicate) -> ColumnElement[bool]:
    column = runs.c[node.ident.key]
    if isinstance(node, IsNull):
        return column.is_not(None) if node.negated else column.is_(None)
    if isinstance(node, In):
        values = [_bind(_attribute_value(node.ident.key, value)) for value in node.values]
        condition = column.not_in(values) if node.negated else column.in_(values)
    else:
        positive = _POSITIVE.get(node.op, node.op)
        if positive in ("like", "ilike"):
            condition = _text_compare(column, positive, node.value)
        else:
            value = _bind(_attribute_value(node.ident.key, node.value))
            condition = _COMPARATORS[positive](column, value)
        condition = not_(condition) if node.op in _POSITIVE else condition
    # A NULL attribute (no end time, no parent) matches no comparison, as a missing key.
    return and_(column.is_not(None), condition) if column.nullable else condition


def _attribute_value(name: str, value: Value) -> Value:
    return str(value).upper() if name == "status" else value


def _bind(value: Value) -> ColumnElement:
    """A bound parameter typed by the literal, not by the column it meets.

    Typing by the column would round 1.5 to 2 against a BIGINT column on PostgreSQL; a
    Python int bound as INTEGER could overflow there.
    """
    if isinstance(value, str):
        return literal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return literal(value, BigInteger)
    return literal(float(value), Float)


def _order_clauses(key: OrderKey) -> list[ColumnElement]:
    problem = identifier_error(key.ident)
    if problem:
        raise FilterError(problem)
    direction = desc if key.descending else asc
    kind, name = key.ident.kind, key.ident.key
    if kind == "metrics":
        last = _scalar(metric_summaries, name, metric_summaries.c.last_value)
        return [last.is_(None), direction(last)]
    if kind == "attributes":
        column = runs.c[name]
        return [column.is_(None), direction(column)] if column.nullable else [direction(column)]
    # Params and tags: numeric-looking values first, in numeric order, then the rest as text.
    table = _TEXT_TABLES[kind]
    text = _scalar(table, name, table.c.value)
    number = _scalar(table, name, _as_number(table.c.value))
    return [text.is_(None), number.is_(None), direction(number), direction(text)]


def _scalar(table: Table, key: str, value: ColumnElement) -> ColumnElement:
    return select(value).where(table.c.run_id == runs.c.run_id, table.c.key == key).correlate(runs).scalar_subquery()
