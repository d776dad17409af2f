"""How much text the reader reads per question, against answer quality and time, on training data.

    .venv/bin/python scripts/measure_reading_amount.py [--squad reader-data/squad2-dev-other.val.json]
        [--limit 800] [--settings 2x500 3x500 4x700 ...]

Each setting ``NxC`` reads the N best-ranked sentences with their neighbours, up to C characters a
window (``Answerer(read_sentences=N, window_chars=C)``). For each, every answerable question of the
validation half is asked once over the index of its paragraphs, never abstaining, and the top
answer's F1 / EM and the answer step's time (p50, p95) are printed. The public split is never read:
this is how the shipped default was chosen.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from eval import exact_match, f1_score, load_dataset, max_over_golds, open_cached_index
from rag import DEFAULT_BACKEND, SentenceTransformerEmbedder

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=REPO / "reader-data" / "squad2-dev-other.val.json")
    parser.add_argument("--limit", type=int, default=800)
    parser.add_argument("--settings", nargs="+", default=["2x500", "3x500", "3x700", "4x700"])
    parser.add_argument("--cache-dir", default=".eval-cache")
    parser.add_argument("--backend", default=DEFAULT_BACKEND, help="the index's embedding backend")
    parser.add_argument("--sentence-vectors", default=None, help="the index's sentence vectors (separate|late)")
    args = parser.parse_args()
    dataset = load_dataset(args.squad).limited(args.limit)
    pipeline = open_cached_index(embedder=SentenceTransformerEmbedder(backend=args.backend), documents=dataset.documents,
                                 cache_dir=args.cache_dir, sentence_vectors=args.sentence_vectors).pipeline
    answerable = [e for e in dataset.examples if e.answers]
    answerer = pipeline.answerer
    answerer.threshold = 0.0
    pipeline.ask(answerable[0].question)  # load the reader
    print(f"{len(answerable)} answerable questions of {args.squad.name}; index: {args.backend}, "
          f"{pipeline.directory.settings.sentence_vectors} sentence vectors")
    for setting in args.settings:
        sentences, chars = (int(x) for x in setting.split("x"))
        answerer.read_sentences, answerer.window_chars = sentences, chars
        f1, em, ms = [], [], []
        for e in answerable:
            result = pipeline.ask(e.question)
            top = result.answers[0].text if result.answers else ""
            f1.append(max_over_golds(f1_score, top, e.answers))
            em.append(max_over_golds(exact_match, top, e.answers))
            ms.append(result.timings_ms["answer"])
        print(f"{setting:>6}: F1 {np.mean(f1):.4f}  EM {np.mean(em):.4f}  answer step p50 {np.percentile(ms, 50):.1f} ms"
              f"  p95 {np.percentile(ms, 95):.1f} ms", flush=True)


if __name__ == "__main__":
    main()
