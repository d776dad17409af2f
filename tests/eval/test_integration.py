"""The real model on the public SQuAD 2.0 split and on the news corpus.

The index build goes to the repository's .eval-cache (as `rag eval` would), so the CI gate that
runs after the tests finds it built.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eval.cache import open_cached_index
from eval.datasets import load_dataset
from eval.runner import Evaluator
from tests.conftest import AMBASSADOR_FILE, NEWS_DIR, REPO, SQUAD_FILE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def squad(real_embedder):
    dataset = load_dataset(SQUAD_FILE)
    built = open_cached_index(embedder=real_embedder, documents=dataset.documents, cache_dir=REPO / ".eval-cache")
    return dataset, built


def test_the_public_split_is_read_as_documented(squad):
    dataset, built = squad
    assert (len(dataset.documents), len(dataset.examples)) == (395, 3582)
    assert (dataset.n_answerable, dataset.n_unanswerable) == (1730, 1852)
    assert built.documents == 395 and not built.skipped


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_every_mode_finds_the_paragraph(squad, mode):
    dataset, built = squad
    run = Evaluator(dataset.limited(200), mode=mode).run(built.pipeline)
    retrieval = run.metrics["retrieval"]
    # reference points on the whole split: recall@5 0.921 (bm25), 0.887 (dense); a broken retriever
    # or a scoring bug lands far below these floors
    assert retrieval["recall@5"] >= 0.8, retrieval
    assert retrieval["mrr@10"] >= 0.65, retrieval
    assert run.metrics["answer"]["citation_valid"] == 1.0
    # far below what extracts from the top passages reach (contains_gold 0.38-0.66, F1 0.17-0.31 so far)
    assert run.metrics["answer"]["contains_gold"] >= 0.25, run.metrics["answer"]
    assert run.metrics["answer"]["f1"] >= 0.1, run.metrics["answer"]
    # 50 passages leave at least 20 distinct documents to rank in (almost) every case
    assert run.few_documents() <= 0.02 * len(run.results)


def test_rag_eval_on_the_news_corpus(tmp_path):
    qa = tmp_path / "news.jsonl"
    qa.write_text(json.dumps({"id": "amb", "question": "Who is the Chinese ambassador to Norway?",
                              "answers": ["Hou Yue"], "source": AMBASSADOR_FILE.name}) + "\n"
                  + json.dumps({"id": "none", "question": "What is the boiling point of liquid helium on Mars?",
                                "answers": [], "source": None}) + "\n")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "ragcli", "eval", "--qa", str(qa), "--corpus", str(NEWS_DIR),
                           "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--k", "1,2"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "| retrieval | recall@1 | recall@2 |" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["retrieval"]["recall@2"] == 1.0
    assert report["answer"]["citation_valid"] == 1.0
    assert report["config"]["model"] == "sentence-transformers/all-MiniLM-L6-v2+onnx-int8"  # the default backend
