"""Shared fixtures: a fast fake embedder, the real model (once per session), and the shared data."""
from __future__ import annotations

from pathlib import Path

import pytest

from rag import Pipeline
from rag.hash_embedder import HashEmbedder

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
NEWS_DIR = SHARED / "corpus" / "news"
SQUAD_FILE = SHARED / "eval" / "squad2-dev-public.json"
AMBASSADOR_FILE = NEWS_DIR / "000_f2dc38f99771cb88.txt"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Integration tests need ../shared; without it they skip with the reason rather than fail.
    if not NEWS_DIR.is_dir() or not SQUAD_FILE.is_file():
        skip = pytest.mark.skip(reason=f"shared data not found at {SHARED}")
        for item in items:
            if "integration" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def shipped_reader_exported() -> None:
    """Export the shipped reader to ONNX once, before any test times a request: on a fresh machine the
    first use makes the file (10-20 s), later ones load it from the cache."""
    from rag.reader.model_dir import DEFAULT_READER_DIR
    from rag.reader.runtime import reader_onnx_file

    reader_onnx_file(DEFAULT_READER_DIR, quantized=True)


@pytest.fixture
def fake_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def pipeline(tmp_path: Path, fake_embedder: HashEmbedder) -> Pipeline:
    """An empty pipeline on a temporary index, with the fast fake embedder."""
    return Pipeline.open(tmp_path / "index", embedder=fake_embedder)


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled all-MiniLM-L6-v2, loaded once for the whole test session."""
    from rag.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def news_pipeline(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Pipeline:
    """The real model over ../shared/corpus/news, ingested once."""
    if not NEWS_DIR.is_dir():
        pytest.skip(f"shared data not found at {NEWS_DIR}")
    pipeline = Pipeline.open(tmp_path_factory.mktemp("news") / "index", embedder=real_embedder)
    pipeline.ingest([NEWS_DIR])
    return pipeline
