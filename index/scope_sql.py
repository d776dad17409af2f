"""A :class:`~domain.access.Scope` as SQL over the store's ``doc_groups`` and ``doc_fields`` tables
(:mod:`index.store_schema`): the documents it admits, found through their indexes, never by reading
every document."""
from __future__ import annotations

from domain.access import Condition, Scope, field_values, prefix_successor
from domain.types import Document

__all__ = ["admitted_documents", "field_rows"]


def field_rows(doc: Document) -> list[tuple]:
    """The ``doc_fields`` rows of a document: what it can be filtered by."""
    return [(doc.doc_id, field, kind, int(listed), value)
            for field, kind, listed, value in field_values(doc.source, doc.title, doc.metadata)]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _condition(condition: Condition) -> tuple[str, list]:
    """``SELECT doc_id …`` of the documents meeting one condition (the rules of :func:`domain.access.admits`)."""
    head = "SELECT doc_id FROM doc_fields WHERE field = ? AND "
    if condition.op == "eq":
        by_kind: dict[str, list] = {}
        for value in condition.values:
            kind = "b" if isinstance(value, bool) else "n" if isinstance(value, (int, float)) else "s"
            by_kind.setdefault(kind, []).append(value)
        parts = " OR ".join(f"(kind = ? AND value IN ({_marks(len(values))}))" for values in by_kind.values())
        params = [item for kind, values in by_kind.items() for item in (kind, *values)]
        return f"{head}({parts})", [condition.field, *params]
    if condition.op == "prefix":
        upper = prefix_successor(condition.prefix)
        sql = f"{head}kind = 's' AND listed = 0 AND value >= ?" + (" AND value < ?" if upper is not None else "")
        return sql, [condition.field, condition.prefix, *([upper] if upper is not None else [])]
    sql = f"{head}kind = ? AND listed = 0"
    params: list = [condition.field, "d" if condition.dates else "n"]
    if condition.low is not None:
        sql += " AND value >= ?"
        params.append(condition.low)
    if condition.high is not None:
        sql += " AND value <= ?"
        params.append(condition.high)
    return sql, params


def admitted_documents(scope: Scope) -> tuple[str, list]:
    """``SELECT doc_id …`` of every document ``scope`` admits, with its parameters."""
    parts: list[tuple[str, list]] = []
    if scope.groups is not None:
        groups = sorted(scope.groups)
        parts.append((f"SELECT doc_id FROM doc_groups WHERE grp IN ({_marks(len(groups))})", groups))
    parts.extend(_condition(condition) for condition in scope.where)
    if not parts:
        return "SELECT doc_id FROM documents", []
    return " INTERSECT ".join(sql for sql, _ in parts), [p for _, params in parts for p in params]
