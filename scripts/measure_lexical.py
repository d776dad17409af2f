"""Lexical search alone on the public split: the local engine (BM25 in memory) against Milvus BM25 over
the same chunks, with the analyzer the Milvus engine used before (Milvus's own stemming and stop
words) and the one it uses now (terms stemmed in the client, `index.lexical.lexical_text`).

    .venv/bin/python scripts/measure_lexical.py [--qa ../shared/eval/squad2-dev-public.json]

Prints recall@1, recall@5 and mrr@10 over the answerable questions, by distinct documents of the top
50 chunks, as `rag eval --retrieval bm25` scores them. Chunks come from a local index built with the
fake embedder (the lexical side does not depend on it).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from eval import load_dataset
from index import STOPWORDS, lexical_text
from rag import HashEmbedder, Pipeline

_MILVUS_STEMMING = {"tokenizer": "standard", "filter": [
    "lowercase", {"type": "stop", "stop_words": sorted(STOPWORDS)}, {"type": "stemmer", "language": "english"}]}
_SPLIT_ONLY = {"tokenizer": "standard", "filter": ["lowercase"]}


def _score(examples, doc_of: dict[int, str], search) -> str:
    r1 = r5 = mrr = 0.0
    for example in examples:
        ranked = list(dict.fromkeys(doc_of[i] for i in search(example.question)))
        gold = set(example.gold_doc_ids)
        r1 += bool(ranked[:1] and ranked[0] in gold)
        r5 += bool(gold & set(ranked[:5]))
        mrr += next((1 / (rank + 1) for rank, d in enumerate(ranked[:10]) if d in gold), 0.0)
    n = len(examples)
    return f"recall@1 {r1 / n:.4f}  recall@5 {r5 / n:.4f}  mrr@10 {mrr / n:.4f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qa", default="../shared/eval/squad2-dev-public.json")
    args = parser.parse_args()
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    dataset = load_dataset(args.qa)
    examples = [e for e in dataset.examples if e.answerable and e.gold_doc_ids]
    work = Path(tempfile.mkdtemp(prefix="rag-lexical-"))
    try:
        pipeline = Pipeline.open(work / "local", embedder=HashEmbedder())
        pipeline.ingest_documents(list(dataset.documents))
        snapshot = pipeline.directory.snapshot()
        chunks = [(c.chunk_id, d.doc_id, f"{c.title}\n{c.text}") for d in dataset.documents
                  for c in snapshot.document_chunks(d.doc_id)]
        doc_of = {chunk_id: doc_id for chunk_id, doc_id, _ in chunks}
        print(f"{len(examples)} answerable questions, {len(chunks)} chunks")
        print(f"local engine (BM25 in memory):           {_score(examples, doc_of, lambda q: snapshot.lexical_search(q, 50)[1].tolist())}")
        client = MilvusClient(str(work / "milvus.db"))
        variants = {"Milvus, its own stemmer and stop words": (_MILVUS_STEMMING, False),
                    "Milvus, terms stemmed in the client":    (_SPLIT_ONLY, True)}
        for n, (name, (analyzer, stem)) in enumerate(variants.items()):
            schema = client.create_schema(auto_id=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("body", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=analyzer)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
            schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["body"],
                                         output_field_names=["sparse"]))
            params = client.prepare_index_params()
            params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                             params={"bm25_k1": 1.2, "bm25_b": 0.75})
            params.add_index("v", index_type="FLAT", metric_type="L2")
            client.create_collection(f"c{n}", schema=schema, index_params=params)
            client.insert(f"c{n}", [{"id": i, "body": lexical_text(body) if stem else body, "v": [0.0, 0.0]}
                                    for i, _, body in chunks])
            client.flush(f"c{n}")

            def search(question: str, n: int = n, stem: bool = stem) -> list[int]:
                query = lexical_text(question, query=True) if stem else question
                hits = client.search(f"c{n}", data=[query], anns_field="sparse", limit=50,
                                     search_params={"metric_type": "BM25"}, output_fields=["id"])
                return [int(h["id"]) for h in hits[0]]

            print(f"{name + ':':41}{_score(examples, doc_of, search)}")
        client.close()
        pipeline.directory.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
