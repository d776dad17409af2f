"""``ingest``, ``ask``, ``list``, ``show``, ``delete`` and ``check``."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register"]


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _pipeline(args: argparse.Namespace, *, create: bool = False):
    from ragcli.main import open_pipeline

    return open_pipeline(args, create=create)


def _labels(args: argparse.Namespace) -> tuple[tuple[str, ...] | None, dict[str, Any] | None]:
    """``--groups`` and ``--meta key=value`` (values read as JSON when they parse: 2024, true, "x")."""
    from domain.access import parse_groups
    from domain.errors import DocumentError

    groups = parse_groups(args.groups) if args.groups else None
    metadata: dict[str, Any] = {}
    for item in args.meta or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise DocumentError(f"--meta {item!r}: expected key=value")
        try:
            metadata[key.strip()] = json.loads(raw)
        except ValueError:
            metadata[key.strip()] = raw
    return groups, metadata or None


def cmd_ingest(args: argparse.Namespace) -> int:
    from domain.access import FilterError

    try:
        groups, metadata = _labels(args)
    except FilterError as exc:
        print(f"error: --groups: {exc}", file=sys.stderr)
        return 2
    pipeline = _pipeline(args, create=True)
    kept = pipeline.directory.settings.sentence_vectors
    if args.sentence_vectors not in (None, kept):
        print(f"note: the index at {args.index} keeps its sentence vectors {kept!r}; "
              f"rebuild it to change them", file=sys.stderr)
    report = pipeline.ingest(args.paths, include=args.include, exclude=args.exclude, progress=not args.json,
                             keep_boilerplate=args.keep_boilerplate, groups=groups, metadata=metadata)
    if args.json:
        _print_json(report.to_dict())
        return 0
    print(f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
          f"skipped {len(report.skipped)}; {report.chunks_added} chunks embedded in {report.seconds:.2f} s")
    for skipped in report.skipped:
        print(f"  skipped {skipped.source}: {skipped.reason}")
    for excluded in report.excluded:
        reasons = ", ".join(f"{reason} {chars}" for reason, chars in excluded.by_reason.items())
        print(f"  excluded {excluded.chars} characters of {excluded.source} as boilerplate ({reasons}); "
              f"see `rag show {excluded.doc_id}`")
    stats = pipeline.stats()
    print(f"index {args.index}: {stats['documents']} documents, {stats['chunks']} chunks")
    return 0


def _highlight(sentence: str, text: str) -> str:
    """The sentence with the answer span in bold, when printing to a terminal."""
    if not sys.stdout.isatty() or text == sentence or text not in sentence:
        return sentence
    return sentence.replace(text, f"\033[1m{text}\033[0m", 1)


def cmd_ask(args: argparse.Namespace) -> int:
    from domain.access import FilterError, Scope, parse_where_args

    try:
        scope = Scope(where=parse_where_args(args.where or []))
    except FilterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = _pipeline(args).ask(args.question, k=args.k, scope=scope)
    if args.json:
        _print_json(result.to_dict())
        return 0
    if result.no_answer:
        print(f"The documents don't contain an answer to that (best match {result.confidence:.2f}).")
        return 0
    for n, answer in enumerate(result.answers, start=1):
        c = answer.citation
        where = f"{c.source} [{c.char_start}:{c.char_end}]" + (f", page {c.page}" if c.page else "")
        print(f"{n}. {answer.text}")
        if answer.text != answer.sentence:
            print(f"   “{_highlight(answer.sentence, answer.text)}”")
        print(f"   — {c.title} · {where} · score {answer.score:.2f}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    docs = _pipeline(args).documents()
    if args.json:
        _print_json([d.to_dict() for d in docs])
        return 0
    for d in docs:
        pages = f", {d.pages} pages" if d.pages else ""
        groups = "" if d.groups == ("public",) else f"; groups {','.join(d.groups)}"
        print(f"{d.doc_id}  {d.title}  ({d.source}; {d.n_chars} chars, {d.n_chunks} chunks{pages}{groups})")
    print(f"{len(docs)} documents")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    doc = _pipeline(args).document(args.doc_id)
    if args.json:
        _print_json(doc.to_dict())
        return 0
    print(f"# {doc.title}\n({doc.doc_id}, {doc.source})\n")
    print(doc.text)
    if doc.excluded:
        print(f"\n-- left out of the index ({sum(ex.end - ex.start for ex in doc.excluded)} characters):")
        for ex in doc.excluded:
            print(f"  [{ex.start}:{ex.end}] {ex.reason}: {_preview(doc.text[ex.start:ex.end])}")
    return 0


def _preview(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def cmd_delete(args: argparse.Namespace) -> int:
    _pipeline(args).delete(args.doc_id)
    print(f"deleted {args.doc_id}")
    return 0


def _index_directory(args: argparse.Namespace):
    """The index as it is on disk, with its own settings: checking needs no embedding model."""
    from index import open_index, stored_settings
    from domain.errors import IndexStoreError

    settings = stored_settings(args.index)
    if settings is None:
        raise IndexStoreError(f"no index at {args.index}")
    return open_index(args.index, settings, create=False)


def cmd_check(args: argparse.Namespace) -> int:
    directory = _index_directory(args)
    report = directory.repair() if args.repair else directory.check()
    if args.json:
        _print_json(report.to_dict())
    else:
        state = "consistent" if report.ok else "INCONSISTENT"
        print(f"{args.index}: {state} (write {report.generation}, {report.documents} documents, "
              f"{report.chunks} chunks)")
        if report.vectors:
            print(f"  vectors: {_describe_vectors(report.vectors)}")
        for problem in report.problems:
            print(f"  - {problem}")
        if not report.ok and not args.repair:
            print("run `rag check --repair` to rebuild the counts, the vectors and the lexical index from the "
                  "stored documents and chunks")
    return 0 if report.ok else 1


def _describe_vectors(vectors: dict) -> str:
    if vectors["exact"]:
        note = " (switches to ivf-sq8 past a size, checked)" if vectors.get("setting") == "auto" else ""
        return f"flat, exact, {vectors['vectors']:,} vectors{note}"
    recall = f", recall@10 {vectors['recall@10']:.3f} against exact search" if "recall@10" in vectors else ""
    return (f"{vectors['kind']}, approximate, {vectors['vectors']:,} vectors in {vectors['cells']:,} cells, "
            f"nprobe {vectors['nprobe']}{recall}")


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("ingest", help="add files and directories to the index")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files and directories (walked recursively)")
    p.add_argument("--include", action="append", metavar="GLOB", help="only files matching (repeatable)")
    p.add_argument("--exclude", action="append", metavar="GLOB", help="skip files matching (repeatable)")
    p.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    p.add_argument("--keep-boilerplate", action="store_true",
                   help="index every line: nothing is excluded as a footer, menu or repeated line")
    p.add_argument("--groups", metavar="A,B",
                   help="who may read these documents over HTTP: group names (default: public; see `rag keys`)")
    p.add_argument("--meta", action="append", metavar="KEY=VALUE",
                   help="metadata for every document ingested, beside a record's own (repeatable; the value is "
                        "read as JSON when it parses, e.g. year=2024)")
    p.add_argument("--sentence-vectors", choices=["separate", "late"], default=None,
                   help="for a new index: pool each sentence's vector from its chunk's pass (late, the default: "
                        "one model pass per chunk) or embed each sentence on its own (separate: a little more "
                        "precise, about twice the embedding work)")
    p.set_defaults(handler=cmd_ingest)

    p = commands.add_parser("ask", help="answer a question from the indexed documents")
    p.add_argument("question", help="the question, in plain language (at most 2,000 characters)")
    p.add_argument("--k", type=int, default=5, help="passages to retrieve (1-50, default 5)")
    p.add_argument("--json", action="store_true",
                   help="print the answers, passages and timings as JSON (the HTTP /ask object)")
    p.add_argument("--where", action="append", metavar="KEY=VALUE",
                   help="only documents whose source, title or metadata KEY equals VALUE (repeatable: all must "
                        "hold; a KEY repeated with = matches any of its values); also KEY>=V, KEY<=V (numbers or "
                        "ISO dates) and KEY^=PREFIX")
    p.set_defaults(handler=cmd_ask)

    p = commands.add_parser("list", help="list the indexed documents")
    p.add_argument("--json", action="store_true", help="print the documents as a JSON list")
    p.set_defaults(handler=cmd_list)

    p = commands.add_parser("show", help="print a document, with its full text")
    p.add_argument("doc_id", help="the document id (as `rag list` shows it)")
    p.add_argument("--json", action="store_true",
                   help="print the document as JSON (text, metadata, excluded ranges)")
    p.set_defaults(handler=cmd_show)

    p = commands.add_parser("delete", help="remove a document from the index")
    p.add_argument("doc_id", help="the document id (as `rag list` shows it)")
    p.set_defaults(handler=cmd_delete)

    p = commands.add_parser("check", help="verify that the manifest, store, FAISS and BM25 agree, and say which vector index is live")
    p.add_argument("--repair", action="store_true",
                   help="rebuild the counts and the saved vectors and lexical index from the stored chunks")
    p.add_argument("--json", action="store_true", help="print the check report as JSON")
    p.set_defaults(handler=cmd_check)
