"""The chat widget in Chromium against the real model over ../shared/corpus/news."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import embed_page, serve_static
from tests.conftest import AMBASSADOR_FILE

pytestmark = pytest.mark.integration

QUESTION = "Who is the Chinese ambassador to Norway?"
UNCOVERED = "What is the boiling point of liquid nitrogen?"


def _ask(page, question: str) -> None:
    box = page.get_by_role("textbox", name="Your question")
    box.fill(question)
    box.press("Enter")


def _focused(page) -> str:
    """aria-label (or class) of the element focused inside the widget's shadow root."""
    return page.evaluate("""() => {
        const active = document.querySelector('.rag-chat-host').shadowRoot.activeElement;
        return active ? (active.getAttribute('aria-label') || active.className) : '';
    }""")


def test_full_page_answer_highlight_and_cited_source(new_page, news_api, shots):
    expected = httpx.post(f"{news_api}/ask", json={"question": QUESTION}, timeout=60).json()["answers"][0]
    page = new_page(width=900, height=520)
    page.goto(f"{news_api}/")

    _ask(page, QUESTION)

    mark = page.locator(".answer.msg .primary .answer-sentence mark")
    mark.wait_for()
    assert "Hou Yue" in mark.text_content()
    assert mark.text_content() == expected["text"]
    sentence = page.locator(".answer.msg .primary .answer-sentence").text_content()
    assert sentence == expected["sentence"]
    chip = page.locator(".answer.msg .primary .chip")
    assert chip.text_content().startswith("date 2024-05-14 Norwegian official stresses")  # the file's headline
    page.screenshot(path=shots / "answer.png")

    chip.click()

    cited = page.locator(".source-text mark.cited")
    cited.wait_for()
    document_text = AMBASSADOR_FILE.read_text(encoding="utf-8")
    c = expected["citation"]
    assert cited.text_content() == document_text[c["char_start"]:c["char_end"]]
    # Its sentence is highlighted around it, more softly.
    assert page.locator(".source-text .cited-context").text_content() == expected["sentence"]
    assert page.locator(".source-text").text_content() == document_text  # the whole file, as text
    # Scrolled so the cited characters are in view, in a viewer too short to show them unscrolled.
    assert page.locator(".source-text").evaluate("el => el.scrollTop") > 0
    assert _in_view(page)
    assert _focused(page) == "Cited passage"
    page.screenshot(path=shots / "source.png")

    page.keyboard.press("Escape")
    assert page.locator(".viewer").is_hidden()
    assert _focused(page).startswith("Open the source")


def _in_view(page) -> bool:
    return page.evaluate("""() => {
        const root = document.querySelector('.rag-chat-host').shadowRoot;
        const mark = root.querySelector('.source-text mark.cited').getBoundingClientRect();
        const view = root.querySelector('.source-text').getBoundingClientRect();
        return mark.top >= view.top && mark.top < view.bottom;
    }""")


def test_a_question_the_documents_do_not_cover_says_so(new_page, news_api, shots):
    page = new_page()
    page.goto(f"{news_api}/")

    _ask(page, UNCOVERED)

    message = page.locator(".msg.no-answer")
    message.wait_for()
    assert "The documents don\u2019t contain an answer to that." in message.text_content()
    assert page.locator(".answer-sentence").count() == 0
    page.screenshot(path=shots / "no-answer.png")


def test_the_embed_snippet_works_on_another_origin(new_page, news_api, static_site, shots):
    assert static_site.rsplit(":", 1)[1] != news_api.rsplit(":", 1)[1]
    page = new_page(width=1100, height=780)
    page.goto(f"{static_site}/")
    launcher = page.get_by_role("button", name="Ask the documents", exact=True)

    launcher.click()
    _ask(page, QUESTION)

    mark = page.locator(".answer-sentence mark").first
    mark.wait_for()
    assert "Hou Yue" in mark.text_content()
    assert launcher.get_attribute("aria-expanded") == "true"
    page.screenshot(path=shots / "embedded.png")
    if os.environ.get("RAG_DOCS_SCREENSHOT"):  # refresh the README's picture: RAG_DOCS_SCREENSHOT=1 pytest ...
        target = Path(__file__).resolve().parents[2] / "docs" / "images" / "widget.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shots / "embedded.png", target)


def test_an_origin_missing_from_rag_cors_origins_is_refused(new_page, news_api, tmp_path, shots):
    (tmp_path / "index.html").write_text(embed_page(news_api, heading="Not allowed"))
    with serve_static(tmp_path) as other_site:
        page = new_page()
        page.goto(f"{other_site}/")
        page.get_by_role("button", name="Ask the documents", exact=True).click()
        _ask(page, QUESTION)

        alert = page.locator(".msg.error[role=alert]")
        alert.wait_for()
        assert "cannot reach the server" in alert.text_content()
        assert page.locator(".answer-sentence").count() == 0
        page.screenshot(path=shots / "refused.png")
