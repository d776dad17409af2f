"""``python -m eval --qa FILE ...``: the same as ``rag eval``."""
from __future__ import annotations

from eval.cli import main

raise SystemExit(main())
