"""The bottom of the system: the plain data types (:mod:`domain.types`), the error tree
(:mod:`domain.errors`), the mode names (:mod:`domain.modes`) and the limits on what a document may
carry (:mod:`domain.limits`) that every package passes around, and one shared helper (:mod:`domain.logs`). It imports nothing of ours, so ``rag/`` and ``index/``
can both use it without importing each other.
"""
