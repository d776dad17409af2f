"""The ``rag`` command line: a thin layer over :class:`rag.Pipeline`.

Each module registers its sub-commands; ``main`` wires them together. This package (not ``rag/``)
may import ``api`` and ``eval``, which keeps the domain free of them.
"""
