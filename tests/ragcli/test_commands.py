"""The `rag` command on a real index: ingest, list, show, ask, delete, check, with their JSON forms
and their exit codes. In-process through ``ragcli.main.main`` with the bundled model."""
from __future__ import annotations

import json

import pytest

from ragcli.main import main
from tests.conftest import AMBASSADOR_FILE, NEWS_DIR

pytestmark = pytest.mark.integration


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def index(tmp_path, capsys) -> str:
    where = str(tmp_path / "index")
    code, out, _ = _run(capsys, "--index", where, "ingest", "--json", str(NEWS_DIR))
    assert code == 0 and len(json.loads(out)["added"]) == 2
    return where


def test_ingest_list_show_and_ask_agree_on_the_documents(index, capsys):
    code, out, _ = _run(capsys, "--index", index, "list", "--json")
    listed = json.loads(out)
    assert code == 0 and len(listed) == 2 and all(d["n_chunks"] > 0 for d in listed)
    ambassador = next(d for d in listed if d["source"].endswith(AMBASSADOR_FILE.name))
    code, out, _ = _run(capsys, "--index", index, "show", "--json", ambassador["doc_id"])
    shown = json.loads(out)
    assert code == 0 and shown["text"] == AMBASSADOR_FILE.read_text(encoding="utf-8")
    code, out, _ = _run(capsys, "--index", index, "ask", "--json", "Who is the Chinese ambassador to Norway?")
    asked = json.loads(out)
    assert code == 0 and asked["passages"][0]["citation"]["doc_id"] == ambassador["doc_id"]
    for answer in asked["answers"]:  # every extract is the document's text at its offsets
        citation = answer["citation"]
        assert shown["text"][citation["char_start"]:citation["char_end"]] == answer["text"] or \
            citation["doc_id"] != ambassador["doc_id"]


def test_a_second_ingest_of_the_same_files_changes_nothing(index, capsys):
    code, out, _ = _run(capsys, "--index", index, "ingest", "--json", str(NEWS_DIR))
    report = json.loads(out)
    assert code == 0 and report["added"] == [] and len(report["unchanged"]) == 2


def test_delete_then_check_and_the_errors_for_what_is_not_there(index, capsys):
    _, out, _ = _run(capsys, "--index", index, "list", "--json")
    doc_id = json.loads(out)[0]["doc_id"]
    assert _run(capsys, "--index", index, "delete", doc_id)[0] == 0
    code, out, _ = _run(capsys, "--index", index, "check", "--json")
    assert code == 0 and json.loads(out)["ok"] and json.loads(out)["documents"] == 1
    assert json.loads(out)["vectors"]["kind"] == "flat" and json.loads(out)["vectors"]["setting"] == "auto"
    code, out, _ = _run(capsys, "--index", index, "check")
    assert code == 0 and "vectors: flat, exact" in out and "switches to ivf-sq8 past a size" in out
    code, _, err = _run(capsys, "--index", index, "show", doc_id)
    assert code != 0 and doc_id in err
    code, _, err = _run(capsys, "--index", index, "delete", doc_id)
    assert code != 0 and "no document" in err and doc_id in err
    code, _, err = _run(capsys, "--index", index, "ask", "   ")
    assert code != 0 and err.strip()


def test_commands_on_a_missing_index_say_so(tmp_path, capsys):
    code, _, err = _run(capsys, "--index", str(tmp_path / "nowhere"), "list")
    assert code != 0 and "no index" in err.lower()
