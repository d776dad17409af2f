"""Two widgets on one server: a public help page, and an intranet page whose widget carries a read key
(``data-key``) for the HR group and a filter (``data-where``)."""
from __future__ import annotations

import html
import json

import pytest

from api import Settings, create_app
from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from tests.api.servers import free_port, serve_in_thread
from tests.browser.conftest import embed_page, serve_static

PAY = "Salaries are paid on the 25th of each month by bank transfer."


@pytest.fixture
def two_sites(tmp_path):
    """(public page, HR page) URLs: the widget on each, one API behind both."""
    pipeline = Pipeline.open(tmp_path / "index", embedder=HashEmbedder(), no_answer_threshold=0.2)
    pipeline.ingest_record({"id": "hours", "title": "Opening hours", "text": "The help desk opens at nine."})
    pipeline.ingest_record({"id": "pay", "title": "Payroll", "text": PAY, "groups": ["hr"],
                            "metadata": {"lang": "en"}})
    pipeline.ingest_record({"id": "pay-de", "title": "Gehalt", "text": PAY, "groups": ["hr"],
                            "metadata": {"lang": "de"}})
    _, token = pipeline.add_key("intranet-widget", ("hr",))
    port = free_port()
    settings = Settings(index_dir=tmp_path / "index", cors_origins=[f"http://127.0.0.1:{port}"], api_key="admin")
    root = tmp_path / "site"
    root.mkdir()
    with serve_in_thread(create_app(settings, pipeline=pipeline)) as api:
        (root / "help.html").write_text(embed_page(api, heading="Help centre"))
        where = html.escape(json.dumps({"lang": "en"}), quote=True)
        (root / "hr.html").write_text(embed_page(api, heading="Intranet",
                                                 attributes=f' data-key="{token}" data-where="{where}"'))
        with serve_static(root, port=port) as site:
            yield f"{site}/help.html", f"{site}/hr.html"


def _ask(page, question: str):
    page.get_by_role("button", name="Ask the documents").click()
    page.get_by_role("textbox", name="Your question").fill(question)
    page.get_by_role("button", name="Send question").click()
    page.locator(".msg.bot:not(.loading)").last.wait_for()


def test_the_keyed_widget_answers_from_its_group_and_the_public_one_does_not(two_sites, new_page, shots):
    public_url, hr_url = two_sites
    page = new_page()
    page.goto(hr_url)
    _ask(page, "When are salaries paid?")
    page.locator(".answer-sentence mark").first.wait_for()
    assert "25th" in page.locator(".answer-sentence").first.inner_text()
    chip = page.get_by_role("button", name="Open the source: Payroll", exact=False)
    assert chip.count() >= 1 and page.get_by_role("button", name="Open the source: Gehalt", exact=False).count() == 0
    chip.first.click()  # the source view fetches /documents/pay with the key
    page.locator(".source-text mark.cited").wait_for()
    page.screenshot(path=shots / "hr-widget.png")

    public = new_page()
    public.goto(public_url)
    _ask(public, "When are salaries paid?")
    assert "25th" not in public.locator(".msg.bot").last.inner_text()
    assert public.get_by_role("button", name="Open the source: Payroll", exact=False).count() == 0
