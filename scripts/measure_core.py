"""Measure the core figures: ingest speed, re-ingest, and in-process ``ask`` latency.

    .venv/bin/python scripts/measure_core.py [--json FILE]

Uses the real bundled model on ../shared/corpus/news and the 395 paragraphs of
../shared/eval/squad2-dev-public.json (each paragraph one document).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag import Pipeline  # noqa: E402
from rag.embed import SentenceTransformerEmbedder  # noqa: E402
from rag.loaders import record_to_document  # noqa: E402

SHARED = REPO.parent / "shared"


def squad_documents_and_questions() -> tuple[list, list[str]]:
    data = json.loads((SHARED / "eval" / "squad2-dev-public.json").read_text(encoding="utf-8"))["data"]
    docs, questions = [], []
    for article in data:
        for i, para in enumerate(article["paragraphs"]):
            docs.append(record_to_document({"id": f"{article['title']}#{i}", "title": article["title"],
                                            "text": para["context"]}, default_id="", source="squad"))
            questions += [qa["question"] for qa in para["qas"] if not qa.get("is_impossible")]
    return docs, questions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    t = time.perf_counter()
    embedder = SentenceTransformerEmbedder()
    figures: dict[str, float] = {"model_load_s": time.perf_counter() - t}
    with tempfile.TemporaryDirectory() as tmp:
        news = Pipeline.open(Path(tmp) / "news", embedder=embedder)
        report = news.ingest([SHARED / "corpus" / "news"])
        figures |= {"news_ingest_s": report.seconds, "news_chunks": report.chunks_added,
                    "news_chunks_per_s": report.chunks_added / report.seconds}
        figures["news_reingest_s"] = news.ingest([SHARED / "corpus" / "news"]).seconds

        docs, questions = squad_documents_and_questions()
        squad = Pipeline.open(Path(tmp) / "squad", embedder=embedder)
        report = squad.ingest_documents(docs)
        figures |= {"squad_ingest_s": report.seconds, "squad_chunks": report.chunks_added,
                    "squad_chunks_per_s": report.chunks_added / report.seconds}
        figures["squad_reingest_s"] = squad.ingest_documents(docs).seconds
        figures["squad_reingest_speedup"] = figures["squad_ingest_s"] / figures["squad_reingest_s"]

        squad.ask(questions[0])  # warm-up
        sample = questions[:: max(1, len(questions) // 50)][:50]
        latencies = []
        for question in sample:
            t = time.perf_counter()
            squad.ask(question)
            latencies.append((time.perf_counter() - t) * 1000)
        figures |= {"ask_n": len(latencies), "ask_p50_ms": statistics.median(latencies),
                    "ask_p95_ms": sorted(latencies)[int(0.95 * len(latencies)) - 1]}
    for name, value in figures.items():
        print(f"{name:>24}: {value:.3f}" if isinstance(value, float) else f"{name:>24}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
