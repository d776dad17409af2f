"""Feedback in the widget, in Chromium: ask, 👎, select the right words in the source, send — and the export
then holds that question with that span. 👍 and "the documents don't say this" are sent too."""
from __future__ import annotations

import json

from ragcli.main import main as rag
from tests.api.checks import NEWS_TEXT

QUESTION = "When does the fair open?"
RIGHT_WORDS = "in November and lasts six days"

SELECT = """(words) => {
    const root = document.querySelector('.rag-chat-host').shadowRoot;
    const container = root.querySelector('.source-text');
    const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    let offset = 0, start = null, end = null;
    const at = container.textContent.indexOf(words);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const length = node.textContent.length;
        if (!start && at < offset + length) start = [node, at - offset];
        if (!end && at + words.length <= offset + length) end = [node, at + words.length - offset];
        offset += length;
    }
    const range = document.createRange();
    range.setStart(...start);
    range.setEnd(...end);
    const selection = root.getSelection ? root.getSelection() : document.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return selection.toString();
}"""


def _ask(page, question: str) -> None:
    page.get_by_role("textbox", name="Your question").fill(question)
    page.get_by_role("button", name="Send question").click()
    page.locator(".msg.bot:not(.loading):not(.intro)").last.wait_for()


def test_a_thumbs_down_with_the_right_words_reaches_the_export(fake_site_page, tmp_path, shots):
    page = fake_site_page()
    page.get_by_role("button", name="Ask the documents").click()
    _ask(page, QUESTION)
    page.get_by_role("button", name="No, this answer is wrong: show the right words").first.click()
    page.locator(".source-text mark.cited").wait_for()
    hint = page.get_by_role("group", name="Show the right answer")
    assert hint.is_visible() and "Select the words" in hint.inner_text()
    page.get_by_role("button", name="Send the selected words").click()  # nothing selected yet
    assert "Select some words" in page.locator(".correct-status").inner_text()
    assert page.evaluate(SELECT, RIGHT_WORDS) == RIGHT_WORDS
    page.screenshot(path=shots / "feedback-selection.png")
    page.get_by_role("button", name="Send the selected words").click()
    page.get_by_text("Thanks: the right words are noted.").wait_for()
    assert page.locator(".viewer").is_hidden()
    assert page.get_by_role("button", name="No, this answer is wrong: show the right words").first.is_disabled()

    _ask(page, "Who is the Chinese ambassador to Norway?")
    page.locator(".msg.bot.answer").nth(1).wait_for()
    page.get_by_role("button", name="Yes, this answer is right").last.click()
    page.get_by_text("Thanks, noted.").wait_for()

    export = tmp_path / "feedback.jsonl"
    assert rag(["--index", str(tmp_path / "index"), "feedback", "export", "--jsonl", str(export)]) == 0
    records = [json.loads(line) for line in export.read_text().splitlines()]
    assert records[0]["question"] == QUESTION and records[0]["answers"] == [RIGHT_WORDS]
    assert records[1]["question"] == "Who is the Chinese ambassador to Norway?" and records[1]["answers"]
    squad = tmp_path / "feedback.json"
    assert rag(["--index", str(tmp_path / "index"), "feedback", "export", "--squad", str(squad)]) == 0
    paragraph = json.loads(squad.read_text())["data"][0]["paragraphs"][0]
    answer = paragraph["qas"][0]["answers"][0]
    assert paragraph["context"][answer["answer_start"]:].startswith(RIGHT_WORDS)
    assert NEWS_TEXT.index(RIGHT_WORDS) >= 0


def test_the_documents_dont_say_this_is_sent_from_the_source_view(fake_site_page, tmp_path):
    page = fake_site_page()
    page.get_by_role("button", name="Ask the documents").click()
    _ask(page, QUESTION)
    page.get_by_role("button", name="No, this answer is wrong: show the right words").first.click()
    page.locator(".source-text mark.cited").wait_for()
    page.get_by_role("button", name="The documents don\u2019t say this").focus()
    page.keyboard.press("Enter")  # reachable and usable from the keyboard
    page.get_by_text("Thanks, noted.").wait_for()
    export = tmp_path / "feedback.jsonl"
    assert rag(["--index", str(tmp_path / "index"), "feedback", "export", "--jsonl", str(export)]) == 0
    assert [json.loads(line)["answers"] for line in export.read_text().splitlines()] == [[]]
