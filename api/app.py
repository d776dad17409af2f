"""The app factory: ``create_app(settings)`` builds the FastAPI application."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from api.callers import KeyCache
from api.deps import WriteQueue
from api.errors import install_error_handlers
from api.metrics import Metrics
from api.middleware import BodyLimitMiddleware, MetricsMiddleware
from api.rate_limit import RateLimitMiddleware
from api.routes import ask, documents, feedback, health, widget
from api.settings import Settings
from rag import Pipeline

__all__ = ["create_app", "open_pipeline"]

logger = logging.getLogger(__name__)

# Room for multipart framing around a file of exactly RAG_MAX_UPLOAD_MB.
_MULTIPART_SLACK = 64 * 1024


def open_pipeline(settings: Settings) -> Pipeline:
    """The pipeline for ``settings``, with the real embedding model and reader (takes a few seconds)."""
    pipeline = Pipeline.open(settings.index_dir, model_dir=settings.model_dir, backend=settings.embed_backend,
                             create=True, sentence_vectors=settings.sentence_vectors, reader_dir=settings.reader_dir)
    pipeline.answerer.reader  # noqa: B018 - load the reader now, so /readyz means ready to answer
    return pipeline


def _version() -> str:
    try:
        return version("rag-extract")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


def create_app(settings: Settings | None = None, *, pipeline: Pipeline | None = None) -> FastAPI:
    """Build the HTTP service.

    Args:
        settings: the configuration; default: read from ``RAG_*`` environment variables now.
        pipeline: an already open pipeline (tests pass one with a fake embedder); default: open
            ``settings.index_dir`` with the real model while the app starts up.
    """
    settings = settings if settings is not None else Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.pipeline is None:
            app.state.pipeline = await run_in_threadpool(open_pipeline, settings)
            stats = app.state.pipeline.stats()
            logger.info("serving %s: %s documents, %s chunks, model %s", settings.index_dir, stats["documents"],
                        stats["chunks"], stats["model"])
        yield

    app = FastAPI(
        title="rag-extract",
        version=_version(),
        summary="Answers copied from your documents, cited to the character.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pipeline = pipeline
    app.state.writes = WriteQueue()
    app.state.keys = KeyCache()
    app.state.metrics = metrics = Metrics(lambda: app.state.pipeline.stats() if app.state.pipeline else None)

    install_error_handlers(app)
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(feedback.router)
    app.include_router(health.router)
    app.include_router(widget.router)

    # Added innermost first: metrics see everything, CORS headers go on every error (429s included), the
    # body limit sits closest to the routes.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_upload_bytes + _MULTIPART_SLACK)
    if settings.rate_limit is not None:  # inside CORS, so a 429 carries its CORS headers and preflights are free
        async def write_key_name(token: str) -> str | None:
            if app.state.pipeline is None:
                return None
            key = await app.state.keys.find(app.state.pipeline, token)
            return key.name if key is not None and key.write else None

        app.add_middleware(RateLimitMiddleware, limit=settings.rate_limit, metrics=metrics,
                           key=settings.api_key.get_secret_value() if settings.api_key else None,
                           trusted_proxies=settings.trusted_proxies, write_key_name=write_key_name)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
