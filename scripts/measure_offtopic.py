"""How often off-topic questions get "the documents don't say", asked of a question set's own index.

    .venv/bin/python scripts/measure_offtopic.py [--squad ../shared/eval/squad2-dev-public.json]
        [--offtopic eval/data/offtopic.jsonl]

The index is the one `rag eval` builds for the SQuAD file (cached in .eval-cache), the answerer the
shipped one with its fitted thresholds; nothing is fitted here. Prints the share abstained on and
the questions that were answered, with their answer.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval import load_dataset, open_cached_index
from rag import DEFAULT_BACKEND, SentenceTransformerEmbedder

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared" / "eval" / "squad2-dev-public.json")
    parser.add_argument("--offtopic", type=Path, default=REPO / "eval" / "data" / "offtopic.jsonl")
    parser.add_argument("--cache-dir", default=".eval-cache")
    args = parser.parse_args()
    dataset = load_dataset(args.squad)
    pipeline = open_cached_index(embedder=SentenceTransformerEmbedder(backend=DEFAULT_BACKEND),
                                 documents=dataset.documents, cache_dir=args.cache_dir).pipeline
    questions = [json.loads(line)["question"] for line in args.offtopic.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    answered = []
    for question in questions:
        result = pipeline.ask(question)
        if not result.no_answer:
            answered.append((question, result.answers[0].text if result.answers else ""))
    print(f"{len(questions) - len(answered)} of {len(questions)} off-topic questions abstained "
          f"({(len(questions) - len(answered)) / len(questions):.1%}) over {args.squad.name}'s index")
    for question, answer in answered:
        print(f"  answered: {question!r} -> {answer!r}")


if __name__ == "__main__":
    main()
