"""Making the ONNX files the ``"onnx"`` and ``"onnx-int8"`` embedding backends run.

A sentence-transformers model directory is exported with torch once, its attention fused by ONNX
Runtime's transformer optimizer and checked against torch, optionally quantized to int8 weights,
and cached under :func:`default_cache_dir`; nothing is ever downloaded.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from domain.errors import ModelError
from domain.logs import quiet_logger

__all__ = ["ONNX_RECIPE", "default_cache_dir", "onnx_model_file", "read_model_json", "quantize_int8", "fuse_bert", "cached_onnx"]

logger = logging.getLogger(__name__)

# Bump when the export or quantization recipe changes what the ONNX files compute.
ONNX_RECIPE = "1"


def default_cache_dir() -> Path:
    """Where derived model files (ONNX exports) are kept: ``~/.cache/rag-extract``."""
    return Path.home() / ".cache" / "rag-extract"


def read_model_json(path: Path) -> dict:
    """A model directory's JSON file, or ``{}`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


_export_lock = threading.Lock()


def onnx_model_file(model_dir: Path, weights_sha256: str, *, quantized: bool, cache_dir: Path | None = None) -> Path:
    """The ONNX graph of a sentence-transformers model directory, exported and cached on first use.

    The export (torch, once, a few seconds) fuses attention with ONNX Runtime's transformer
    optimizer and checks the fused graph against torch; ``quantized`` adds dynamic int8 weights.
    Files live in ``cache_dir/onnx/<weights hash>-<recipe>/``, written atomically, so concurrent
    processes are safe. Only BERT-style encoders with mean pooling are supported.

    Raises:
        ModelError: the model cannot be exported (another architecture or pooling).
    """
    import onnxruntime

    folder = (cache_dir or default_cache_dir()) / "onnx" / f"{weights_sha256[:16]}-r{ONNX_RECIPE}-ort{onnxruntime.__version__}"
    path = cached_onnx(folder, "model", lambda target: _export_float(model_dir, target), quantized=quantized)
    return path


def cached_onnx(folder: Path, stem: str, export: Callable[[Path], None], *, quantized: bool) -> Path:
    """``folder/stem.onnx`` (or ``stem-int8.onnx``), made on first use: ``export(target)`` writes the
    float graph, which is then quantized when asked. Files are written in a temporary folder beside
    ``folder`` and moved in atomically, so concurrent threads and processes are safe."""
    name = f"{stem}-int8.onnx" if quantized else f"{stem}.onnx"
    if (folder / name).is_file():
        return folder / name
    with _export_lock:
        if (folder / name).is_file():
            return folder / name
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
        try:
            if (folder / f"{stem}.onnx").is_file():
                shutil.copyfile(folder / f"{stem}.onnx", work / f"{stem}.onnx")
            else:
                export(work / f"{stem}.onnx")
            if quantized:
                quantize_int8(work / f"{stem}.onnx", work / f"{stem}-int8.onnx")
            folder.mkdir(parents=True, exist_ok=True)
            for produced in work.iterdir():
                os.replace(produced, folder / produced.name)  # atomic per file; same bytes if raced
        finally:
            shutil.rmtree(work, ignore_errors=True)
    logger.info("exported %s", folder / name)
    return folder / name


def _export_float(model_dir: Path, target: Path) -> None:
    pooling = read_model_json(model_dir / "1_Pooling" / "config.json")
    config = read_model_json(model_dir / "config.json")
    if not pooling.get("pooling_mode_mean_tokens") or config.get("model_type") not in ("bert", "roberta", "xlm-roberta"):
        raise ModelError(f"the ONNX backends support BERT-style models with mean pooling; use backend='torch' "
                         f"for {model_dir}")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # Eager attention traces to the pattern ONNX Runtime fuses into its Attention kernel.
    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.randint(1000, 2000, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 9:] = 0  # trace with padding, so the mask is not folded away
    names = ["input_ids", "attention_mask", "token_type_ids"]
    raw = target.with_suffix(".raw.onnx")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated and chatty
        # Before exporting: tracing leaves the module computing something else afterwards.
        expected = Encoder()(ids, mask, torch.zeros_like(ids)).numpy()
        torch.onnx.export(Encoder(), (ids, mask, torch.zeros_like(ids)), str(raw), input_names=names,
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
    fuse_bert(raw, target, config)
    got = _run_once(target, ids.numpy(), mask.numpy())
    if not np.allclose(got[0], expected[0], atol=1e-3) or not np.allclose(got[1, :9], expected[1, :9], atol=1e-3):
        logger.warning("the fused ONNX graph disagrees with torch; using the unfused export")
        os.replace(raw, target)
    raw.unlink(missing_ok=True)


def fuse_bert(raw: Path, target: Path, config: dict) -> None:
    """Fuse a traced BERT graph's attention with ONNX Runtime's transformer optimizer."""
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=int(config.get("num_attention_heads", 0)),
                                     hidden_size=int(config.get("hidden_size", 0)), opt_level=1)
    fused.save_model_to_file(str(target))


def _run_once(path: Path, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantization of a float ONNX graph's weights, per channel."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # onnxruntime.quantization logs advice ("consider pre-processing") on the root logger
    with quiet_logger(None, logging.ERROR):
        # Per-channel int8 weights keep cosine to float ≈ 0.99; per-tensor drops it to ≈ 0.95.
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
