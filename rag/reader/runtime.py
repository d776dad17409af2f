"""Running the reader at question time: ONNX Runtime over int8 weights, batched windows.

The reader directory holds float16 weights (see :mod:`rag.reader.model_dir`). On first use they are
exported to ONNX with torch, attention fused, quantized to int8 per channel and cached under
``~/.cache/rag-extract/reader/`` (written atomically; later starts load the cached file without
importing torch). ``quantized=False`` runs the float graph instead.
"""
from __future__ import annotations

import logging
import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from domain.errors import ModelError
from rag.onnx_export import cached_onnx, default_cache_dir, fuse_bert, read_model_json
from rag.reader.features import SpanGuess, configure, decode_spans, encode_for_reading
from rag.reader.model_dir import DEFAULT_READER_DIR, read_card
from rag.reader.span_edges import mend_edges

__all__ = ["Reader", "READER_RECIPE", "reader_onnx_file"]

logger = logging.getLogger(__name__)

# Bump when the export or quantization recipe changes what the cached ONNX files compute.
READER_RECIPE = "1"


def reader_onnx_file(directory: Path, *, quantized: bool, cache_dir: Path | None = None) -> Path:
    """The reader's ONNX graph, exported and cached on first use."""
    import onnxruntime

    card = read_card(directory)
    digest = card.get("weights_sha256")
    if not digest:
        raise ModelError(f"{directory}: its card has no weights_sha256")
    folder = (cache_dir or default_cache_dir()) / "reader" / f"{digest[:16]}-r{READER_RECIPE}-ort{onnxruntime.__version__}"
    return cached_onnx(folder, "reader", lambda target: _export_float(directory, target), quantized=quantized)


def _export_float(directory: Path, target: Path) -> None:
    import torch

    from rag.reader.model_dir import load_torch_reader

    model = load_torch_reader(directory)
    model.config._attn_implementation = "eager"  # traces to the pattern ONNX Runtime fuses

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.start_logits, out.end_logits

    ids = torch.randint(1000, 2000, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 9:] = 0
    types = torch.zeros_like(ids)
    types[:, 5:] = 1
    names = ["input_ids", "attention_mask", "token_type_ids"]
    raw = target.with_suffix(".raw.onnx")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        expected = [t.numpy() for t in Logits()(ids, mask, types)]
        torch.onnx.export(Logits(), (ids, mask, types), str(raw), input_names=names,
                          output_names=["start_logits", "end_logits"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "start_logits", "end_logits"]})
    fuse_bert(raw, target, read_model_json(directory / "config.json"))
    got = _session(target, 1).run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy(),
                                         "token_type_ids": types.numpy()})
    if not all(np.allclose(g[0], e[0], atol=1e-3) and np.allclose(g[1, :9], e[1, :9], atol=1e-3)
               for g, e in zip(got, expected, strict=True)):
        logger.warning("the fused reader graph disagrees with torch; using the unfused export")
        os.replace(raw, target)
    raw.unlink(missing_ok=True)


def _session(path: Path, threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class Reader:
    """Finds answer spans in passages: ``reader.read(question, contexts)``.

    Args:
        directory: a reader directory; default: the one shipped in the package.
        quantized: run int8 weights (the default: several times faster, within a point of F1).
        max_length: tokens per window (question included); longer contexts are read in
            overlapping windows ``stride`` tokens apart.
        max_answer_tokens: the longest span it returns.
        threads: ONNX Runtime intra-op threads; default one per core.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, quantized: bool = True,
                 max_length: int = 256, stride: int = 96, max_answer_tokens: int = 30,
                 cache_dir: Path | None = None, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        self.directory = Path(directory) if directory else DEFAULT_READER_DIR
        self.card = read_card(self.directory)
        self.quantized = quantized
        self.max_length = max_length
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.tokenizer = configure(Tokenizer.from_file(str(self.directory / "tokenizer.json")),
                                   max_length=max_length, stride=stride)
        self.onnx_file = reader_onnx_file(self.directory, quantized=quantized, cache_dir=cache_dir)
        self._session = _session(self.onnx_file, threads)

    @property
    def name(self) -> str:
        return f"{self.directory.name}@{self.card.get('weights_sha256', '')[:12]}" + ("+int8" if self.quantized else "")

    def logits(self, windows) -> tuple[np.ndarray, np.ndarray]:
        if not len(windows):
            empty = np.zeros((0, 0), dtype=np.float32)
            return empty, empty
        start, end = self._session.run(None, {"input_ids": windows.input_ids, "attention_mask": windows.attention_mask,
                                              "token_type_ids": windows.token_type_ids})
        return start, end

    def read(self, question: str, contexts: list[str], *, top_k: int = 3) -> tuple[list[list[SpanGuess]], np.ndarray]:
        """The best spans of each context (character offsets into it), and each context's no-answer
        score: the lowest ``[CLS]`` score over its windows (the window most sure an answer is there)."""
        return self.read_pairs([question] * len(contexts), contexts, top_k=top_k)

    def read_pairs(self, questions: list[str], contexts: list[str], *, top_k: int = 3
                   ) -> tuple[list[list[SpanGuess]], np.ndarray]:
        windows = encode_for_reading(self.tokenizer, questions, contexts, max_length=self.max_length,
                                     stride=self.stride)
        start, end = self.logits(windows)
        spans = [_mended(guesses, contexts[pair]) for pair, guesses in
                 enumerate(decode_spans(start, end, windows, top_k=top_k, max_answer_tokens=self.max_answer_tokens))]
        spans += [[] for _ in range(len(contexts) - len(spans))]
        null = np.full(len(contexts), np.inf)
        for w, pair in enumerate(windows.pair):
            null[pair] = min(null[pair], float(start[w, 0] + end[w, 0]))
        return spans, null


def _mended(guesses: list[SpanGuess], context: str) -> list[SpanGuess]:
    """Each guess with its edges mended (:func:`~rag.reader.span_edges.mend_edges`), best first, a
    character range kept once (two guesses may mend to the same one)."""
    seen: dict[tuple[int, int], SpanGuess] = {}
    for guess in guesses:
        edges = mend_edges(context, guess.start, guess.end)
        if edges not in seen:
            seen[edges] = replace(guess, start=edges[0], end=edges[1])
    return list(seen.values())
