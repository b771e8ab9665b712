"""Search language of the tracking store: parse filters and order-by items, compile to SQL."""

from __future__ import annotations

from tracking.search.compiler import compile_filter, compile_order_by
from tracking.search.filter import (
    And,
    Compare,
    Identifier,
    In,
    IsNull,
    Node,
    Not,
    Or,
    OrderKey,
    ReferencedKeys,
    parse_filter,
    parse_order_by,
    referenced_keys,
    render_filter,
)

__all__ = [
    "And",
    "Compare",
    "Identifier",
    "In",
    "IsNull",
    "Node",
    "Not",
    "Or",
    "OrderKey",
    "ReferencedKeys",
    "compile_filter",
    "compile_order_by",
    "parse_filter",
    "parse_order_by",
    "referenced_keys",
    "render_filter",
]
