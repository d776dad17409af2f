"""What a Milvus index holds per chunk, measured on a real one, scaled to a million chunks.

    python -m bench.milvus_footprint milvus-lite:PATH.db   (or milvus://HOST:PORT/NAME)

Reads every chunk, sentence piece and text piece of the index and reports, per chunk: the dense
vector, the BM25 sparse vector's non-zero terms (what Milvus's inverted index holds a posting for),
the chunk text and the lexical body, the packed sentences, the document text; and, for a
milvus-lite file, the bytes each collection takes on disk. docs/scaling.md turns these into the
memory and disk of a 100M-chunk deployment.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.stats import dir_size_mb

__all__ = ["footprint"]

_MILLION = 1_000_000
_MIB = 2**20


def footprint(location: str) -> dict[str, Any]:
    from index import MilvusIndex

    settings = MilvusIndex.stored_settings(location)
    if settings is None:
        raise SystemExit(f"no index at {location}")
    index = MilvusIndex.open(location, settings, create=False)
    try:
        chunks = index.scan("chunks", ["chunk_id", "text", "body"])
        sentences = index.scan("sentences", ["key", "data"])
        texts = index.scan("texts", ["piece_id", "text"])
    finally:
        index.close()
    n = len(chunks)
    if not n:
        raise SystemExit(f"{location} holds no chunks")
    terms = [len(set(row["body"].split())) for row in chunks]  # the body is stemmed terms already
    per_chunk = {
        "dense_vector_bytes": 4 * settings.dimension,
        "bm25_terms": sum(terms) / n,  # distinct terms: one posting each in the inverted index
        "chunk_text_bytes": sum(len(row["text"].encode()) for row in chunks) / n,
        "lexical_body_bytes": sum(len(row["body"].encode()) for row in chunks) / n,
        "sentence_pack_bytes": sum(len(row["data"]) for row in sentences) / n,
        "document_text_bytes": sum(len(row["text"].encode()) for row in texts) / n,
    }
    found: dict[str, Any] = {"location": location, "chunks": n, "dimension": settings.dimension, "per_chunk": per_chunk}
    if location.startswith("milvus-lite:"):
        root = Path(location.removeprefix("milvus-lite:")) / "collections"
        found["disk_mb_per_collection"] = {p.name: dir_size_mb(p) for p in sorted(root.iterdir()) if p.is_dir()}
        found["disk_mib_per_million_chunks"] = {name: mb * _MILLION / n
                                                for name, mb in found["disk_mb_per_collection"].items()}
    found["mib_per_million_chunks"] = {key: value * _MILLION / _MIB for key, value in per_chunk.items() if key.endswith("bytes")}
    found["bm25_postings_per_million_chunks"] = per_chunk["bm25_terms"] * _MILLION
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.milvus_footprint", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("location", help="milvus-lite:PATH.db or milvus://HOST:PORT/NAME")
    args = parser.parse_args(argv)
    json.dump(footprint(args.location), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
