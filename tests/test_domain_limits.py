"""What a document may carry: each limit refuses what breaks it, names it, and lets the rest through."""
from __future__ import annotations

import json

import pytest

from domain.errors import DocumentError
from domain.limits import (LIMITS, MAX_ID_BYTES, MAX_KEY_CHARS, MAX_METADATA_BYTES, MAX_METADATA_DEPTH, MAX_METADATA_KEYS,
                           MAX_TITLE_CHARS, check_document, id_problem, load_json, metadata_problem, shown_metadata,
                           text_problem, title_problem)
from domain.types import Document


def nested(depth: int, leaf: object = 1) -> dict:
    """``depth`` levels of objects (the outermost is level 1), built without recursion."""
    value: object = leaf
    for _ in range(depth):
        value = {"a": value}
    return value  # type: ignore[return-value]


def test_metadata_at_the_depth_limit_is_fine_and_one_level_more_is_refused():
    assert metadata_problem(nested(MAX_METADATA_DEPTH)) is None
    problem = metadata_problem(nested(MAX_METADATA_DEPTH + 1))
    assert problem and f"limit of {MAX_METADATA_DEPTH} levels" in problem and problem.startswith("metadata.a.a")


def test_lists_count_as_levels_too():
    value: object = 1
    for _ in range(MAX_METADATA_DEPTH):
        value = [value]
    assert metadata_problem({"k": value}) and "nested deeper" in metadata_problem({"k": value})
    assert metadata_problem({"k": [[1, 2], {"x": [3]}]}) is None


def test_any_depth_is_checked_without_recursing():
    # Deeper than Python's recursion limit: a recursive walk would raise RecursionError.
    assert "nested deeper" in metadata_problem(nested(100_000))
    assert shown_metadata(nested(100_000))  # and the cut for showing it stops at the limit


def test_the_key_count_is_over_every_level():
    assert metadata_problem({f"k{i}": i for i in range(MAX_METADATA_KEYS)}) is None
    spread = {f"k{i}": {f"j{j}": 0 for j in range(9)} for i in range(MAX_METADATA_KEYS // 10 + 1)}
    assert f"limit of {MAX_METADATA_KEYS:,} keys" in metadata_problem(spread)


def test_the_size_limit_is_on_compact_json():
    fits = {"note": "x" * (MAX_METADATA_BYTES - len('{"note":""}'))}
    assert len(json.dumps(fits, separators=(",", ":"))) == MAX_METADATA_BYTES
    assert metadata_problem(fits) is None
    assert f"over the limit of {MAX_METADATA_BYTES:,}" in metadata_problem({"note": fits["note"] + "x"})
    # A huge list is refused without walking all of it.
    assert "over the limit" in metadata_problem({"ids": list(range(5_000_000))})
    # Non-ASCII counts in UTF-8 bytes.
    assert metadata_problem({"note": "é" * (MAX_METADATA_BYTES // 2)}) is not None


@pytest.mark.parametrize(("metadata", "expected"), [
    ({"x": float("nan")}, "metadata.x is nan"),
    ({"x": float("inf")}, "metadata.x is inf"),
    ({"x": 2 ** 63}, "metadata.x is an integer outside the 64-bit range"),
    ({"x": {1, 2}}, "metadata.x is of type set"),
    ({"x": b"bytes"}, "metadata.x is of type bytes"),
    ({"x": "\ud800"}, "metadata.x holds an unpaired surrogate (U+D800)"),
    ({1: "x"}, "metadata has a key that is not a non-empty string"),
    ({"": "x"}, "metadata has a key that is not a non-empty string"),
    ({"a\x00b": 1}, "metadata has a key that holds a control character (U+0000)"),
    ({"k" * (MAX_KEY_CHARS + 1): 1}, f"limit of {MAX_KEY_CHARS} characters"),
    ([1, 2], "metadata must be an object"),
])
def test_values_that_are_not_json_are_refused_with_where_they_are(metadata, expected):
    assert expected in metadata_problem(metadata)


def test_json_values_of_every_kind_pass():
    assert metadata_problem({"s": "é ✓ 𝄞", "i": -(2 ** 63), "f": 1.5, "b": True, "n": None, "l": [1, "x", None],
                             "o": {"tags": ["a", "b"], "date": "2024-05-14"}}) is None


@pytest.mark.parametrize(("doc_id", "expected"), [
    ("", "non-empty"), ("   ", "non-empty"), (".", "cannot be '.'"), ("..", "cannot be '..'"),
    ("a\nb", "control character (U+000A)"), ("a\x7fb", "control character (U+007F)"),
    ("\udfff", "unpaired surrogate (U+DFFF)"), ("a\\b", "backslash or a quote"), ('say "hi"', "a quote"),
    ("it's", "a quote"), ("é" * (MAX_ID_BYTES // 2 + 1), f"limit of {MAX_ID_BYTES} bytes"),
])
def test_bad_ids_are_refused(doc_id, expected):
    assert expected in id_problem(doc_id)


def test_good_ids_pass():
    for doc_id in ["faq-1", "guides/faq one", "a/../b", "50% off?", "a`b", "x=1&y=2", "é" * (MAX_ID_BYTES // 2), "x" * MAX_ID_BYTES, "0"]:
        assert id_problem(doc_id) is None, doc_id


def test_titles_allow_tabs_and_newlines_but_no_other_control_characters():
    assert title_problem("Returns\tand refunds\n") is None
    assert "control character (U+0000)" in title_problem("Re\x00turns")
    assert title_problem("t" * MAX_TITLE_CHARS) is None
    assert f"over the limit of {MAX_TITLE_CHARS:,}" in title_problem("t" * (MAX_TITLE_CHARS + 1))


def test_text_must_be_valid_unicode():
    assert text_problem("An ordinary sentence. 𝄞") is None
    assert text_problem("Half \ud83d of a pair.") == ("the text holds an unpaired surrogate (U+D83D) at character 5: "
                                                      "not valid Unicode")


def test_check_document_raises_a_document_error_naming_the_limit():
    doc = Document(doc_id="d", text="Fine text.", source="api", title="T", metadata=nested(40))
    with pytest.raises(DocumentError, match="nested deeper than the limit of 16 levels"):
        check_document(doc)


def test_load_json_refuses_what_python_would_accept_but_json_is_not():
    assert load_json('{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    for text in ['{"x": NaN}', '{"x": Infinity}', '[-Infinity]']:
        with pytest.raises(ValueError, match="is not a JSON value"):
            load_json(text)
    with pytest.raises(ValueError, match="nested too deeply"):
        load_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="4300 digits"):
        load_json("1" * 5000)


def test_shown_metadata_cuts_only_what_is_past_the_depth_limit():
    small = {"lang": "en", "tags": ["a", {"b": 1}]}
    assert shown_metadata(small) == small
    assert shown_metadata(nested(MAX_METADATA_DEPTH, "leaf")) == nested(MAX_METADATA_DEPTH, "leaf")
    cut = shown_metadata(nested(500, "leaf"))
    assert cut == nested(MAX_METADATA_DEPTH, f"[nested deeper than {MAX_METADATA_DEPTH} levels: not shown]")
    assert metadata_problem(cut) is None
    assert shown_metadata(None) == {}


def test_the_manual_states_every_limit_as_the_code_has_it():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "ingesting.md").read_text(encoding="utf-8")
    for what, limit in LIMITS.items():
        assert f"| {what} | {limit} |" in page, what
