"""The errors the eval harness raises on purpose; all are :class:`domain.errors.RagError`.

::

    RagError
    └── EvalError             base class of the harness's own errors
        ├── DatasetError        a QA file that cannot be read (the message says where and why)
        └── BaselineError       a ``--baseline`` report that cannot be compared with this run
"""
from __future__ import annotations

from domain.errors import RagError

__all__ = ["EvalError", "DatasetError", "BaselineError"]


class EvalError(RagError):
    code = "eval_error"


class DatasetError(EvalError):
    code = "bad_dataset"


class BaselineError(EvalError):
    code = "bad_baseline"
