"""The bottom of the system: the plain data types (:mod:`domain.types`) and the error tree
(:mod:`domain.errors`) that every package passes around. It imports nothing of ours, so ``rag/``
and ``index/`` can both use it without importing each other.
"""
