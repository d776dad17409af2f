"""Browser fixtures: Debian's Chromium through Playwright, and the servers the pages talk to.

Playwright's own browser download cannot work here, so the tests drive ``/usr/bin/chromium``
(``scripts/install.sh`` installs it) and skip, saying so, when it is missing.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import Settings, create_app
from rag import Pipeline
from rag.hash_embedder import HashEmbedder
from tests.api.checks import NEWS_TEXT
from tests.api.servers import free_port, serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

# Text a hostile document could carry; the widget must show it as text.
HOSTILE_TEXT = ('The ferry timetable changed in spring. Tickets cost <img src=x onerror="window.__pwned=1"> '
                'nine crowns <script>window.__pwned=2</script> at the harbour kiosk.')


def embed_page(api_url: str, *, heading: str = "Harbour News", attributes: str = "") -> str:
    """A host page with the embed snippet, as a site owner would write it (``attributes``: more ``data-*``)."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{heading}</title>
<style>body {{ font-family: Georgia, serif; margin: 2rem auto; max-width: 40rem; color: #222; }}
button {{ background: hotpink; }}</style></head>
<body><h1>{heading}</h1>
<p>Ferries, fish prices and the new import expo: the week on the waterfront.</p>
<p>Questions? Use the chat button in the corner.</p>
<script src="{api_url}/widget.js" data-endpoint="{api_url}"{attributes}></script>
</body></html>"""


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (scripts/install.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, tmp_path):
    """``new_page(width=..., height=...)``: a fresh page; fails the test on any uncaught script error
    or Content-Security-Policy violation."""
    contexts, errors = [], []

    def make(*, width: int = 1000, height: int = 760, **options):
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text)
                if msg.type == "error" and "Content Security Policy" in msg.text else None)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, errors


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where this test's screenshots go: its own output folder."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder


# ---- servers ----

@pytest.fixture(scope="session")
def site_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def news_api(news_pipeline: Pipeline, site_port: int, tmp_path_factory) -> Iterator[str]:
    """The real model over ../shared/corpus/news, allowing the static site on ``site_port``."""
    settings = Settings(index_dir=news_pipeline.directory.root, cors_origins=[f"http://127.0.0.1:{site_port}"])
    with serve_in_thread(create_app(settings, pipeline=news_pipeline)) as url:
        yield url


@pytest.fixture(scope="session")
def static_site(news_api: str, site_port: int, tmp_path_factory) -> Iterator[str]:
    """A plain static web site on another port whose page embeds the widget from ``news_api``."""
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text(embed_page(news_api))
    with serve_static(root, port=site_port) as url:
        yield url


@contextlib.contextmanager
def serve_static(root: Path, *, port: int | None = None) -> Iterator[str]:
    """Python's static file server for ``root`` on 127.0.0.1, in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port or free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def fake_site_port() -> int:
    return free_port()


@pytest.fixture
def fake_api(tmp_path, fake_site_port: int) -> Iterator[str]:
    """A fast server over the fake embedder with a news note and a hostile document."""
    # The shipped no-answer threshold is calibrated for the real model; the fake one's similarities
    # run lower, so these widget tests set their own.
    pipeline = Pipeline.open(tmp_path / "index", embedder=HashEmbedder(), no_answer_threshold=0.2)
    pipeline.ingest_record({"id": "news-1", "title": "Expo news", "text": NEWS_TEXT})
    pipeline.ingest_record({"id": "ferry", "title": "<b>Ferry</b> notes", "text": HOSTILE_TEXT})
    settings = Settings(index_dir=tmp_path / "index", cors_origins=[f"http://127.0.0.1:{fake_site_port}"])
    with serve_in_thread(create_app(settings, pipeline=pipeline)) as url:
        yield url


@pytest.fixture
def fake_site(fake_api: str, fake_site_port: int, tmp_path) -> Iterator[str]:
    """A static site on another port whose page embeds the widget from ``fake_api``."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text(embed_page(fake_api))
    with serve_static(root, port=fake_site_port) as url:
        yield url


@pytest.fixture
def fake_site_page(new_page, fake_site):
    """``fake_site_page(**page_options)``: a page on ``fake_site``, the widget loaded."""

    def make(**options):
        page = new_page(**options)
        page.goto(f"{fake_site}/")
        page.locator(".launcher").wait_for()
        return page

    return make
