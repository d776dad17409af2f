"""A :class:`~domain.access.Scope` as a Milvus filter expression, over the labels each document's rows carry.

Every ``_documents`` and ``_chunks`` row carries its document's ``groups`` (an ``ARRAY`` of names) and
``labels``, a JSON object of what :func:`domain.access.field_values` says the document can be filtered by,
one namespace per kind of value, so that no comparison ever mixes kinds (milvus-lite holds
``true == 1``; a server does not):

* ``"f"``: the document's own ``source`` and ``title`` (metadata keys of those names are not filterable);
* ``"s"``, ``"n"``, ``"b"``, ``"d"``: a metadata key's scalar string, number, boolean, and the instant
  (seconds since 1970) a date-or-time string stands for;
* ``"ls"``, ``"ln"``, ``"lb"``: the elements of a metadata list, by kind (booleans as ``"true"`` and
  ``"false"``: a server's ``json_contains_any`` cannot compare booleans). Lists match ``eq`` only.

Strings are stored and compared :func:`encoded`: the two engines read escapes in a string literal
differently (milvus-lite knows no ``\\u``; a server takes ``\\n`` for something else), so no literal
holds a character that would need one.

A server refuses an expression nested deeper than a few dozen operators ("unsupported expr proto
node" for 60 ``or`` in a row, not for 30), so alternatives and conditions are combined as balanced
trees: 16 conditions of 100 values each nest about a dozen deep.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from domain.access import DOCUMENT_FIELDS, Condition, Scope, field_values, prefix_successor

__all__ = ["labels", "scope_filter", "encoded", "literal"]

_ESCAPE = "\x01"
# No row matches: every document belongs to one group at least.
_NOTHING = "array_length(groups) == 0"


def encoded(text: str) -> str:
    """``text`` with each character below U+0020 written as U+0001 and a printable one: no literal
    then needs an escape but ``\\\\`` and ``\\"``, and the code-point order (which prefix ranges rely on)
    and prefixes are kept."""
    if not any(char < " " for char in text):
        return text
    return "".join(f"{_ESCAPE}{chr(0x20 + ord(char))}" if char < " " else char for char in text)


def literal(text: str) -> str:
    """A string literal both engines read the same way (see :func:`encoded`)."""
    return '"' + encoded(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: int | float) -> str:
    """A number literal (integers are within 64 bits: domain.access and domain.limits see to it)."""
    return str(value) if isinstance(value, int) else repr(float(value))


def labels(source: str, title: str, metadata: Mapping[str, Any]) -> dict[str, dict]:
    """The ``labels`` JSON of a document's rows (module docstring)."""
    found: dict[str, dict] = {"f": {"source": encoded(source), "title": encoded(title)}}
    # field_values lists the document's own source and title first, then the metadata's values.
    for field, kind, listed, value in field_values(source, title, metadata)[2:]:
        if kind == "s":
            value = encoded(value)
        if listed:
            found.setdefault(f"l{kind}", {}).setdefault(field, []).append(
                json.dumps(value) if kind == "b" else value)
        else:
            found.setdefault(kind, {})[field] = value
    return found


def _path(namespace: str, field: str) -> str:
    return f"labels[{literal(namespace)}][{literal(field)}]"


def _tree(parts: list[str], operator: str) -> str:
    """``parts`` joined by ``operator`` as a balanced tree, parenthesized."""
    if len(parts) == 1:
        return f"({parts[0]})"
    middle = len(parts) // 2
    return f"({_tree(parts[:middle], operator)} {operator} {_tree(parts[middle:], operator)})"


def _kind(value: Any) -> str:
    return "b" if isinstance(value, bool) else "n" if isinstance(value, (int, float)) else "s"


def _equals(condition: Condition) -> list[str]:
    """The field equals one of the values (a list element counts)."""
    by_kind: dict[str, list] = {}
    for value in condition.values:
        by_kind.setdefault(_kind(value), []).append(value)
    parts = []
    for kind, given in by_kind.items():
        values = list(dict.fromkeys(given))  # within a kind: True and 1 never meet
        if kind == "s":
            scalars = [literal(v) for v in values]
            elements = scalars
        elif kind == "n":
            scalars = [_number(v) for v in values]
            # A server's json_contains_any finds a stored 1.0 for 1.0 but not for 1, and a stored 1 for both.
            elements = list(dict.fromkeys([*scalars, *(repr(float(v)) for v in values if float(v) == v)]))
        else:
            scalars = [json.dumps(v) for v in values]
            elements = [literal(json.dumps(v)) for v in values]
        if condition.field in DOCUMENT_FIELDS:  # text: domain.access allows strings only
            parts += [f"{_path('f', condition.field)} == {s}" for s in scalars]
            continue
        parts += [f"{_path(kind, condition.field)} == {s}" for s in scalars]
        parts.append(f"json_contains_any({_path('l' + kind, condition.field)}, [{', '.join(elements)}])")
    return parts


def _starts_with(condition: Condition) -> list[str]:
    """A scalar string starting with the prefix: a range, so that no pattern syntax needs escaping."""
    low, high = condition.prefix, prefix_successor(condition.prefix)
    path = _path("f" if condition.field in DOCUMENT_FIELDS else "s", condition.field)
    return [f"{path} >= {literal(low)}" + (f" and {path} < {literal(high)}" if high is not None else "")]


def _in_range(condition: Condition) -> list[str]:
    """A scalar number (or date, as its instant) within the bounds (a range has one at least)."""
    path = _path("d" if condition.dates else "n", condition.field)
    bounds = [f"{path} {operator} {_number(bound)}"
              for operator, bound in ((">=", condition.low), ("<=", condition.high)) if bound is not None]
    return [" and ".join(bounds)]


_TESTS = {"eq": _equals, "prefix": _starts_with, "range": _in_range}


def scope_filter(scope: Scope | None) -> str:
    """The filter expression of the rows ``scope`` admits ("" for every row), parenthesized, for the
    ``_documents`` and ``_chunks`` collections."""
    if scope is None or scope.unrestricted:
        return ""
    parts = []
    if scope.groups is not None:
        names = ", ".join(literal(name) for name in sorted(scope.groups))
        parts.append(f"array_contains_any(groups, [{names}])" if names else _NOTHING)
    parts += [_tree(_TESTS[condition.op](condition), "or") for condition in scope.where]
    return _tree(parts, "and")
