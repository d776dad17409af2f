"""The widget's behaviour in Chromium, against a fast fake-embedder server: keyboard use, screen
reader labels, phone width, loading and error states, and hostile document text."""
from __future__ import annotations

import json

from tests.browser.conftest import HOSTILE_TEXT

QUESTION = "Who is the Chinese ambassador to Norway?"


def _focused(page) -> str:
    return page.evaluate("""() => {
        const active = document.querySelector('.rag-chat-host').shadowRoot.activeElement;
        return active ? (active.getAttribute('aria-label') || active.id || active.className) : '';
    }""")


def test_everything_works_from_the_keyboard_with_labels(fake_site_page, shots):
    page = fake_site_page()

    page.keyboard.press("Tab")
    assert _focused(page) == "Ask the documents"  # the floating button, first in the tab order
    page.keyboard.press("Enter")

    assert page.get_by_role("dialog", name="Ask the documents").is_visible()
    assert _focused(page) == "rag-question"
    assert page.get_by_role("log", name="Conversation").is_visible()
    assert page.get_by_role("button", name="Send question").is_visible()
    assert page.get_by_role("button", name="Close chat").is_visible()
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.locator(".answer-sentence mark").first.wait_for()
    assert _focused(page) == "rag-question"  # ready for the next question

    page.keyboard.press("Shift+Tab")  # back from the box, through the conversation, to the chip
    for _ in range(10):
        if _focused(page).startswith("Open the source"):
            break
        page.keyboard.press("Shift+Tab")
    assert _focused(page).startswith("Open the source: Expo news, characters ")
    page.keyboard.press("Enter")
    page.locator(".source-text mark.cited").wait_for()
    assert _focused(page) == "Cited passage"
    assert page.get_by_role("dialog", name="Expo news").is_visible()
    page.screenshot(path=shots / "keyboard-source.png")

    page.keyboard.press("Escape")  # closes the source, back on the chip
    assert _focused(page).startswith("Open the source")
    page.keyboard.press("Escape")  # closes the chat, back on the button
    assert page.locator(".panel").is_hidden()
    assert _focused(page) == "Ask the documents"
    assert page.get_by_role("button", name="Ask the documents").get_attribute("aria-expanded") == "false"


def test_shift_enter_makes_a_new_line_instead_of_sending(fake_site_page):
    page = fake_site_page()
    page.get_by_role("button", name="Ask the documents").click()
    box = page.get_by_role("textbox", name="Your question")
    box.type("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    assert page.locator(".msg.user").count() == 0
    box.press("Enter")
    page.locator(".msg.user").wait_for()
    assert "first line\nsecond line" in page.locator(".msg.user").text_content()


def test_document_text_is_shown_as_text_never_run_as_html(fake_site_page, shots):
    page = fake_site_page()
    page.get_by_role("button", name="Ask the documents").click()
    box = page.get_by_role("textbox", name="Your question")
    box.fill("How much do ferry tickets at the harbour kiosk cost?")
    box.press("Enter")

    sentence = page.locator(".answer-sentence").first
    sentence.wait_for()
    assert "<img src=x onerror=" in sentence.text_content()
    chip = page.locator(".chip").first
    assert chip.text_content() == "<b>Ferry</b> notes"
    chip.click()
    page.locator(".source-text mark.cited").wait_for()
    assert page.locator(".source-text").text_content() == HOSTILE_TEXT
    page.screenshot(path=shots / "hostile.png")

    assert page.evaluate("window.__pwned") is None
    counts = page.evaluate("""() => {
        const root = document.querySelector('.rag-chat-host').shadowRoot;
        return [root.querySelectorAll('img, script, b').length, document.querySelectorAll('img').length];
    }""")
    assert counts == [0, 0]


def test_usable_at_phone_width(fake_site_page, new_page, fake_api, shots):
    page = fake_site_page(width=375, height=667, is_mobile=True, has_touch=True)
    page.get_by_role("button", name="Ask the documents").click()

    panel = page.locator(".panel").bounding_box()
    assert (panel["x"], panel["y"], panel["width"], panel["height"]) == (0, 0, 375, 667)  # full screen
    box = page.get_by_role("textbox", name="Your question")
    box.fill(QUESTION)
    page.get_by_role("button", name="Send question").tap()
    page.locator(".answer-sentence mark").first.wait_for()
    assert page.locator(".chip").first.bounding_box()["x"] + page.locator(".chip").first.bounding_box()[
        "width"] <= 375
    page.screenshot(path=shots / "phone-floating.png")

    full = new_page(width=375, height=667, is_mobile=True, has_touch=True)
    full.goto(f"{fake_api}/")
    box = full.get_by_role("textbox", name="Your question")
    box.fill(QUESTION)
    box.press("Enter")
    full.locator(".answer-sentence mark").first.wait_for()
    assert full.evaluate("document.documentElement.scrollWidth") <= 375  # nothing sticks out sideways
    send = full.get_by_role("button", name="Send question").bounding_box()
    assert send["x"] + send["width"] <= 375 and send["y"] + send["height"] <= 667
    full.screenshot(path=shots / "phone-page.png")


def test_loading_then_error_states(fake_site_page, fake_api, fake_site, shots):
    page = fake_site_page()
    held = []
    page.route(f"{fake_api}/ask", lambda route: held.append(route))
    page.get_by_role("button", name="Ask the documents").click()
    box = page.get_by_role("textbox", name="Your question")
    box.fill(QUESTION)
    box.press("Enter")

    loading = page.locator(".msg.loading[role=status]")
    loading.wait_for()
    assert "Searching the documents" in loading.text_content()
    assert page.get_by_role("button", name="Send question").is_disabled()
    page.screenshot(path=shots / "loading.png")
    page.wait_for_function("() => true")  # let the router hand over the held request
    assert held, "the /ask request was not intercepted"

    held[0].fulfill(status=503, content_type="application/json",
                    headers={"Access-Control-Allow-Origin": fake_site},
                    body=json.dumps({"error": {"code": "not_ready", "message": "the index is still loading"}}))

    alert = page.locator(".msg.error[role=alert]")
    alert.wait_for()
    assert "the index is still loading" in alert.text_content()
    assert loading.count() == 0
    assert page.get_by_role("button", name="Send question").is_enabled()
    page.screenshot(path=shots / "error.png")


def test_an_unreachable_server_is_reported(fake_site_page, fake_api):
    page = fake_site_page()
    page.route(f"{fake_api}/ask", lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="Ask the documents").click()
    box = page.get_by_role("textbox", name="Your question")
    box.fill(QUESTION)
    box.press("Enter")
    alert = page.locator(".msg.error[role=alert]")
    alert.wait_for()
    assert "cannot reach the server" in alert.text_content()


def test_an_empty_question_is_not_sent(fake_site_page, fake_api):
    """A blank question sends nothing: the real question after it is the only request and message."""
    page = fake_site_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.post_data or "") if request.url == f"{fake_api}/ask" else None)
    page.get_by_role("button", name="Ask the documents").click()
    box = page.get_by_role("textbox", name="Your question")
    box.fill("   ")
    box.press("Enter")
    box.fill(QUESTION)
    box.press("Enter")
    page.locator(".msg.bot.answer, .msg.bot.no-answer").wait_for()  # the reply to the real question
    assert page.locator(".msg.user").count() == 1
    assert len(asked) == 1 and json.loads(asked[0])["question"] == QUESTION
