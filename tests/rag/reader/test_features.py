"""Windows, answer positions and span decoding, with the bundled encoder's real tokenizer."""
from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer

from rag.embed import default_model_path
from rag.reader.features import (MAX_QUESTION_WORDS, configure, decode_spans, encode_for_reading,
                                 encode_for_training)

CONTEXT = "Hou Yue, the Chinese ambassador to Norway, spoke in Oslo on Monday about trade."


@pytest.fixture
def tokenizer() -> Tokenizer:
    return Tokenizer.from_file(str(default_model_path() / "tokenizer.json"))


def test_answer_tokens_cover_exactly_the_answer(tokenizer) -> None:
    configure(tokenizer, max_length=64, stride=16)
    (ids, types, start, end), = encode_for_training(tokenizer, ["Who is the ambassador?"], [CONTEXT],
                                                    [(CONTEXT.index("Hou Yue"), "Hou Yue")], max_length=64, stride=16)
    assert tokenizer.decode(ids[start:end + 1]) == "hou yue"
    assert types[start] == 1 and types[0] == 0


def test_unanswerable_and_windows_without_the_answer_point_at_cls(tokenizer) -> None:
    long = " ".join(["Filler words that say nothing at all."] * 30) + " " + CONTEXT
    configure(tokenizer, max_length=48, stride=8)
    windows = encode_for_training(tokenizer, ["Who?", "Who?"], [long, CONTEXT],
                                  [(long.index("Hou Yue"), "Hou Yue"), None], max_length=48, stride=8)
    first_pair = windows[:-1]
    assert len(first_pair) > 3  # split into overlapping windows
    labelled = [(s, e) for _, _, s, e in first_pair if s]
    assert len(labelled) >= 1 and all(s <= e for s, e in labelled)
    assert sum(1 for _, _, s, _ in first_pair if s == 0) >= len(first_pair) - 2
    assert windows[-1][2:] == (0, 0)


def test_decoded_spans_are_exact_slices_of_their_context(tokenizer) -> None:
    configure(tokenizer, max_length=40, stride=8)
    contexts = [CONTEXT, " ".join(["Nothing here."] * 20) + " The answer is 42."]
    windows = encode_for_reading(tokenizer, ["Who spoke?", "What is it?"], contexts, max_length=40, stride=8)
    assert windows.pair.tolist().count(1) > 1
    rng = np.random.default_rng(0)
    start = rng.normal(size=windows.input_ids.shape).astype(np.float32)
    end = rng.normal(size=windows.input_ids.shape).astype(np.float32)
    found = decode_spans(start, end, windows, top_k=5, max_answer_tokens=4)
    assert [len(f) for f in found] == [5, 5]
    for pair, spans in enumerate(found):
        assert [s.score for s in spans] == sorted((s.score for s in spans), reverse=True)
        for span in spans:
            text = contexts[pair][span.start:span.end]
            assert text and text == text.strip()
            assert len(tokenizer.encode(text, add_special_tokens=False).ids) <= 4


def test_a_planted_span_is_found(tokenizer) -> None:
    configure(tokenizer, max_length=64, stride=16)
    windows = encode_for_reading(tokenizer, ["Where?"], [CONTEXT], max_length=64, stride=16)
    tokens = [i for i in range(windows.input_ids.shape[1]) if windows.offsets[0, i, 0] >= 0]
    oslo = next(i for i in tokens if CONTEXT[windows.offsets[0, i, 0]:windows.offsets[0, i, 1]] == "Oslo")
    start = np.zeros(windows.input_ids.shape, dtype=np.float32)
    end = np.zeros_like(start)
    start[0, oslo] = end[0, oslo] = 5.0
    start[0, 0] = end[0, 0] = 1.0  # the no-answer logit
    best = decode_spans(start, end, windows)[0][0]
    assert CONTEXT[best.start:best.end] == "Oslo"
    assert best.score == 10.0 and best.null == 2.0


def test_long_questions_are_cut(tokenizer) -> None:
    configure(tokenizer, max_length=128, stride=16)
    question = " ".join(["word"] * 200) + "?"
    windows = encode_for_reading(tokenizer, [question], [CONTEXT], max_length=128, stride=16)
    assert int((windows.token_type_ids[0] == 0).sum()) == MAX_QUESTION_WORDS + 2  # [CLS] q [SEP]
    assert windows.offsets[0, MAX_QUESTION_WORDS + 2, 0] == 0  # the context follows, from its start


def test_an_unconfigured_tokenizer_is_refused(tokenizer) -> None:
    with pytest.raises(ValueError, match="configure"):
        encode_for_reading(tokenizer, ["q"], ["c"], max_length=64, stride=16)
