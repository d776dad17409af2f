"""The benchmark's command line and the order things run in."""
from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.stats import Timer, dir_size_mb, machine
from bench.targets import targets

__all__ = ["add_arguments", "run_benchmark", "main"]

logger = logging.getLogger(__name__)

SECTIONS = ("ingest", "answer", "http", "writes", "scale", "scale-ask")
_SHARED = Path(__file__).resolve().parents[2] / "shared"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--smoke", action="store_true",
                        help="tiny inputs and the fake embedder: every section in seconds (what CI runs)")
    parser.add_argument("--out", type=Path, default=Path("bench-out"), metavar="DIR",
                        help="where bench.json, the profile, the server log and the work indexes go (default bench-out)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="the JSON results (default DIR/bench.json)")
    parser.add_argument("--only", action="append", choices=SECTIONS, metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)}; repeatable). http needs ingest; "
                             "writes uses the hash embedder")
    parser.add_argument("--chunks", type=int, metavar="N", help="size of the generated corpus (default 10000)")
    parser.add_argument("--vectors", type=int, metavar="N", help="vectors in the scale section (default 1000000)")
    parser.add_argument("--skip-milvus", action="store_true",
                        help="scale section: leave out the Milvus index types (built in milvus-lite when pymilvus is installed)")
    parser.add_argument("--milvus-index-types", nargs="+", choices=["FLAT", "IVF_SQ8", "HNSW"], metavar="TYPE",
                        help="scale section: only these Milvus index types (default FLAT IVF_SQ8 HNSW)")
    parser.add_argument("--questions", type=int, metavar="N", help="questions per latency run (default 300)")
    parser.add_argument("--scale-sizes", type=int, nargs="+", metavar="N",
                        help="scale-ask section: the index sizes in chunks, growing (default 10000 250000 1000000)")
    parser.add_argument("--train-file", type=Path, default=_SHARED / "train" / "squad-train.json", metavar="FILE",
                        help="scale-ask section: the SQuAD file whose sentences make the chunks")
    parser.add_argument("--torch-ingest", action="store_true",
                        help="also ingest the SQuAD paragraphs with the torch backend (slow; the old default)")
    parser.add_argument("--skip-squad-ingest", action="store_true",
                        help="skip the ingest runs on the SQuAD paragraphs (the generated corpus is still measured)")
    parser.add_argument("--squad", type=Path, default=_SHARED / "eval" / "squad2-dev-public.json", metavar="FILE",
                        help="the SQuAD file whose paragraphs and questions the benchmark uses")
    parser.add_argument("--news", type=Path, default=_SHARED / "corpus" / "news", metavar="DIR",
                        help="more text for the corpus generator (optional)")
    parser.add_argument("--serve-workers", type=int, default=1, metavar="N",
                        help="worker processes of the measured `rag serve` (default 1)")
    parser.add_argument("--existing-index", action="append", metavar="LOCATION",
                        help="measure answering (in-process and HTTP) on this index (a directory, milvus-lite:PATH or "
                             "milvus://HOST:PORT/NAME) instead of building one; repeat it to measure several back to "
                             "back; the ingest and scale sections are skipped")
    parser.add_argument("--write-corpus", type=Path, metavar="DIR",
                        help="only write the generated corpus (at least --chunks chunks, with the public split's "
                             "paragraphs) into DIR, for `rag ingest`, and stop")


def _embedders(smoke: bool) -> tuple[dict[str, Any], dict[str, float]]:
    """``default`` (what rag ingest/serve use), ``int8`` and the ``torch`` reference, with load times."""
    loads: dict[str, float] = {}
    if smoke:
        from rag import HashEmbedder

        fake = HashEmbedder()
        fake.backend = "fake"
        return {"default": fake, "int8": fake, "torch": None}, loads
    from rag import SentenceTransformerEmbedder

    found = {}
    for label, backend in (("default", "onnx"), ("int8", "onnx-int8"), ("torch", "torch")):
        with Timer() as t:
            found[label] = SentenceTransformerEmbedder(backend=backend)
        loads[f"{label} ({backend})"] = t.seconds
    return found, loads


def _sources(squad: Any, news: Path) -> list[str]:
    texts = [r["text"] for r in squad.records]
    if news.is_dir():
        texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(news.glob("*.txt"))]
    return texts


def _checkpoint(results: dict[str, Any], out: Path) -> None:
    """What has been measured so far, so a long run that is stopped still leaves its figures."""
    (out / "bench.partial.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    from bench import answering, ingest, scale
    from bench.corpus import load_squad, write_squad_jsonl
    from rag import DEFAULT_SENTENCE_VECTORS, Pipeline

    smoke = args.smoke
    sections = set(args.only or SECTIONS)
    out: Path = args.out
    work = out / "work"
    out.mkdir(parents=True, exist_ok=True)
    reader = getattr(args, "reader", None)  # rag --reader DIR bench: that reader answers, in-process and served
    results: dict[str, Any] = {"machine": machine(), "smoke": smoke, "sections": sorted(sections),
                               "reader": str(reader) if reader else "shipped"}
    n_chunks = args.chunks or (150 if smoke else 10_000)
    n_questions = args.questions or (8 if smoke else 300)

    if args.write_corpus:
        from rag import Chunker, ChunkingConfig, SentenceTransformerEmbedder

        embedder = _embedders(smoke)[0]["default"] if smoke else SentenceTransformerEmbedder()
        chunker = Chunker(ChunkingConfig(), max_model_tokens=embedder.max_tokens, count_model_tokens=embedder.count_tokens)
        squad = load_squad(args.squad, limit=12 if smoke else None)
        corpus, _ = ingest.build_corpus(args.write_corpus, squad, sources=_sources(squad, args.news),
                                        min_chunks=n_chunks, chunker=chunker)
        return {"machine": results["machine"], "corpus": corpus}
    if args.existing_index:
        squad = load_squad(args.squad)
        questions = [q for q, _ in squad.questions][:n_questions]
        fake = _embedders(smoke)[0]["default"] if smoke else None  # smoke: the indexes were built with it
        results["by_index"] = []
        for location in args.existing_index:
            results["by_index"].append(_answer_on(location, questions, out, smoke=smoke, workers=args.serve_workers,
                                                  embedder=fake, reader_dir=reader))
            _checkpoint(results, out)
        results.update({key: results["by_index"][0][key] for key in ("footprint", "answer", "http")})
        sections = set()
    if sections & {"ingest", "answer", "http"}:
        squad = load_squad(args.squad, limit=12 if smoke else None)
        embedders, loads = _embedders(smoke)
        results["model_load_s"] = loads
        questions = [q for q, _ in squad.questions][:n_questions]
        count = embedders["default"].count_tokens
        squad_file = write_squad_jsonl(squad, work / "squad.jsonl")
        ing: dict[str, Any] = {"squad": [], "corpus": []}
        results["ingest"] = ing

        logger.info("ingest: SQuAD paragraphs")
        runs = {}
        labels = ("default", "int8", "torch") if args.torch_ingest else ("default", "int8")
        if args.skip_squad_ingest:
            labels = ()
            runs["default"] = {"pipeline": Pipeline.open(work / "squad-default", embedder=embedders["default"])}
        for label in labels:
            if embedders[label] is None:
                continue
            runs[label] = ingest.ingest_run(getattr(embedders[label], "backend", label), embedders[label],
                                            [squad_file], work / f"squad-{label}", count_tokens=count)
            ing["squad"].append(runs[label]["result"])
        if embedders["torch"] is not None and labels:
            texts = runs["default"]["texts"]
            ing["squad"].insert(0, ingest.reference_encode(embedders["torch"], texts,
                                                           runs["default"]["result"]["model_tokens"]))
        _checkpoint(results, out)

        logger.info("ingest: generated corpus of at least %d chunks", n_chunks)
        corpus, big_texts = ingest.build_corpus(work / "corpus", squad, sources=_sources(squad, args.news),
                                                min_chunks=n_chunks, chunker=runs["default"]["pipeline"].chunker)
        ing["corpus_info"] = corpus
        corpus_paths = [Path(corpus["dir"])]
        index_dir = work / "index"
        if embedders["torch"] is not None:
            # The reference and the fast ingest back to back, so machine noise hits both alike.
            tokens = int(sum(count(big_texts)))
            reference = ingest.reference_encode(embedders["torch"], big_texts, tokens)
            ing["corpus"].append(reference)
            _checkpoint(results, out)
            for key, sentence_vectors in (("fast", "late"), ("int8", "separate")):
                run = ingest.ingest_run(embedders["int8"].backend, embedders["int8"], corpus_paths,
                                        work / f"index-{key}", count_tokens=count, sentence_vectors=sentence_vectors)
                ing["corpus"].append(run["result"])
                ing[f"{key}_speedup_vs_reference"] = reference["seconds"] / run["result"]["seconds"]
                shutil.rmtree(work / f"index-{key}", ignore_errors=True)
                _checkpoint(results, out)
            # The backend alone on the reference's exact work: separates what the encoder gains from
            # what the pipeline adds (sentence vectors, for the answerer).
            with Timer() as t:
                embedders["int8"].encode_documents(big_texts)
            ing["corpus"].append({"backend": "onnx-int8, encode only (the reference's texts)", "seconds": t.seconds,
                                  "chunks": len(big_texts), "model_tokens": tokens,
                                  "chunks_per_s": len(big_texts) / t.seconds, "tokens_per_s": tokens / t.seconds})
            ing["int8_encode_speedup_vs_reference"] = reference["seconds"] / t.seconds
            _checkpoint(results, out)
        # The index the answering sections use is built as `rag ingest` builds one: the default settings.
        big = ingest.ingest_run(getattr(embedders["int8"], "backend", "default"), embedders["int8"],
                                corpus_paths, index_dir, count_tokens=count, sentence_vectors=DEFAULT_SENTENCE_VECTORS)
        ing["corpus"].append(big["result"])
        if embedders["torch"] is not None:
            ing["default_speedup_vs_reference"] = reference["seconds"] / big["result"]["seconds"]
        ing["reingest"] = ingest.reingest(big["pipeline"], corpus_paths)
        ing["reingest"]["speedup"] = big["result"]["seconds"] / ing["reingest"]["seconds"]
        results["footprint"] = {"index_mb": dir_size_mb(index_dir), "chunks": big["result"]["chunks"]}
        _checkpoint(results, out)

        pipeline = Pipeline.open(index_dir, embedder=embedders["int8"], create=False, reader_dir=reader)
        if "answer" in sections:
            logger.info("answering in-process")
            results["answer"] = answering.ask_in_process(pipeline, questions)
            results["answer"]["profile_top"] = answering.profile_asks(pipeline, questions[:100], out / "profile.txt")
            _checkpoint(results, out)
        if "http" in sections:
            logger.info("answering over HTTP")
            results["http"] = _http(pipeline, index_dir, questions, out, smoke=smoke, workers=args.serve_workers,
                                    reader_dir=reader)
            results["footprint"].update({k: results["http"]["server"].get(k) for k in
                                         ("start_to_ready_s", "peak_rss_mb", "rss_after_start_mb")})
            _checkpoint(results, out)
        logger.info("recall@5 per backend")
        configurations = {"default": ("default", "separate"), "int8": ("int8", "separate"), "fast": ("int8", "late")}
        if embedders["torch"] is None:
            configurations = {"default": ("default", "separate")}
        squad_for_eval = args.squad if embedders["torch"] is not None else Path("/nonexistent")  # smoke: no harness
        ing["recall"] = {label: ingest.recall_at_5(embedders[name], squad_for_eval, squad, work / f"recall-{label}",
                                                   sentence_vectors=sentence_vectors)
                         for label, (name, sentence_vectors) in configurations.items()}
        _checkpoint(results, out)

    if "writes" in sections:
        logger.info("writes at two index sizes")
        from bench import writes

        results["writes"] = writes.writes_run(work / "writes", sizes=(500, 5_000) if smoke else (2_500, 250_000),
                                              repeats=3 if smoke else 10)
        shutil.rmtree(work / "writes", ignore_errors=True)
        _checkpoint(results, out)
    if "scale" in sections:
        logger.info("vector search at scale")
        n = args.vectors or (20_000 if smoke else 1_000_000)
        with_milvus = not args.skip_milvus and importlib.util.find_spec("pymilvus") is not None
        results["scale"] = scale.scale_run(n=n, queries=50 if smoke else 200, train_at=5_000 if smoke else None,
                                           nprobes=(4, 8, 16) if smoke else (8, 16, 32, 64, 128),
                                           milvus_work=work / "scale-milvus" if with_milvus else None,
                                           milvus_types=tuple(args.milvus_index_types or ()))
    if "scale-ask" in sections:
        _scale_ask(args, results, out, work)
    results["targets"] = targets(results)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def _scale_ask(args: argparse.Namespace, results: dict[str, Any], out: Path, work: Path) -> None:
    from bench import scale_ask
    from bench.corpus import load_squad

    if not args.train_file.is_file():
        results["scale_ask"] = {"skipped": f"{args.train_file} not found"}
        return
    logger.info("ask as the collection grows")
    smoke = args.smoke

    def checkpoint(found: dict[str, Any]) -> None:
        results["scale_ask"] = found
        _checkpoint(results, out)

    shutil.rmtree(work / "scale-ask", ignore_errors=True)
    sizes = tuple(args.scale_sizes or ((400, 800) if smoke else (10_000, 250_000, 1_000_000)))
    results["scale_ask"] = scale_ask.scale_ask_run(
        work / "scale-ask", sizes=sizes, squad=load_squad(args.squad, limit=12 if smoke else None),
        train_file=args.train_file, questions=8 if smoke else 40, http_requests=8 if smoke else 100,
        checkpoint=checkpoint)
    shutil.rmtree(work / "scale-ask", ignore_errors=True)
    _checkpoint(results, out)


def _answer_on(location: str, questions: list[str], out: Path, *, smoke: bool, workers: int,
               embedder: Any = None, reader_dir: str | None = None) -> dict[str, Any]:
    """Answering on an index that exists: in-process, then over HTTP (one location after another, back to back)."""
    from bench import answering
    from index import is_milvus
    from rag import Pipeline

    pipeline = Pipeline.open(location, embedder=embedder, create=False, reader_dir=reader_dir)
    path = Path(location.removeprefix("milvus-lite:")) if not location.startswith("milvus://") else None
    found: dict[str, Any] = {"index": location, "footprint": {"index_mb": dir_size_mb(path) if path else None,
                                                              "chunks": pipeline.stats()["chunks"]}}
    found["answer"] = answering.ask_in_process(pipeline, questions)
    tag = "".join(ch if ch.isalnum() else "-" for ch in location)[-40:]
    found["answer"]["profile_top"] = answering.profile_asks(pipeline, questions[:100], out / f"profile-{tag}.txt")
    if is_milvus(location) and not smoke:
        pipeline.directory.close()  # milvus-lite: one process per file, and the server is another process
    found["http"] = _http(pipeline, location, questions, out, smoke=smoke, workers=workers, log=f"server-{tag}.log",
                          reader_dir=reader_dir)
    found["footprint"].update({k: found["http"]["server"].get(k) for k in
                               ("start_to_ready_s", "peak_rss_mb", "rss_after_start_mb")})
    if not is_milvus(location) or smoke:
        pipeline.directory.close()
    return found


def _http(pipeline: Any, index_dir: Path | str, questions: list[str], out: Path, *, smoke: bool, workers: int = 1,
          log: str = "server.log", reader_dir: str | None = None) -> dict:
    from bench import answering

    if smoke:
        from api import Settings, create_app

        server = answering.in_process_server(create_app(Settings(index_dir=index_dir), pipeline=pipeline))
    else:
        server = answering.start_server(index_dir, out / log, workers=workers, reader_dir=reader_dir)
    plan = [(1, 8, 4), (8, 16, 0)] if smoke else [(1, 300, 20), (8, 480, 0), (32, 960, 0)]
    runs = []
    with server as info:
        for concurrency, requests, warmup in plan:
            if warmup:
                answering.http_load(info["port"], questions[::-1], concurrency=1, requests=warmup)
            runs.append(answering.http_load(info["port"], questions, concurrency=concurrency, requests=requests))
    return {"server": info, "runs": runs}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument("--reader", metavar="DIR", help="the reader that answers (default: the shipped one); "
                                                        "`rag --reader DIR bench` does the same")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_and_report(args)


def run_and_report(args: argparse.Namespace) -> int:
    from bench.report import render

    if not args.squad.is_file():
        print(f"error: {args.squad} not found (the benchmark needs the SQuAD public split; see --squad)", file=sys.stderr)
        return 2
    results = run_benchmark(args)
    if args.write_corpus:
        corpus = results["corpus"]
        print(f"wrote {corpus['dir']}: {corpus['generated_documents']} generated documents and "
              f"{corpus['squad_documents']} SQuAD paragraphs, {corpus['chunks_expected']:,} chunks, {corpus['mb']:.1f} MB")
        return 0
    path = args.json or args.out / "bench.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    sys.stdout.write(render(results))
    sys.stdout.write(f"\nwrote {path}\n")
    return 0
