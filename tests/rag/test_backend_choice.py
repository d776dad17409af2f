"""The embedding backend follows the index: an index built with onnx-int8 is read with it, unasked."""
from __future__ import annotations

import pytest

from index import IndexDirectory
from rag import Pipeline
from rag.embed import backend_for
from rag.hash_embedder import HashEmbedder
from ragcli.main import main

pytestmark = pytest.mark.integration


def test_model_names_say_which_backend_computed_their_vectors():
    assert backend_for("sentence-transformers/all-MiniLM-L6-v2") == "onnx"
    assert backend_for("sentence-transformers/all-MiniLM-L6-v2+onnx-int8") == "onnx-int8"


def test_stored_settings_of_a_missing_index_are_none(tmp_path):
    assert IndexDirectory.stored_settings(tmp_path / "nothing-here") is None
    Pipeline.open(tmp_path / "index", embedder=HashEmbedder())
    assert IndexDirectory.stored_settings(tmp_path / "index").model_name == HashEmbedder().name


def test_an_int8_index_is_built_then_asked_without_naming_the_backend_again(tmp_path, capsys):
    from tests.conftest import AMBASSADOR_FILE

    index = str(tmp_path / "index")
    assert main(["--index", index, "--backend", "onnx-int8", "ingest", str(AMBASSADOR_FILE)]) == 0
    assert IndexDirectory.stored_settings(index).model_name.endswith("+onnx-int8")
    capsys.readouterr()
    assert main(["--index", index, "ask", "Who is the Chinese ambassador to Norway?"]) == 0
    assert "Hou Yue" in capsys.readouterr().out
    # Asking for the float model explicitly is the clear mismatch error, not wrong answers.
    assert main(["--index", index, "--backend", "onnx", "ask", "Who is the ambassador?"]) != 0
    assert "onnx-int8" in capsys.readouterr().err


def test_the_fast_ingest_settings_are_chosen_once_and_kept_by_the_index(tmp_path, capsys):
    from tests.conftest import AMBASSADOR_FILE

    index = str(tmp_path / "index")
    argv = ["--index", index, "--backend", "onnx-int8", "ingest", "--sentence-vectors", "late", str(AMBASSADOR_FILE)]
    assert main(argv) == 0
    assert IndexDirectory.stored_settings(index).sentence_vectors == "late"
    capsys.readouterr()
    assert main(["--index", index, "ask", "Who is the Chinese ambassador to Norway?"]) == 0
    assert "Hou Yue" in capsys.readouterr().out
    # asking an existing index for the other mode says it keeps its own
    assert main(["--index", index, "ingest", "--sentence-vectors", "separate", str(AMBASSADOR_FILE)]) == 0
    assert "keeps its sentence vectors 'late'" in capsys.readouterr().err
    assert IndexDirectory.stored_settings(index).sentence_vectors == "late"
