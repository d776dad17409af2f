"""The bottom of the system: the plain data types (:mod:`domain.types`), the error tree
(:mod:`domain.errors`), the mode names (:mod:`domain.modes`) and the limits on what a document may
carry (:mod:`domain.limits`), who may read what (:mod:`domain.access`: groups, scopes,
filters) and API keys (:mod:`domain.keys`) that every package passes around, and one shared helper (:mod:`domain.logs`). It imports nothing of ours, so ``rag/`` and ``index/``
can both use it without importing each other.
"""
