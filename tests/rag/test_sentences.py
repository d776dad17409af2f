from __future__ import annotations

from rag.sentences import split_sentences


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_splits_on_terminal_punctuation_and_keeps_offsets_exact():
    text = "The expo opened on Monday. It drew 500 exhibitors!  Would it last? Nobody knew."
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == [
        "The expo opened on Monday.", "It drew 500 exhibitors!", "Would it last?", "Nobody knew."]


def test_abbreviations_initials_and_decimals_do_not_end_a_sentence():
    text = "Dr. Smith met J. K. Rowling in Washington on Jan. 5. The U.S. economy grew 3.5% in 2023. Done."
    assert sentences(text) == [
        "Dr. Smith met J. K. Rowling in Washington on Jan. 5.", "The U.S. economy grew 3.5% in 2023.", "Done."]


def test_blank_lines_headings_and_list_items_are_boundaries():
    text = "# Install\nRun the script\n\nIt takes a minute\n- first item\n- second item"
    assert sentences(text) == ["# Install", "Run the script", "It takes a minute", "- first item", "- second item"]


def test_hard_wrapped_paragraph_lines_are_joined_into_one_sentence():
    text = "This sentence is wrapped by the editor at a fixed column, so it\ncontinues on the next line."
    assert sentences(text) == [text]


def test_quotes_after_the_period_stay_with_the_sentence():
    text = '"It works," she said. "Really." Then she left.'
    assert sentences(text) == ['"It works," she said.', '"Really."', "Then she left."]


def test_cjk_sentence_ends_split_without_spaces():
    text = "今天天气很好。我们去公园吧！"
    assert sentences(text) == ["今天天气很好。", "我们去公园吧！"]


def test_sub_range_offsets_index_the_whole_text():
    text = "Skip this. Keep this one. And this."
    start = text.index("Keep")
    spans = split_sentences(text, start, len(text))
    assert [text[a:b] for a, b in spans] == ["Keep this one.", "And this."]
