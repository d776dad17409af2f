"""Fine-tuning the extractive reader: a start/end span head on the bundled sentence encoder.

``train_reader(settings)`` reads SQuAD-format files, adds unanswerable pairs made from the
answerable ones (:mod:`rag.reader.negatives`: the answer's sentences removed, and the paragraph of
the same article a retriever would wrongly rank first), tokenizes into windows and trains with length-bucketed
batches. It checkpoints every few minutes and resumes exactly where it stopped (the batch order is a
function of the seed), and finally writes the reader directory (see :mod:`rag.reader.model_dir`)
with its card.

On a CPU with bf16 matrix units (AMX) training runs in bf16 autocast, about twice fp32's speed; on a
GPU (``device="cuda"``) likewise.
"""
from __future__ import annotations

import copy
import gc
import logging
import math
import os
import platform
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rag.provenance import file_sha256, git_commit
from rag.reader.features import configure, encode_for_training
from rag.reader.negatives import ArticleRanker
from rag.reader.negatives import answer_removed as remove_answer
from rag.reader.squad import ReadingExample, read_squad

__all__ = ["TrainSettings", "train_reader", "finish_from_checkpoint", "training_pairs", "bucketed_batches"]

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


@dataclass(slots=True)
class TrainSettings:
    """What one training run does.

    Attributes:
        qa_files: SQuAD-format JSON files to learn from.
        out: the reader directory to write (checkpoints live in it while training).
        base: a reader directory to continue from (adapting the shipped reader to your own pairs),
            or ``None`` for the bundled encoder with a new span head.
        max_examples: use a seeded random sample of this many questions (after negatives are added).
        negatives: retrieval negatives added per answerable question (0 for none).
        answer_removed: answer-removed negatives added per answerable question (0 for none).
        freeze_embeddings: keep the word embeddings fixed (they are the encoder's; saves a third of
            the optimizer's work and lets the shipped reader leave them out).
        checkpoint_minutes: how often to checkpoint.
        stop_after_steps: checkpoint and stop after this many steps of the run (``resume`` later).
        bf16: autocast to bf16; ``None`` decides (on for CUDA and for CPUs with AMX).
    """

    qa_files: list[Path]
    out: Path
    base: Path | None = None
    epochs: float = 1.0
    max_examples: int | None = None
    batch_size: int = 16
    learning_rate: float = 8e-5
    warmup: float = 0.06
    weight_decay: float = 0.01
    max_length: int = 256
    stride: int = 96
    negatives: float = 0.1
    answer_removed: float = 0.0
    freeze_embeddings: bool = True
    seed: int = 13
    device: str = "cpu"
    bf16: bool | None = None
    checkpoint_minutes: float = 10.0
    resume: bool = False
    stop_after_steps: int | None = None
    command: list[str] = field(default_factory=lambda: list(sys.argv))


Pair = tuple[str, str, "tuple[int, str] | None"]


def training_pairs(examples: list[ReadingExample], *, negatives: float, seed: int, answer_removed: float = 0.0,
                   counts: dict[str, int] | None = None) -> list[Pair]:
    """``(question, context, answer or None)`` for every example, plus unanswerable pairs made from
    the answerable ones (see :mod:`rag.reader.negatives`): with probability ``negatives`` the
    question against the paragraph of its article that BM25 ranks highest without holding its
    answer, and with probability ``answer_removed`` against its own paragraph with the answer's
    sentences taken out. ``counts``, when given, receives how many pairs of each kind were made."""
    rng = random.Random(seed)
    pairs: list[Pair] = [(e.question, e.context, e.answers[0] if e.answers else None) for e in examples]
    kinds = {"answerable": sum(1 for e in examples if e.answers), "unanswerable": sum(1 for e in examples if not e.answers),
             "answer_removed": 0, "retrieval_negative": 0}
    by_article: dict[tuple[str, int], list[str]] = {}
    for e in examples:
        contexts = by_article.setdefault((e.title, e.article), [])
        if not contexts or contexts[-1] != e.context:
            contexts.append(e.context)
    rankers: dict[tuple[str, int], ArticleRanker] = {}
    for e in examples:
        if not e.answers:
            continue
        # Both draws are taken for every answerable question, so one kind's rate leaves the other's sample alone.
        take_retrieval, take_removed = rng.random() < negatives, rng.random() < answer_removed
        if take_retrieval and len(by_article[(e.title, e.article)]) > 1:
            key = (e.title, e.article)
            if key not in rankers:
                rankers[key] = ArticleRanker(by_article[key])
            context = rankers[key].negative_for(e)
            if context is not None:
                pairs.append((e.question, context, None))
                kinds["retrieval_negative"] += 1
        if take_removed and (context := remove_answer(e)) is not None:
            pairs.append((e.question, context, None))
            kinds["answer_removed"] += 1
    if counts is not None:
        counts.update(kinds)
    return pairs


def bucketed_batches(lengths: list[int], *, batch_size: int, seed: int, pool_batches: int = 50) -> list[list[int]]:
    """One epoch's batches: shuffled, then sorted by length within pools of ``pool_batches``
    batches so that a batch pads little, then the batches shuffled. A function of ``seed``."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    pool = batch_size * pool_batches
    batches: list[list[int]] = []
    for at in range(0, len(order), pool):
        chunk = sorted(order[at:at + pool].tolist(), key=lambda i: lengths[i])
        batches.extend(chunk[b:b + batch_size] for b in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def _has_amx() -> bool:
    try:
        return "amx_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def _machine(device: str) -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "device": device}
    if device.startswith("cuda"):
        import torch

        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _pad(batch: list[tuple[np.ndarray, np.ndarray, int, int]]):
    import torch

    # A few distinct shapes (multiples of 32) let oneDNN reuse its compiled kernels from batch to batch.
    width = -(-max(len(f[0]) for f in batch) // 32) * 32
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, (input_ids, token_types, _, _) in enumerate(batch):
        ids[row, :len(input_ids)] = torch.from_numpy(input_ids.astype(np.int64))
        types[row, :len(input_ids)] = torch.from_numpy(token_types.astype(np.int64))
        mask[row, :len(input_ids)] = 1
    starts = torch.tensor([f[2] for f in batch])
    ends = torch.tensor([f[3] for f in batch])
    return ids, types, mask, starts, ends


def _save_atomic(obj, path: Path) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_reader(settings: TrainSettings, *, progress: bool = True) -> Path:
    """Train (or resume training) and write the reader directory ``settings.out``; returns it.

    With ``stop_after_steps`` the run may stop early at a checkpoint instead (no reader written yet).
    """
    # The tokenizer's worker threads, once started, slow every training step that follows by ~20%.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from tqdm import tqdm

    from rag.reader.model_dir import load_trainable, save_reader

    started = time.time()
    commit, dirty = git_commit()  # the code that trains, taken now: others may commit meanwhile
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / CHECKPOINT
    state = None
    if settings.resume:
        if not checkpoint_path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {checkpoint_path}")
        state = torch.load(checkpoint_path, weights_only=False)
        saved = state["settings"]
        for name in ("qa_files", "base", "epochs", "max_examples", "batch_size", "learning_rate", "max_length",
                     "stride", "negatives", "answer_removed", "seed", "freeze_embeddings", "warmup", "weight_decay", "bf16", "command"):
            setattr(settings, name, saved.get(name, getattr(settings, name)))  # a field newer than the checkpoint: its default
        settings.qa_files = [Path(p) for p in settings.qa_files]
        settings.base = Path(settings.base) if settings.base else None
    torch.manual_seed(settings.seed)
    lineage = _lineage(settings.base)  # read now: the base directory may be replaced while this run trains
    if state is not None and "commit" in state:  # what the run started from (a checkpoint older than this: now)
        commit, dirty, lineage = state["commit"], state["commit_dirty"], state["lineage"]
    bf16 = settings.bf16 if settings.bf16 is not None else (settings.device.startswith("cuda") or _has_amx())

    data = [{"path": str(p), "sha256": file_sha256(p)} for p in settings.qa_files]
    examples = [e for p in settings.qa_files for e in read_squad(p)]
    kinds: dict[str, int] = {}
    pairs = training_pairs(examples, negatives=settings.negatives, answer_removed=settings.answer_removed,
                           seed=settings.seed, counts=kinds)
    logger.info("pairs by kind: %s", kinds)
    if settings.max_examples is not None and settings.max_examples < len(pairs):
        pairs = random.Random(settings.seed).sample(pairs, settings.max_examples)
    model, tokenizer = load_trainable(settings.base)
    features = [(np.asarray(ids, dtype=np.int32), np.asarray(types, dtype=np.int8), start, end)
                for ids, types, start, end in encode_for_training(
                    configure(copy.deepcopy(tokenizer.backend_tokenizer), max_length=settings.max_length,
                              stride=settings.stride), [p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs],
                    max_length=settings.max_length, stride=settings.stride)]
    gc.collect()
    gc.freeze()  # the features never change: a full collection would walk them at every training step
    lengths = [len(f[0]) for f in features]
    per_epoch = math.ceil(len(features) / settings.batch_size)
    total_steps = max(1, math.ceil(per_epoch * settings.epochs))
    logger.info("%d questions, %d pairs with negatives, %d windows, %d steps (bf16 %s)", len(examples), len(pairs),
                len(features), total_steps, bf16)

    if settings.freeze_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    model.to(settings.device).train()
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = ("bias", "LayerNorm.weight")
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in params if not n.endswith(no_decay)], "weight_decay": settings.weight_decay},
        {"params": [p for n, p in params if n.endswith(no_decay)], "weight_decay": 0.0}],
        lr=settings.learning_rate)
    warmup = int(total_steps * settings.warmup)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / max(1, warmup) if s < warmup else max(0.0, (total_steps - s) / max(1, total_steps - warmup)))
    step, wall_before, losses = 0, 0.0, []
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, wall_before, losses = state["step"], state["wall_s"], state["losses"]
        torch.set_rng_state(state["rng"])
        logger.info("resuming at step %d of %d", step, total_steps)

    def checkpoint() -> None:
        _save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict(), "step": step, "wall_s": wall_before + time.time() - started,
                      "losses": losses, "total_steps": total_steps, "rng": torch.get_rng_state(),
                      "commit": commit, "commit_dirty": dirty, "lineage": lineage, "settings": {**asdict(settings), "qa_files": [str(p) for p in settings.qa_files],
                                                     "out": str(settings.out),
                                                     "base": str(settings.base) if settings.base else None}},
                     checkpoint_path)

    last_checkpoint = loop_started = time.time()
    start_step = step
    bar = tqdm(total=total_steps, initial=step, disable=not progress, unit="batch", dynamic_ncols=True)
    epoch_batches: dict[int, list[list[int]]] = {}
    while step < total_steps:
        epoch, within = divmod(step, per_epoch)
        if epoch not in epoch_batches:
            epoch_batches = {epoch: bucketed_batches(lengths, batch_size=settings.batch_size, seed=settings.seed + epoch)}
        ids, types, mask, starts, ends = (t.to(settings.device) for t in _pad([features[i] for i in epoch_batches[epoch][within]]))
        with torch.autocast(device_type="cuda" if settings.device.startswith("cuda") else "cpu",
                            dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, token_type_ids=types, attention_mask=mask, start_positions=starts,
                         end_positions=ends).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(round(float(loss.detach()), 4))
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-200:]):.3f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
        if time.time() - last_checkpoint > settings.checkpoint_minutes * 60 and step < total_steps:
            checkpoint()
            last_checkpoint = time.time()
            rate = (step - start_step) * settings.batch_size / max(time.time() - loop_started, 1e-9)
            logger.info("checkpoint at step %d of %d, loss %.3f, %.1f windows/s, ETA %.0f min", step, total_steps,
                        float(np.mean(losses[-200:])), rate,
                        (total_steps - step) * settings.batch_size / max(rate, 1e-9) / 60)
        if settings.stop_after_steps is not None and step - start_step >= settings.stop_after_steps \
                and step < total_steps:
            checkpoint()
            bar.close()
            logger.info("stopped at step %d of %d; continue with --resume", step, total_steps)
            return out
    bar.close()
    model.eval()
    card = _card(settings, data=data, questions=len(examples), pairs=len(pairs), windows=len(features), step=step,
                 total_steps=total_steps, wall=wall_before + time.time() - started, bf16=bf16, losses=losses,
                 commit=commit, commit_dirty=dirty, kinds=kinds, lineage=lineage)
    _start_from_base_no_answer(settings.base, out, card)
    save_reader(model.cpu(), tokenizer, out, card=card)
    checkpoint_path.unlink(missing_ok=True)
    logger.info("reader written to %s (%d steps, %.0f s)", out, step, card["wall_s"])
    return out


def _card(settings: TrainSettings, *, data: list[dict], questions: int, pairs: int, windows: int | None, step: int,
          total_steps: int | None, wall: float, bf16: bool, losses: list[float], commit: str | None,
          commit_dirty: bool | None, kinds: dict[str, int], lineage: dict | None) -> dict:
    return {
        "base_encoder": None, "base": lineage,
        "data": data, "command": settings.command, "commit": commit, "seed": settings.seed,
        "commit_dirty": commit_dirty,  # the tree had uncommitted changes to tracked files when the run started
        "settings": {k: v for k, v in asdict(settings).items() if k not in ("qa_files", "out", "base", "command", "resume", "stop_after_steps")},
        "bf16": bf16, "questions": questions, "pairs": pairs,
        "pairs_by_kind_before_sampling": kinds, "windows": windows, "steps": step,
        "planned_steps": total_steps, "examples_seen": step * settings.batch_size, "wall_s": round(wall, 1),
        "machine": _machine(settings.device),
        "loss_last_200": round(float(np.mean(losses[-200:])), 4) if losses else None,
        "licence": "trained on SQuAD (CC BY-SA 4.0), SQuADShifts (CC BY 4.0) and SubjQA (research use) when "
                   "those files are among the data",
    }


def _lineage(base: Path | None) -> dict | None:
    """What a fine-tuned reader started from: the base directory's path and its card (its own base
    nested in it, so the whole chain of runs is on record), without the base's evaluation figures."""
    if base is None:
        return None
    from rag.reader.model_dir import read_card

    return {"path": str(base), **{k: v for k, v in read_card(base).items() if k not in ("eval", "no_answer")}}


def finish_from_checkpoint(out: Path) -> Path:
    """Write the reader directory from ``out``'s last checkpoint, without training further (a run
    stopped early: the card records the step it stopped at and the steps it had planned)."""
    import torch

    from rag.reader.model_dir import load_trainable, save_reader

    out = Path(out)
    state = torch.load(out / CHECKPOINT, weights_only=False)
    saved = state["settings"]
    settings = TrainSettings(**{**saved, "qa_files": [Path(p) for p in saved["qa_files"]], "out": out,
                                "base": Path(saved["base"]) if saved.get("base") else None})
    model, tokenizer = load_trainable(settings.base)
    model.load_state_dict(state["model"])
    model.eval()
    examples = [e for p in settings.qa_files for e in read_squad(p)]
    kinds: dict[str, int] = {}
    pairs = training_pairs(examples, negatives=settings.negatives, answer_removed=settings.answer_removed,
                           seed=settings.seed, counts=kinds)
    here = git_commit()  # the code that writes this reader
    # the code the run started from and its base as it was then (a checkpoint older than this: as they are now)
    commit, dirty, lineage = (state["commit"], state["commit_dirty"], state["lineage"]) if "commit" in state \
        else (*here, _lineage(settings.base))
    card = _card(settings, data=[{"path": str(p), "sha256": file_sha256(p)} for p in settings.qa_files],
                 questions=len(examples), pairs=min(len(pairs), settings.max_examples or len(pairs)), windows=None,
                 step=state["step"], total_steps=state.get("total_steps"), wall=state["wall_s"],
                 bf16=settings.bf16 if settings.bf16 is not None else _has_amx(), losses=state["losses"],
                 commit=commit, commit_dirty=dirty, kinds=kinds, lineage=lineage)
    card["stopped_early"] = True
    card["finished_at_commit"] = here[0]
    _start_from_base_no_answer(settings.base, out, card)
    save_reader(model, tokenizer, out, card=card)
    return out


def _start_from_base_no_answer(base: Path | None, out: Path, card: dict) -> None:
    """A reader fine-tuned from ``base`` starts with ``base``'s no-answer model (its answer weighting and
    thresholds), which ``rag fit no-answer`` then refits — or only its reading threshold, with
    ``--reading-only``, when there are too few examples to refit the rest."""
    from rag.answer import NO_ANSWER_FILE  # not at import: rag.answer loads the reader's runtime

    if base is None or not (Path(base) / NO_ANSWER_FILE).is_file():
        return
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(base) / NO_ANSWER_FILE, out / NO_ANSWER_FILE)
    card["no_answer"] = f"copied from {base}: refit it with `rag --reader {out} fit no-answer [--reading-only]`"
