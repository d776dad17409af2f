"""Who may read what: the groups a document belongs to, and filters on documents' fields.

A document belongs to one or more **groups** (default ``public``). A reader sees a document when
one of its groups is in the reader's :class:`Scope`; a ``where`` filter narrows that further, by
the document's ``source``, ``title`` or top-level ``metadata`` keys. Both engines enforce a scope
inside retrieval (:mod:`index`), so ``k`` passages still come back when a scope admits 1% of an
index; :func:`admits` is the plain-Python statement of the same rules, for tests to check them against.

Filter semantics (``where`` is a JSON object; every condition must hold):

* ``"key": value`` — the field equals ``value`` (a string, number or boolean; a boolean never equals
  a number); a metadata list matches when one of its elements does;
* ``"key": [v1, v2]`` — equals any of them;
* ``"key": {"prefix": "str"}`` — a string value starting with it;
* ``"key": {"gte": x, "lte": y}`` (either or both) — numbers, or ISO 8601 dates and times (a date-only
  ``lte`` includes that whole day; times without a zone are UTC). Lists never match a range or prefix.

``source`` and ``title`` always name the document's own fields (a metadata key of either name is not
filterable).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from domain.types import PUBLIC

__all__ = ["PUBLIC", "MAX_GROUPS", "MAX_CONDITIONS", "MAX_ANY_OF", "DOCUMENT_FIELDS", "FilterError", "Condition",
           "Scope", "EVERYTHING", "PUBLIC_ONLY", "parse_groups", "groups_problem", "parse_where", "parse_where_args",
           "field_values", "is_filterable_key", "admits", "FieldValue", "prefix_successor"]

MAX_GROUPS = 32  # per document or key
MAX_CONDITIONS = 16  # per filter
MAX_ANY_OF = 100  # values in one "any of" list
DOCUMENT_FIELDS = ("source", "title")  # filterable fields of the document itself; other names are metadata keys
_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")  # metadata keys that can be filtered on
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OPERATORS = ("prefix", "gte", "lte")


class FilterError(ValueError):
    """A ``where`` filter or a list of groups that cannot be used, with why."""


Scalar = str | int | float | bool
# How a value is stored for filtering: kind "s" (string), "n" (number), "b" (boolean), "d" (a date or
# time, as seconds since 1970 UTC, beside its "s" form); ``listed``: an element of a metadata list.
FieldValue = tuple[str, str, bool, Any]  # (field, kind, listed, value)


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of a filter: ``field`` (``source``, ``title`` or a metadata key) and a test."""

    field: str
    op: Literal["eq", "prefix", "range"]
    values: tuple[Scalar, ...] = ()  # eq: any of these
    prefix: str = ""
    low: float | None = None  # range, inclusive
    high: float | None = None
    dates: bool = False  # range: ``low``/``high`` are seconds since 1970 UTC


@dataclass(frozen=True, slots=True)
class Scope:
    """What one reader may see: documents in one of ``groups`` (None: every group) meeting ``where``."""

    groups: frozenset[str] | None = None
    where: tuple[Condition, ...] = ()

    @property
    def unrestricted(self) -> bool:
        return self.groups is None and not self.where

    def sees_groups(self, groups: Iterable[str]) -> bool:
        return self.groups is None or not self.groups.isdisjoint(groups)

    def narrowed(self, where: tuple[Condition, ...]) -> Scope:
        return Scope(self.groups, self.where + tuple(where))


EVERYTHING = Scope()
PUBLIC_ONLY = Scope(frozenset({PUBLIC}))


# ---- groups ----

def groups_problem(groups: Any) -> str | None:
    """Why ``groups`` is not a usable list of group names, or None."""
    if not isinstance(groups, (list, tuple)) or not groups:
        return "groups must be a non-empty list of names"
    if len(groups) > MAX_GROUPS:
        return f"at most {MAX_GROUPS} groups"
    for name in groups:
        if not isinstance(name, str) or not _GROUP.fullmatch(name):
            return (f"{str(name)[:70]!r} is not a group name: 1-64 letters, digits, '_', '.' or '-', "
                    "starting with a letter or digit")
    return None


def parse_groups(value: str | Iterable[str]) -> tuple[str, ...]:
    """Group names from ``"a,b"`` or a list, sorted and without repeats. Raises :class:`FilterError`."""
    if not isinstance(value, (str, list, tuple)):
        raise FilterError("groups must be a list of names, or names separated by commas")
    names = [part.strip() for part in value.split(",")] if isinstance(value, str) else list(value)
    names = [name for name in names if not isinstance(name, str) or name]
    problem = groups_problem(names)
    if problem:
        raise FilterError(problem)
    return tuple(sorted(set(names)))


# ---- filters ----

def is_filterable_key(key: str) -> bool:
    return bool(_KEY.fullmatch(key))


def _is_scalar(value: Any) -> bool:
    """A value a filter can compare: a string, boolean, finite number, integers within 64 bits (as stored)."""
    if isinstance(value, bool):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int):
        return -(2 ** 63) <= value < 2 ** 63
    return _is_text(value)


def _is_text(value: Any) -> bool:
    """A string of valid Unicode (a lone surrogate, which JSON can carry as an escape, is not)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _date_range(text: str) -> tuple[float, float] | None:
    """The instants an ISO 8601 date or time covers (a date: its whole day), or None if it is not one."""
    if not isinstance(text, str) or not _DATE.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    start = moment.timestamp()
    whole_day = len(text) == 10
    return start, (moment + timedelta(days=1)).timestamp() - 1e-3 if whole_day else start


def _condition(field: str, spec: Any) -> Condition:
    where = f'"{field}"'
    document_field = field in DOCUMENT_FIELDS
    if isinstance(spec, list):
        if not 1 <= len(spec) <= MAX_ANY_OF:
            raise FilterError(f"{where}: a list of 1 to {MAX_ANY_OF} values to match any of")
        values = spec
    elif isinstance(spec, dict):
        unknown = [name for name in spec if name not in _OPERATORS]
        if unknown or not spec:
            raise FilterError(f"{where}: unknown operator {str(unknown[0])[:40]!r}: use prefix, gte or lte"
                              if unknown else f"{where}: an empty operator object: use prefix, gte or lte")
        if "prefix" in spec:
            if len(spec) > 1:
                raise FilterError(f"{where}: prefix cannot be combined with gte or lte")
            prefix = spec["prefix"]
            if not _is_text(prefix) or not prefix:
                raise FilterError(f"{where}: prefix must be a non-empty string of valid Unicode")
            return Condition(field, "prefix", prefix=prefix)
        if document_field:
            raise FilterError(f"{where}: {field} is text: match it exactly or by prefix")
        bounds = {name: spec[name] for name in ("gte", "lte") if name in spec}
        if all(_is_number(v) for v in bounds.values()):
            return Condition(field, "range", low=float(bounds["gte"]) if "gte" in bounds else None,
                             high=float(bounds["lte"]) if "lte" in bounds else None)
        dates = {name: _date_range(v) for name, v in bounds.items()}
        if all(dates.values()):
            return Condition(field, "range", dates=True, low=dates["gte"][0] if "gte" in dates else None,
                             high=dates["lte"][1] if "lte" in dates else None)
        raise FilterError(f"{where}: gte and lte take numbers, or ISO 8601 dates such as \"2024-05-01\" (both "
                          "of one kind)")
    else:
        values = [spec]
    for value in values:
        if not _is_scalar(value):
            raise FilterError(f"{where}: {str(value)[:40]!r} is not a string, number (integers within 64 bits) or "
                              "boolean")
        if document_field and not isinstance(value, str):
            raise FilterError(f"{where}: {field} is text: compare it with a string")
    return Condition(field, "eq", values=tuple(values))


def parse_where(where: Any) -> tuple[Condition, ...]:
    """The conditions of a ``where`` object (module docstring). Raises :class:`FilterError` saying what is wrong."""
    if where is None:
        return ()
    if not isinstance(where, Mapping):
        raise FilterError("where must be an object of field: condition")
    if len(where) > MAX_CONDITIONS:
        raise FilterError(f"where holds at most {MAX_CONDITIONS} conditions")
    conditions = []
    for field, spec in where.items():
        if not isinstance(field, str) or not (field in DOCUMENT_FIELDS or is_filterable_key(field)):
            raise FilterError(f"{str(field)[:70]!r} cannot be filtered on: source, title, or a metadata key of "
                              "1-64 letters, digits, '_', '.' or '-'")
        conditions.append(_condition(field, spec))
    return tuple(conditions)


def _cli_value(text: str) -> Scalar:
    """A command-line value: a number or boolean when it reads as one, else the string."""
    if text in ("true", "false"):
        return text == "true"
    try:
        number = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return text
    return number if _is_number(number) else text


def parse_where_args(args: Iterable[str]) -> tuple[Condition, ...]:
    """``key=value``, ``key>=value``, ``key<=value`` or ``key^=prefix`` (repeatable; a key given twice
    with ``=`` matches any of its values). Raises :class:`FilterError`."""
    where: dict[str, Any] = {}
    for arg in args:
        match = re.fullmatch(r"([^=<>^]+)(\^=|>=|<=|=)(.*)", arg, flags=re.S)
        if not match:
            raise FilterError(f"--where {arg!r}: expected key=value, key>=value, key<=value or key^=prefix")
        key, op, raw = match.group(1).strip(), match.group(2), match.group(3)
        value = raw if key in DOCUMENT_FIELDS or op == "^=" else _cli_value(raw)
        if op == "=":
            before = where.get(key)
            where[key] = value if before is None else [*(before if isinstance(before, list) else [before]), value]
        elif op == "^=":
            where[key] = {"prefix": raw}
        else:
            bounds = where.get(key) if isinstance(where.get(key), dict) else {}
            where[key] = {**bounds, "gte" if op == ">=" else "lte": value}
    return parse_where(where)


# ---- what engines store, and the reference semantics ----

def field_values(source: str, title: str, metadata: Mapping[str, Any]) -> list[FieldValue]:
    """What a document can be filtered by: its source, its title, and each filterable metadata key's
    scalar value or list elements, with a date-or-time string also stored as its instant."""
    found: list[FieldValue] = [("source", "s", False, source), ("title", "s", False, title)]
    for key, value in metadata.items():
        if not is_filterable_key(key) or key in DOCUMENT_FIELDS:  # "source" and "title" name the document's own
            continue
        listed = isinstance(value, list)
        for item in value if listed else [value]:
            if isinstance(item, bool):
                found.append((key, "b", listed, item))
            elif _is_number(item):
                found.append((key, "n", listed, item))
            elif isinstance(item, str):
                found.append((key, "s", listed, item))
                instant = None if listed else _date_range(item)
                if instant is not None:
                    found.append((key, "d", False, instant[0]))
    return found


def _kind(value: Scalar) -> str:
    return "b" if isinstance(value, bool) else "n" if isinstance(value, (int, float)) else "s"


def _holds(condition: Condition, values: list[FieldValue]) -> bool:
    mine = [(kind, listed, value) for field, kind, listed, value in values if field == condition.field]
    if condition.op == "eq":
        return any(kind == _kind(wanted) and value == wanted
                   for wanted in condition.values for kind, _, value in mine)
    if condition.op == "prefix":
        return any(kind == "s" and not listed and value.startswith(condition.prefix) for kind, listed, value in mine)
    kind = "d" if condition.dates else "n"
    return any(k == kind and not listed and (condition.low is None or v >= condition.low)
               and (condition.high is None or v <= condition.high) for k, listed, v in mine)


def admits(scope: Scope, groups: Iterable[str], source: str, title: str, metadata: Mapping[str, Any]) -> bool:
    """Whether ``scope`` sees a document: the reference every engine's filtering must agree with."""
    if not scope.sees_groups(groups):
        return False
    values = field_values(source, title, metadata) if scope.where else []
    return all(_holds(condition, values) for condition in scope.where)


def prefix_successor(prefix: str) -> str | None:
    """The least string above every string starting with ``prefix`` (code point order), or None if there
    is none: ``value.startswith(prefix)`` is ``prefix <= value < prefix_successor(prefix)``, a range an
    index (or a filter expression without pattern syntax) can answer."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            following = last + 1 if last + 1 not in range(0xD800, 0xE000) else 0xE000  # no surrogates
            return "".join(chars) + chr(following)
    return None
