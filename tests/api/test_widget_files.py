"""The widget's static files are served, self-contained, and never parse document text as HTML."""
from __future__ import annotations

import re
from importlib import resources

import pytest

STATIC = resources.files("api") / "static"


def test_the_chat_page_and_widget_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/widget.js" data-mode="page"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    js = client.get("/widget.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert js.headers["cross-origin-resource-policy"] == "cross-origin"
    assert client.get("/widget.css").headers["content-type"].startswith("text/css")
    assert client.get("/favicon.svg").status_code == 200


@pytest.mark.parametrize("name", ["widget.js", "widget.css", "index.html"])
def test_static_files_are_package_data(name):
    assert (STATIC / name).is_file()


@pytest.mark.parametrize("name", ["widget.js", "widget.css", "index.html"])
def test_nothing_is_loaded_from_elsewhere(name):
    text = _code((STATIC / name).read_text())
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg\b)", text), "no CDN or third-party URL"


def _code(text: str) -> str:
    """Without comments: the headers name what they ban and show the embed snippet."""
    return re.sub(r"/\*.*?\*/|(?<![:\w])//[^\n]*|<!--.*?-->", "", text, flags=re.S)


def test_widget_never_parses_text_as_html():
    code = _code((STATIC / "widget.js").read_text())
    for banned in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                   "createContextualFragment", "DOMParser"]:
        assert banned not in code, banned
