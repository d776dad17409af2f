"""The local engine's feedback on answers: a table in the store, beside the documents it is about."""
from __future__ import annotations

import dataclasses
import json

from domain.feedback import Feedback
from index.store import Store

__all__ = ["StoreFeedback"]


class StoreFeedback:
    """People's feedback on answers (:class:`index.backend.FeedbackStore`) in a store's ``feedback`` table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, item: Feedback) -> str:
        db = self._store._db
        with self._store._lock:
            db.execute("BEGIN IMMEDIATE")  # the row and its id inside its data: both, or neither
            try:
                row_id = db.execute("INSERT INTO feedback (created_at, data) VALUES (?, '{}')",
                                    (item.created_at,)).lastrowid
                item = dataclasses.replace(item, id=str(row_id))
                db.execute("UPDATE feedback SET data = ? WHERE id = ?",
                           (json.dumps(item.to_dict(), ensure_ascii=False), row_id))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return item.id

    def list(self, since: float | None = None) -> list[Feedback]:
        rows = self._store._query("SELECT data FROM feedback WHERE created_at >= ? ORDER BY created_at, id",
                                  (since if since is not None else float("-inf"),))
        return [Feedback.from_dict(json.loads(row[0])) for row in rows]
