"""Tokenizer of the search filter and order-by language: text in, positioned tokens out."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Literal

from tracking.errors import FilterError

TokenKind = Literal["ident", "word", "string", "number", "op", "lparen", "rparen", "comma", "eof"]

PREFIXES = ("metrics", "params", "tags", "attributes")

# Unquoted keys may hold dots, so `metrics.val.acc` names the key "val.acc".
_KEY_CHARS = re.compile(r"[A-Za-z0-9_\-/.]+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INTEGER = re.compile(r"[-+]?[0-9]+")
_OPERATORS = ("==", "!=", "<>", "<=", ">=", "=", "<", ">")
_CANONICAL_OP = {"==": "=", "<>": "!="}
_SINGLE = {"(": "lparen", ")": "rparen", ",": "comma"}


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``value`` is the decoded literal, the operator, or (prefix, key) for idents."""

    kind: TokenKind
    text: str  # the source text, for error messages
    pos: int
    value: str | int | float | tuple[str, str] | None = None

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and str(self.value) in words


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with one ``eof`` token; raise FilterError if bad."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # A lone surrogate would only fail later, inside the database driver.
        raise FilterError("invalid character (lone surrogate)", text, exc.start) from None
    tokens: list[Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            tokens.append(Token("eof", "end of input", pos))
            return tokens
        token = _next_token(text, pos)
        tokens.append(token)
        pos += len(token.text)


def _next_token(text: str, pos: int) -> Token:
    char = text[pos]
    if char in _SINGLE:
        return Token(_SINGLE[char], char, pos)  # type: ignore[arg-type]
    if char in "'\"":
        value, end = _read_quoted(text, pos, "string")
        return Token("string", text[pos:end], pos, value)
    number = _NUMBER.match(text, pos)
    if number:
        return _number_token(text, pos, number.end())
    for op in _OPERATORS:
        if text.startswith(op, pos):
            return Token("op", op, pos, _CANONICAL_OP.get(op, op))
    word = _WORD.match(text, pos)
    if word:
        if word.end() < len(text) and text[word.end()] == ".":
            return _ident_token(text, pos, word.group())
        return Token("word", word.group(), pos, word.group().lower())
    shown = "NUL" if char == "\0" else repr(char)
    raise FilterError(f"unexpected character {shown}", text=text, position=pos)


def _number_token(text: str, pos: int, end: int) -> Token:
    literal = text[pos:end]
    if end < len(text) and (text[end].isalnum() or text[end] in "_."):
        raise FilterError(f"malformed number {literal + text[end]!r}...", text=text, position=pos)
    # Integers stay exact up to 18 digits (always inside BIGINT); longer ones become floats.
    exact = _INTEGER.fullmatch(literal) and len(literal.lstrip("+-")) <= 18
    value: int | float = int(literal) if exact else float(literal)
    if isinstance(value, float) and math.isinf(value):
        raise FilterError(f"number {literal} is out of range", text=text, position=pos)
    return Token("number", literal, pos, value)


def _ident_token(text: str, pos: int, word: str) -> Token:
    prefix = word.lower()
    if prefix not in PREFIXES:
        raise FilterError(_unknown_prefix(word), text=text, position=pos)
    key_pos = pos + len(word) + 1
    if key_pos < len(text) and text[key_pos] in '`"':
        key, end = _read_quoted(text, key_pos, "key")
    else:
        match = _KEY_CHARS.match(text, key_pos)
        if not match:
            raise FilterError(
                f"expected a key after '{prefix}.' (quote other keys in backticks: {prefix}.`my key`)",
                text=text,
                position=key_pos,
            )
        key, end = match.group(), match.end()
    if not key:
        raise FilterError(f"empty key after '{prefix}.'", text=text, position=key_pos)
    return Token("ident", text[pos:end], pos, (prefix, key))


def _unknown_prefix(prefix: str) -> str:
    message = f"unknown prefix '{prefix}.'"
    close = difflib.get_close_matches(prefix.lower(), PREFIXES, n=1, cutoff=0.6)
    if close:
        return f"{message} (did you mean '{close[0]}.'?)"
    return f"{message}: expected one of {', '.join(p + '.' for p in PREFIXES)}"


def _read_quoted(text: str, start: int, what: str) -> tuple[str, int]:
    """Decode a quoted string or key starting at ``start``; return (value, end offset).

    The quote is escaped by doubling it or with a backslash; a backslash before any other
    character stays literal, so Windows paths and LIKE escapes (``\\%``) need no doubling.
    """
    quote = text[start]
    out: list[str] = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\0":
            raise FilterError("unexpected character NUL", text=text, position=pos)
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in (quote, "\\"):
            out.append(text[pos + 1])
            pos += 2
        elif char == quote and text.startswith(quote * 2, pos):
            out.append(quote)
            pos += 2
        elif char == quote:
            return "".join(out), pos + 1
        else:
            out.append(char)
            pos += 1
    raise FilterError(f"unterminated {what}: missing closing {quote}", text=text, position=start)


def quote(value: str, quote_char: str = "'") -> str:
    """Render ``value`` as a quoted literal that :func:`tokenize` decodes back to ``value``."""
    escaped = value.replace("\\", "\\\\").replace(quote_char, quote_char * 2)
    return f"{quote_char}{escaped}{quote_char}"


def render_key(prefix: str, key: str) -> str:
    """Render an identifier, quoting the key with backticks only where it needs it."""
    if _KEY_CHARS.fullmatch(key):
        return f"{prefix}.{key}"
    return f"{prefix}.{quote(key, '`')}"
