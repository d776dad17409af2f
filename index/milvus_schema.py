"""The Milvus engine's collections (see :mod:`index.milvus`): creating them, reading the manifest."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from domain.access import MAX_GROUPS
from domain.errors import IndexStoreError
from domain.logs import quiet_logger
from index.manifest import SCHEMA_VERSION, IndexSettings

__all__ = ["LAYOUT", "MAX_VARCHAR", "NO_VECTOR", "COLLECTIONS", "PRIMARY_KEYS", "BATCH", "quote", "in_filter",
           "create_collections", "read_settings"]

MAX_VARCHAR = 65_535  # bytes
# The collections' layout: 3 labels documents and chunks with their groups and filterable fields
# (index.milvus_filters) and keeps API keys; 2 packed each chunk's sentences into one row (1 kept a row
# per sentence).
LAYOUT = 3
_ID_CHARS = 1_024
# The body is stemmed terms already (index.lexical.lexical_text): the analyzer only splits them, the
# same on milvus-lite (which ignores a stemmer filter) and on any server.
_ANALYZER = {"tokenizer": "standard", "filter": ["lowercase"]}
NO_VECTOR = [0.0, 0.0]  # collections without vectors still need a vector field
BATCH = 1_000  # ids per "in [...]" filter
# The collections a document version writes rows to, with each one's primary key.
PRIMARY_KEYS = (("chunks", "chunk_id"), ("sentences", "key"), ("texts", "piece_id"))


def quote(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(value, ensure_ascii=False)


def in_filter(field: str, values: list[Any]) -> str:
    return f"{field} in {json.dumps(values, ensure_ascii=False)}"


def create_collections(client: Any, prefix: str, settings: IndexSettings) -> None:
    """Create an index's collections and write its manifest."""
    # milvus-lite's in-process server logs a stack trace for each index it builds (pymilvus asks it
    # for a timestamp it does not implement, then carries on): not an error of ours.
    with quiet_logger("grpc._server"):
        _create(client, prefix, settings)


def _create(client: Any, prefix: str, settings: IndexSettings) -> None:
    from pymilvus import DataType, Function, FunctionType

    c = client

    def collection(short_name: str, fields: list[tuple], vectors: dict[str, tuple[str, str]],
                   functions: list[Any] = (), auto_id: bool = False, params: dict | None = None) -> None:
        schema = c.create_schema(auto_id=auto_id, enable_dynamic_field=False)
        for field_name, dtype, options in fields:
            schema.add_field(field_name, dtype, **options)
        for function in functions:
            schema.add_function(function)
        index_params = c.prepare_index_params()
        for field_name, (index_type, metric) in vectors.items():
            index_params.add_index(field_name, index_type=index_type, metric_type=metric,
                                   params=(params or {}).get(field_name, {}))
        c.create_collection(f"{prefix}_{short_name}", schema=schema, index_params=index_params,
                            consistency_level="Strong")

    varchar = {"max_length": MAX_VARCHAR}
    ident = {"max_length": _ID_CHARS}
    no_vector = ("v", DataType.FLOAT_VECTOR, {"dim": 2})
    # Who may read a document, and what it can be filtered by (index.milvus_filters), on its chunks too:
    # a search filters the chunks themselves.
    access = [("groups", DataType.ARRAY, {"element_type": DataType.VARCHAR, "max_capacity": MAX_GROUPS,
                                          "max_length": 64}),
              ("labels", DataType.JSON, {})]
    collection("manifest", [("key", DataType.VARCHAR, {"is_primary": True, "max_length": 64}),
                            ("value", DataType.VARCHAR, varchar), no_vector], {"v": ("FLAT", "L2")})
    collection("documents", [("doc_id", DataType.VARCHAR, {"is_primary": True, **ident}),
                             ("version", DataType.INT64, {}), ("title", DataType.VARCHAR, varchar),
                             ("source", DataType.VARCHAR, varchar), ("content_hash", DataType.VARCHAR, ident),
                             ("meta", DataType.VARCHAR, varchar), ("n_chars", DataType.INT64, {}),
                             ("n_chunks", DataType.INT64, {}), ("added_at", DataType.DOUBLE, {}), *access,
                             no_vector],
               {"v": ("FLAT", "L2")})
    collection("texts", [("piece_id", DataType.VARCHAR, {"is_primary": True, **ident}),
                         ("doc_id", DataType.VARCHAR, ident), ("version", DataType.INT64, {}),
                         ("n", DataType.INT64, {}), ("text", DataType.VARCHAR, varchar), no_vector],
               {"v": ("FLAT", "L2")})
    collection("chunks", [("chunk_id", DataType.INT64, {"is_primary": True}), ("doc_id", DataType.VARCHAR, ident),
                          ("version", DataType.INT64, {}), ("ordinal", DataType.INT64, {}),
                          ("char_start", DataType.INT64, {}), ("char_end", DataType.INT64, {}),
                          ("n_tokens", DataType.INT64, {}), ("text", DataType.VARCHAR, varchar),
                          ("body", DataType.VARCHAR, {**varchar, "enable_analyzer": True,
                                                      "analyzer_params": _ANALYZER}),
                          ("dense", DataType.FLOAT_VECTOR, {"dim": settings.dimension}),
                          ("sparse", DataType.SPARSE_FLOAT_VECTOR, {}), *access],
               {"dense": ("FLAT", "IP"), "sparse": ("SPARSE_INVERTED_INDEX", "BM25")},
               functions=[Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["body"],
                                   output_field_names=["sparse"])], auto_id=True,
               params={"sparse": {"bm25_k1": settings.bm25["k1"], "bm25_b": settings.bm25["b"]}})
    # Each chunk's sentences, packed (index.sentence_pack): key "<chunk_id>.<n>", piece 0 always there.
    collection("sentences", [("key", DataType.VARCHAR, {"is_primary": True, "max_length": 64}),
                             ("chunk_id", DataType.INT64, {}), ("doc_id", DataType.VARCHAR, ident),
                             ("version", DataType.INT64, {}), ("pieces", DataType.INT64, {}),
                             ("data", DataType.VARCHAR, varchar), no_vector],
               {"v": ("FLAT", "L2")})
    # API keys by name: a digest of the token (domain.keys.token_digest), never the token.
    collection("keys", [("name", DataType.VARCHAR, {"is_primary": True, "max_length": 64}),
                        ("digest", DataType.VARCHAR, {"max_length": 128}), ("groups", DataType.VARCHAR, varchar),
                        ("write", DataType.BOOL, {}), ("created_at", DataType.DOUBLE, {}), no_vector],
               {"v": ("FLAT", "L2")})
    # People's feedback on answers (domain.feedback), as JSON, by id and time.
    collection("feedback", [("id", DataType.VARCHAR, {"is_primary": True, "max_length": 64}),
                            ("created_at", DataType.DOUBLE, {}), ("data", DataType.VARCHAR, varchar), no_vector],
               {"v": ("FLAT", "L2")})
    manifest = {"schema_version": SCHEMA_VERSION, "layout": LAYOUT, "settings": asdict(settings), "created_at": time.time()}
    c.upsert(f"{prefix}_manifest", [{"key": "manifest", "value": json.dumps(manifest), "v": NO_VECTOR},
                                     {"key": "writes", "value": "0", "v": NO_VECTOR}])


COLLECTIONS = ("manifest", "documents", "texts", "chunks", "sentences", "keys", "feedback")


def read_settings(client: Any, prefix: str) -> IndexSettings | None:
    """The settings stored in the index's manifest (None if there is no index), its collections loaded."""
    from pymilvus.client.types import LoadState

    if not client.has_collection(f"{prefix}_manifest"):
        return None
    for collection in COLLECTIONS:  # a collection must be loaded (into memory) to be read
        name = f"{prefix}_{collection}"
        if client.has_collection(name) and client.get_load_state(name).get("state") != LoadState.Loaded:
            client.load_collection(name)
    rows = client.query(f"{prefix}_manifest", filter='key == "manifest"', output_fields=["value"])
    if not rows:
        return None
    body = json.loads(rows[0]["value"])
    if body.get("layout", 1) != LAYOUT:
        raise IndexStoreError(f"the Milvus index {prefix!r} has collection layout {body.get('layout', 1)}; this version "
                              f"reads layout {LAYOUT}: re-ingest the documents into a new index name")
    return IndexSettings(**body["settings"])
