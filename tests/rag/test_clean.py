from __future__ import annotations

import pytest

from rag.clean import indexable_ranges, is_boilerplate
from tests.conftest import NEWS_DIR


def test_article_paragraphs_are_kept_and_cookie_footer_dropped():
    text = ("Big news today.\n\nThe council approved the budget on Tuesday.\n\n"
            "I Agree\n\nBy continuing to browse our site you agree to our use of cookies.\n\nAbout UsContact Us")
    ranges = indexable_ranges(text)
    kept = " ".join(text[a:b] for a, b in ranges)
    assert "council approved the budget" in kept
    assert "cookies" not in kept and "I Agree" not in kept and "Contact" not in kept


def test_long_paragraph_mentioning_privacy_is_not_boilerplate():
    paragraph = "The privacy policy debate " + "continued in parliament for many weeks " * 10
    assert not is_boilerplate(paragraph)


@pytest.mark.integration
def test_scraped_news_footer_is_left_out_but_text_is_unchanged():
    path = NEWS_DIR / "004_6daf74257dfb5746.txt"
    text = path.read_text(encoding="utf-8")
    ranges = indexable_ranges(text)
    kept = "".join(text[a:b] for a, b in ranges)
    assert "Chongqing International Consumer Products Expo" in kept
    for footer in ("Cookie Policy", "Privacy Statement", "service@ichongqing.info", "ICP备"):
        assert footer in text and footer not in kept
