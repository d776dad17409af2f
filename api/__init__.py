"""The HTTP API and chat widget: ``create_app(settings)`` builds the FastAPI application.

>>> from api import Settings, create_app
>>> app = create_app(Settings(index_dir=".rag-index"))   # uvicorn.run(app)
"""
from __future__ import annotations

from api.app import create_app
from api.settings import Settings

__all__ = ["create_app", "Settings"]
