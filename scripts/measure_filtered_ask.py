"""What a filter costs `/ask`: the benchmark corpus (≥ 10,000 chunks, the real model and reader) asked over
HTTP unfiltered, with a ``where`` filter admitting 1% of the chunks, and with a read key whose groups
hold 1% of them, question by question in rotation (one run: the machine's noise falls on all three).

The 1% are the public split's paragraphs of the first articles that make up 1% of the chunks, and the
questions are those articles' answerable ones: filtered or not, the answers lie in the admitted
documents, so the reader reads comparable passages and the difference is what the filtering costs.

    .venv/bin/python scripts/measure_filtered_ask.py [--corpus bench-out/corpus] [--out bench-out/filtered-ask]

The index is built once in OUT/index (the corpus is written first if missing); then every document is
relabelled — 1 in 100 into group ``rare`` with ``metadata.team = "rare"``, the rest into ``bulk`` — which
embeds nothing (the relabelling's time is reported). Writes OUT/filtered-ask.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import subprocess
import sys
import time
from pathlib import Path

from api import Settings, create_app
from bench import Timer, in_process_server, percentiles
from rag import Pipeline

REPO = Path(__file__).resolve().parents[1]


def _articles(pipeline: Pipeline, share: float) -> tuple[set[str], list[str]]:
    """The ids of the public split's paragraphs of the first articles holding ``share`` of the chunks,
    and those articles' answerable questions."""
    data = json.loads((REPO.parent / "shared" / "eval" / "squad2-dev-public.json").read_text())
    chunks = {d.doc_id: d.n_chunks for d in pipeline.documents()}
    wanted = share * sum(chunks.values())
    ids: set[str] = set()
    questions: list[str] = []
    for article in data["data"]:
        if sum(chunks.get(doc_id, 0) for doc_id in ids) >= wanted:
            break
        ids |= {f"{article['title']}#{n}" for n in range(len(article["paragraphs"]))}
        questions += [qa["question"] for p in article["paragraphs"] for qa in p["qas"] if qa["answers"]]
    return ids, questions


def _relabel(pipeline: Pipeline, label) -> dict:
    """Every document (``n``-th) relabelled with ``label(n)`` (groups, team): only the labels change."""
    docs = []
    for n, info in enumerate(pipeline.documents()):
        doc = pipeline.document(info.doc_id)
        groups, team = label(n)
        docs.append(dataclasses.replace(doc, groups=groups, metadata={**doc.metadata, "team": team}))
    with Timer() as timer:
        report = pipeline.ingest_documents(docs, keep_boilerplate=True)
    return {"documents": len(docs), "relabelled": len(report.updated), "chunks_embedded": report.chunks_added,
            "seconds": round(timer.seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "bench-out" / "corpus")
    parser.add_argument("--out", type=Path, default=REPO / "bench-out" / "filtered-ask")
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    if not args.corpus.exists():
        subprocess.run([sys.executable, "-m", "ragcli", "bench", "--write-corpus", str(args.corpus)], cwd=REPO,
                       check=True)
    index = args.out / "index"
    pipeline = Pipeline.open(index)
    results: dict = {"corpus": str(args.corpus)}
    if not pipeline.documents(k=1):
        with Timer() as timer:
            report = pipeline.ingest([args.corpus])
        results["ingest"] = {"chunks": report.chunks_added, "seconds": round(timer.seconds, 1)}
    stats = pipeline.stats()
    results["index"] = {"documents": stats["documents"], "chunks": stats["chunks"]}
    rare_ids, questions = _articles(pipeline, 0.01)
    doc_ids = [d.doc_id for d in pipeline.documents()]
    _relabel(pipeline, lambda n: (("public",), "none"))  # a known starting point (the previous run's labels)
    results["relabel"] = _relabel(pipeline, lambda n: (("rare",), "rare") if doc_ids[n] in rare_ids
                                  else (("bulk",), "bulk"))
    _, token = pipeline.add_key(f"rare-{int(time.time())}", ("rare",))
    rare = pipeline.stats(scope=pipeline.key_for(token).scope)
    results["admitted"] = {"chunks": rare["chunks"], "share": round(rare["chunks"] / stats["chunks"], 4)}

    service = "measure-filtered-ask"
    variants = {
        "unfiltered (service key)": ({"Authorization": f"Bearer {service}"}, None),
        "where team=rare (1%)": ({"Authorization": f"Bearer {service}"}, {"team": "rare"}),
        "read key of group rare (1%)": ({"Authorization": f"Bearer {token}"}, None),
    }
    latencies: dict[str, list[float]] = {name: [] for name in variants}
    app = create_app(Settings(index_dir=str(index), api_key=service), pipeline=pipeline)
    questions = questions[::max(1, len(questions) // args.questions)][:args.questions]
    retrieve: dict[str, list[float]] = {name: [] for name in variants}
    with in_process_server(app) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=60)
        order = list(variants)
        for n, question in enumerate(questions):
            for name in order[n % 3:] + order[:n % 3]:  # each variant first a third of the time
                headers, where = variants[name]
                body = json.dumps({"question": question, "k": 5, **({"where": where} if where else {})})
                started = time.perf_counter()
                conn.request("POST", "/ask", body=body, headers={**headers, "Content-Type": "application/json"})
                response = conn.getresponse()
                answer = response.read()
                if response.status != 200:
                    raise RuntimeError(f"{name}: HTTP {response.status}")
                if n >= 10:  # the first questions warm up
                    latencies[name].append((time.perf_counter() - started) * 1000)
                    retrieve[name].append(json.loads(answer)["timings_ms"]["retrieve"])
        conn.close()
    results["questions"] = len(questions)
    results["ask_ms"] = {name: percentiles(values) for name, values in latencies.items()}
    results["retrieve_ms"] = {name: percentiles(values) for name, values in retrieve.items()}
    base = results["ask_ms"]["unfiltered (service key)"]["p50_ms"]
    results["p50_difference_ms"] = {name: round(v["p50_ms"] - base, 2) for name, v in results["ask_ms"].items()}
    pipeline.revoke_key(pipeline.key_for(token).name)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "filtered-ask.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
