"""Hostile files through the CLI's ingest path and the upload path: ingested correctly or refused with
the reason; memory stays bounded; nothing else in the index changes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domain.errors import DocumentError
from domain.types import Document
from rag import Pipeline
from rag.boilerplate import mark_boilerplate
from rag.hash_embedder import HashEmbedder
from rag.loaders import load_bytes, load_file
from tests.conftest import NEWS_DIR, REPO
from tests.reliability.hostile import (BIG_FILE_MB, HOSTILE_FILES, TRAVERSAL_NAMES, Hostile, fingerprint,
                                       write_big_text)
from tests.reliability.report import record

BASELINE = {
    "harbour": "The harbour master logs every ship. Ferries leave at dawn for the northern islands.",
    "orchard": "The orchard grows seven kinds of apple. Pickers arrive in September each year.",
}


@pytest.fixture
def populated(tmp_path: Path) -> Pipeline:
    pipeline = Pipeline.open(tmp_path / "index", embedder=HashEmbedder())
    for doc_id, text in BASELINE.items():
        pipeline.ingest_record({"id": doc_id, "text": text})
    return pipeline


def _assert_citations_exact(pipeline: Pipeline, question: str) -> list[str]:
    result = pipeline.ask(question, k=5)
    for item in [*result.passages, *result.answers]:
        c = item.citation
        assert pipeline.document(c.doc_id).text[c.char_start:c.char_end] == item.text
    return [p.citation.doc_id for p in result.passages]


@pytest.mark.parametrize("hostile", HOSTILE_FILES, ids=lambda h: h.name)
def test_hostile_file_via_the_cli_ingest_path(populated: Pipeline, tmp_path: Path, hostile: Hostile):
    path = tmp_path / "files" / hostile.name
    path.parent.mkdir()
    path.write_bytes(hostile.make())
    before, generation = fingerprint(populated), populated.stats()["generation"]

    report = populated.ingest([path.parent])

    assert populated.check().ok
    if hostile.refused:
        assert [(s.source, s.reason) for s in report.skipped] == [(str(path), report.skipped[0].reason)]
        assert hostile.refused in report.skipped[0].reason
        assert not report.added and not report.updated
        assert fingerprint(populated) == before and populated.stats()["generation"] == generation
    else:
        assert not report.skipped and len(report.added) == 1
        after = fingerprint(populated)
        assert [row for row in after if row[0] != report.added[0]] == before  # nothing else changed
        doc = populated.document(report.added[0])
        assert hostile.contains in doc.text
        assert report.added[0] in _assert_citations_exact(populated, hostile.contains)


@pytest.mark.parametrize("hostile", HOSTILE_FILES, ids=lambda h: h.name)
def test_hostile_file_via_the_upload_path(populated: Pipeline, hostile: Hostile):
    before = fingerprint(populated)
    if hostile.refused:
        with pytest.raises(DocumentError, match=hostile.refused):
            populated.ingest_bytes(hostile.make(), filename=hostile.name)
        assert fingerprint(populated) == before
    else:
        report = populated.ingest_bytes(hostile.make(), filename=hostile.name)
        assert len(report.added) == 1 and hostile.contains in populated.document(report.added[0]).text
        assert [row for row in fingerprint(populated) if row[0] != report.added[0]] == before
    assert populated.check().ok


@pytest.mark.parametrize("name", TRAVERSAL_NAMES)
def test_upload_names_with_paths_become_plain_names(populated: Pipeline, tmp_path: Path, name: str):
    cwd_before = set(os.listdir(Path.cwd()))
    report = populated.ingest_bytes(b"A short note about tides.", filename=name)
    doc = populated.document(report.added[0])
    assert doc.source.startswith("upload:")
    plain = doc.source.removeprefix("upload:")
    assert "/" not in plain and "\\" not in plain and plain not in {"", ".", ".."}
    assert "/" not in doc.title and "\\" not in doc.title
    assert not (tmp_path.parent / "escaped.txt").exists() and not Path("/tmp/escaped.txt").exists()
    assert set(os.listdir(Path.cwd())) == cwd_before  # uploads are never written out as files


def test_degenerate_upload_names_are_refused_with_the_reason(populated: Pipeline):
    for name in ("", "..", "/", "noextension"):
        with pytest.raises(DocumentError, match="unsupported file type"):
            populated.ingest_bytes(b"some text", filename=name)


_PEAK_SCRIPT = """
import json, sys
from rag import Pipeline
from rag.hash_embedder import HashEmbedder

def peak_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024

pipeline = Pipeline.open(sys.argv[1], embedder=HashEmbedder())
pipeline.ingest_record({"id": "warm", "text": "Warm up the code paths once. Then measure."})
before = peak_mb()
report = pipeline.ingest([sys.argv[2]])
print(json.dumps({"before": before, "after": peak_mb(), "report": report.to_dict()}))
"""


def test_a_50_mb_text_file_is_refused_unread_and_memory_stays_flat(tmp_path: Path):
    folder = tmp_path / "files"
    folder.mkdir()
    write_big_text(folder / "big.txt")
    (folder / "small.txt").write_text("A small file next to the big one. It is ingested.", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(tmp_path / "index"), str(folder)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    skipped = result["report"]["skipped"]
    assert [s["source"] for s in skipped] == [str(folder / "big.txt")]
    assert f"file too large: {BIG_FILE_MB} MB" in skipped[0]["reason"] and "split it" in skipped[0]["reason"]
    assert len(result["report"]["added"]) == 1
    # Peak resident memory grew by far less than the file: it was never read.
    record("ingest_50mb", {"peak_rss_mb_before": round(result["before"], 1), "after": round(result["after"], 1)})
    assert result["after"] - result["before"] < 20, result


def test_the_size_limit_is_exact_and_reads_no_more_than_it(tmp_path: Path):
    path = tmp_path / "limit.txt"
    path.write_bytes(b"x" * 999 + b".")
    [doc], _ = load_file(path, max_bytes=1000)
    assert len(doc.text) == 1000
    with pytest.raises(DocumentError, match="file too large"):
        load_file(path, max_bytes=999)


PATHOLOGICAL = [
    ("blank lines of spaces", lambda n: "a" + "\n " * n + "b"),
    ("one line of '@'", lambda n: "@" * n),
    ("email and '@'", lambda n: "email " + "@" * n),
    ("'a@' repeated", lambda n: "a@" * (n // 2)),
]


@pytest.mark.parametrize(("shape", "make"), PATHOLOGICAL)
def test_pathological_text_is_cleaned_in_range(shape: str, make):
    text = make(100_000)
    [doc] = mark_boilerplate([Document(doc_id="d", text=text, source="s", title="t")])
    assert all(0 <= ex.start < ex.end <= len(text) for ex in doc.excluded)


@pytest.mark.timing
@pytest.mark.parametrize(("shape", "make"), PATHOLOGICAL)
def test_pathological_text_is_cleaned_in_linear_time(shape: str, make):
    # Before: 80 kB of these took 12 s to 30 minutes (quadratic regexes); an upload could stall a worker.
    text = make(100_000)
    started = time.perf_counter()
    mark_boilerplate([Document(doc_id="d", text=text, source="s", title="t")])
    assert time.perf_counter() - started < 2.0, shape


def test_html_nested_deeper_than_lxml_allows_keeps_its_text():
    html = "<title>Deep</title>" + "<div>" * 300 + "<p>Owls &amp; bats sleep here.</p>" + "</div>" * 300
    [doc], _ = load_bytes(html.encode(), filename="deep.html", source="deep.html", doc_id="d")
    assert doc.text == "Owls & bats sleep here." and doc.title == "Deep"


def test_deeply_nested_json_lines_are_skipped_one_by_one():
    data = b"[" * 50_000 + b"]" * 50_000 + b'\n{"id": "ok", "text": "Fine record."}\n'
    docs, skipped = load_bytes(data, filename="records.jsonl", source="records.jsonl", doc_id="r")
    assert [d.doc_id for d in docs] == ["ok"]
    assert [(s.source, s.reason) for s in skipped] == [("records.jsonl:1", "invalid JSON: nested too deeply")]


_CLI_PEAK = """
import resource, sys
from ragcli.main import main
code = main(sys.argv[1:])
print(f"PEAK_MB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", file=sys.stderr)
sys.exit(code)
"""


def _cli(*args: str, peak: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", _CLI_PEAK, *args] if peak else [sys.executable, "-m", "ragcli", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600,
                          env={k: v for k, v in os.environ.items() if not k.startswith("RAG_")})


def _peak(proc: subprocess.CompletedProcess) -> float:
    return float(next(line.split()[1] for line in proc.stderr.splitlines() if line.startswith("PEAK_MB")))


@pytest.mark.integration
def test_rag_ingest_cli_with_every_hostile_file_and_the_chinese_news_article(tmp_path: Path):
    """The real CLI and model: one ``rag ingest`` over all of them, then ``rag check`` and ``rag show``."""
    files = tmp_path / "files"
    files.mkdir()
    for hostile in HOSTILE_FILES:
        (files / hostile.name).write_bytes(hostile.make())
    article = sorted(NEWS_DIR.glob("*.txt"))[1]
    (files / "article.txt").write_bytes(article.read_bytes())  # in tmp_path only; ends in Chinese
    index = str(tmp_path / "index")

    small = _cli("--index", index, "ingest", "--json", str(files), peak=True)
    assert small.returncode == 0, small.stderr
    report = json.loads(small.stdout)
    reasons = {Path(s["source"]).name: s["reason"] for s in report["skipped"]}
    for hostile in HOSTILE_FILES:
        if hostile.refused:
            assert hostile.refused in reasons[hostile.name], (hostile.name, reasons.get(hostile.name))
    expected_added = sum(1 for h in HOSTILE_FILES if not h.refused) + 1
    assert len(report["added"]) == expected_added and len(reasons) == len(HOSTILE_FILES) + 1 - expected_added

    # The same again with a 50 MB file added: refused, and the peak memory barely moves.
    write_big_text(files / "big.txt")
    again = _cli("--index", index, "ingest", "--json", str(files), peak=True)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert len(second["unchanged"]) == expected_added and not second["added"]
    assert any("file too large: 50 MB" in s["reason"] for s in second["skipped"])
    record("cli_hostile", {"peak_rss_mb_without_50mb_file": _peak(small), "with": _peak(again)})
    assert _peak(again) < _peak(small) + 60, (_peak(small), _peak(again))

    check = _cli("--index", index, "check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout + check.stderr
    listed = json.loads(_cli("--index", index, "list", "--json").stdout)
    article_id = next(d["doc_id"] for d in listed if d["source"].endswith("article.txt"))
    shown = json.loads(_cli("--index", index, "show", "--json", article_id).stdout)
    assert shown["text"] == article.read_text(encoding="utf-8")  # the Chinese ending, unchanged
    assert "许可证" in shown["text"][-400:]
