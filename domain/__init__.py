"""The bottom of the system: the plain data types (:mod:`domain.types`), the error tree
(:mod:`domain.errors`) and the mode names (:mod:`domain.modes`) that every package passes around,
and one shared helper (:mod:`domain.logs`). It imports nothing of ours, so ``rag/`` and ``index/``
can both use it without importing each other.
"""
