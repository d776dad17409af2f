"""The feedback loop, measured on one corpus: people's feedback on half of an article's paragraphs, exported
and fine-tuned on from the shipped reader, scored on the other half's questions.

    .venv/bin/python scripts/measure_feedback_finetune.py [--article Economic_inequality] [--out bench-out/feedback-finetune]

The corpus is one article of ``../shared/train/squad2-dev-other.json`` from the validation half
(`rag fit split`: odd-numbered articles), which the shipped reader was not trained on. Its paragraphs
are ingested; every question of the even-numbered paragraphs is asked and answered with feedback as a
person would give it in the widget (``correct`` when the answer given matches a gold answer, else
``wrong`` with the gold words selected; ``no_answer`` for the unanswerable questions), through
``Pipeline.record_feedback``. ``rag feedback export --squad`` writes the training examples,
``rag train-reader --base rag/models/reader`` fine-tunes, ``rag fit no-answer --squad`` refits the
no-answer model on the same examples, and ``rag eval`` scores the odd-numbered paragraphs' questions
(reading each question's own paragraph, and open-domain over those paragraphs) with three readers: the
shipped one as shipped, the shipped one with its no-answer model refitted on the feedback (what the
refit alone moves), and the fine-tuned one with the shipped no-answer model, with only its reading
threshold refitted (``--reading-only``), and with everything refitted. (The shipped no-answer model was fitted
on the validation articles, this one among them: the first row has seen the held-out half.)
Writes OUT/results.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from eval import exact_match
from rag import DEFAULT_READER_DIR, Pipeline, record_to_document

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "train" / "squad2-dev-other.json"
RAG = [sys.executable, "-m", "ragcli"]


def _article(title: str) -> dict:
    data = json.loads(SOURCE.read_text(encoding="utf-8"))["data"]
    found = next(i for i, a in enumerate(data) if a["title"] == title)
    if found % 2 == 0:
        raise SystemExit(f"{title} is in the reader's training half (even-numbered articles): pick an odd one")
    return data[found]


def _give_feedback(pipeline: Pipeline, article: dict) -> dict[str, int]:
    """Every question of the even-numbered paragraphs, asked and judged as a person would."""
    verdicts = {"correct": 0, "wrong": 0, "no_answer": 0}
    for n, paragraph in enumerate(article["paragraphs"]):
        if n % 2:
            continue
        doc_id = f"{article['title']}#{n}"
        for qa in paragraph["qas"]:
            result = pipeline.ask(qa["question"])
            golds = [a["text"] for a in qa["answers"]]
            if not golds:
                verdict, answer = "no_answer", None
            elif result.answers and max(exact_match(result.answers[0].text, g) for g in golds) == 1.0:
                c = result.answers[0].citation
                verdict, answer = "correct", {"doc_id": c.doc_id, "char_start": c.char_start, "char_end": c.char_end}
            else:
                gold = qa["answers"][0]
                verdict, answer = "wrong", {"doc_id": doc_id, "char_start": gold["answer_start"],
                                            "char_end": gold["answer_start"] + len(gold["text"])}
            pipeline.record_feedback(qa["question"], verdict, answer=answer)
            verdicts[verdict] += 1
    return verdicts


def _eval(qa: Path, out: Path, options: tuple[str, ...], *extra: str) -> dict:
    """``rag eval``'s SQuAD 2.0 and answer figures (``options``: global options such as ``--reader``)."""
    subprocess.run([*RAG, *options, "eval", "--qa", str(qa), "--out", str(out), "--no-plot", *extra], cwd=REPO,
                   check=True, capture_output=True, text=True)
    report = json.loads((out / "report.json").read_text())
    return {"squad2": report["squad2"], "answer": report["answer"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--article", default="Economic_inequality")
    parser.add_argument("--out", type=Path, default=REPO / "bench-out" / "feedback-finetune")
    parser.add_argument("--epochs", default="2")
    args = parser.parse_args()
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    article = _article(args.article)

    pipeline = Pipeline.open(out / "index")
    pipeline.ingest_documents([record_to_document({"id": f"{article['title']}#{n}", "title": article["title"],
                                                   "text": p["context"]}, default_id="", source="squad")
                               for n, p in enumerate(article["paragraphs"])])
    results: dict = {"article": args.article, "source": str(SOURCE), "feedback": _give_feedback(pipeline, article)}
    pipeline.directory.close()
    squad = out / "feedback.json"
    subprocess.run([*RAG, "--index", str(out / "index"), "feedback", "export", "--squad", str(squad)], cwd=REPO,
                   check=True)
    heldout = out / "heldout.json"
    held = [p for n, p in enumerate(article["paragraphs"]) if n % 2]
    heldout.write_text(json.dumps({"version": "v2.0", "data": [{"title": article["title"], "paragraphs": held}]}))
    results["heldout_questions"] = sum(len(p["qas"]) for p in held)

    reader = out / "reader"
    command = [*RAG, "train-reader", "--qa", str(squad), "--base", str(DEFAULT_READER_DIR), "--out", str(reader),
               "--epochs", args.epochs, "--no-progress"]
    done = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    # train-reader --base starts the new reader with the shipped no-answer model: keep a copy as it is, then
    # refit it three ways.
    shipped_refit, kept, reading = (out / name for name in ("shipped-refit", "fine-tuned-as-trained",
                                                            "fine-tuned-reading-refit"))
    shutil.copytree(DEFAULT_READER_DIR, shipped_refit)
    shutil.copytree(reader, kept)
    shutil.copytree(reader, reading)
    for directory, only in ((shipped_refit, ()), (reader, ()), (reading, ("--reading-only",))):
        fit = subprocess.run([*RAG, "--reader", str(directory), "fit", "no-answer", "--squad", str(squad),
                              "--no-progress", *only], cwd=REPO, check=True, capture_output=True, text=True)
        results.setdefault("no_answer_fit", {})[directory.name] = fit.stdout.splitlines()[-6:]
    card = json.loads((reader / "card.json").read_text())
    results["training"] = {"command": command[2:], "steps": card["steps"], "windows": card["windows"],
                           "wall_s": card["wall_s"], "log_tail": done.stdout.splitlines()[-2:]}
    for name, options in (("shipped", ()), ("shipped, no-answer refit", ("--reader", str(shipped_refit))),
                          ("fine-tuned, shipped no-answer model", ("--reader", str(kept))),
                          ("fine-tuned, reading threshold refit", ("--reader", str(reading))),
                          ("fine-tuned, no-answer refit", ("--reader", str(reader)))):
        folder = name.replace(", ", "-").replace(" ", "-")
        results[name] = {"gold_passage": _eval(heldout, out / f"eval-{folder}-gold", options, "--gold-passage"),
                         "open_domain": _eval(heldout, out / f"eval-{folder}-open", options)}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
