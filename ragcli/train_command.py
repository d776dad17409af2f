"""``rag train-reader --qa FILE... [--out DIR] [--epochs N] [--max-examples N] [--resume]``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]


def cmd_train_reader(args: argparse.Namespace) -> int:
    from rag import TrainSettings, finish_from_checkpoint, train_reader

    if args.finish:
        out = finish_from_checkpoint(Path(args.out))
        print(f"reader written to {out} from its last checkpoint")
        return 0
    missing = [p for p in args.qa if not Path(p).is_file()]
    if missing and not args.resume:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    settings = TrainSettings(
        qa_files=[Path(p) for p in args.qa], out=Path(args.out), base=Path(args.base) if args.base else None,
        epochs=args.epochs, max_examples=args.max_examples, batch_size=args.batch_size,
        learning_rate=args.lr, negatives=args.negatives, answer_removed=args.answer_removed, seed=args.seed, device=args.device,
        checkpoint_minutes=args.checkpoint_minutes, resume=args.resume,
        max_length=args.max_length, stride=args.stride if args.stride is not None else args.max_length * 3 // 8,
        freeze_embeddings=not args.train_embeddings, stop_after_steps=args.stop_after)
    out = train_reader(settings, progress=not args.no_progress)
    if not (out / "card.json").is_file():
        print(f"stopped at a checkpoint in {out}; continue with: rag train-reader --out {out} --resume")
        return 0
    print(f"reader written to {out}; use it with: rag --reader {out} ask ...")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "train-reader", help="fine-tune the extractive reader on SQuAD-format question-answer pairs",
        description="Fine-tune the extractive reader (a span head on the bundled encoder) on SQuAD-format JSON. "
                    "Checkpoints every few minutes; --resume continues an interrupted run from its last checkpoint. "
                    "Writes a reader directory with a card (data sha256, command, commit, seed, time, machine).")
    p.add_argument("--qa", nargs="+", default=[], metavar="FILE", help="SQuAD v1.1/v2.0 JSON files to learn from")
    p.add_argument("--out", default="reader", metavar="DIR", help="the reader directory to write (default: ./reader)")
    p.add_argument("--base", metavar="DIR",
                   help="a reader directory to continue from (e.g. the shipped one, to adapt it to your pairs); "
                        "default: the bundled encoder with a new span head")
    p.add_argument("--epochs", type=float, default=1.0, help="passes over the data (fractions allowed; default 1)")
    p.add_argument("--max-examples", type=int, metavar="N", help="train on a seeded random sample of N questions")
    p.add_argument("--resume", action="store_true", help="continue from DIR's last checkpoint (same settings)")
    p.add_argument("--stop-after", type=int, metavar="STEPS",
                   help="checkpoint and stop after this many steps (continue later with --resume)")
    p.add_argument("--finish", action="store_true",
                   help="write the reader from DIR's last checkpoint now, without training further")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--batch-size", type=int, default=16, help="windows per training step (default 16)")
    p.add_argument("--lr", type=float, default=8e-5, help="peak learning rate (linear warm-up and decay)")
    p.add_argument("--negatives", type=float, default=0.1,
                   help="retrieval negatives per answerable question: the question against the paragraph of its "
                        "article BM25 ranks highest without its answer (default 0.1)")
    p.add_argument("--answer-removed", type=float, default=0.0, metavar="RATE",
                   help="answer-removed negatives per answerable question: the question against its own paragraph "
                        "with the answer's sentences taken out (default 0)")
    p.add_argument("--max-length", type=int, default=256, help="tokens per window (default 256)")
    p.add_argument("--stride", type=int, help="tokens shared by a long context's overlapping windows "
                                              "(default: 3/8 of --max-length)")
    p.add_argument("--train-embeddings", action="store_true", help="also train the word embeddings")
    p.add_argument("--seed", type=int, default=13, help="seeds the sampling, shuffling and the new head (default 13)")
    p.add_argument("--checkpoint-minutes", type=float, default=10.0,
                   help="write a checkpoint at least this often (default 10)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_train_reader)
