from __future__ import annotations

import pytest

from domain.types import Document
from rag.boilerplate import FOOTER, REPEATED, find_exclusions, indexable_ranges, is_sentence, mark_boilerplate
from tests.conftest import NEWS_DIR

# Each holds a word the old keyword filter treated as boilerplate ("cookie", "log in", "copyright",
# "contact us", "share this"): it dropped every one of them from the index.
REAL_SENTENCES = [
    "Bake the cookie dough for 12 minutes at 180 degrees.",
    "Press the log in button on the router to reset it.",
    "The museum copyright office registered 40 works in 1990.",
    "Contact us at the front desk if the lift is broken.",
    "Share this chart with your doctor before the visit.",
]
LICENCE_SENTENCE = "The pharmacy on Main Street is open until 9 pm under licence 渝ICP备20009753号-2"


def doc(text: str, doc_id: str = "d", **extra) -> Document:
    return Document(doc_id=doc_id, text=text, source=f"{doc_id}.txt", title="t", **extra)


def indexed(document: Document) -> str:
    return "\n".join(document.text[a:b] for a, b in indexable_ranges(document))


def excluded(document: Document) -> str:
    return "\n".join(document.text[ex.start:ex.end] for ex in document.excluded)


@pytest.mark.parametrize("sentence", [*REAL_SENTENCES, LICENCE_SENTENCE])
def test_a_real_sentence_is_a_sentence_whatever_words_it_holds(sentence):
    assert is_sentence(sentence)


@pytest.mark.parametrize("line", ["About UsContact Us", "I Agree", "New Era, New Journey, New Chongqing",
                                  "For any inquiries, please email service@ichongqing.info",
                                  "渝ICP备20009753号-2 互联网新闻信息服务许可证号:50120220004",
                                  "https://example.com/privacy", "Home | News | Sport | Weather"])
def test_labels_links_and_licence_numbers_are_not_sentences(line):
    assert not is_sentence(line)


@pytest.mark.parametrize("sentence", [*REAL_SENTENCES, LICENCE_SENTENCE])
def test_one_line_files_are_indexed_whole(sentence):
    [marked] = mark_boilerplate([doc(sentence + "\n")])
    assert marked.excluded == () and indexed(marked) == sentence


def test_the_sentences_stay_indexed_inside_an_article_and_at_its_end():
    text = "Kitchen notes\n\n" + "\n\n".join(REAL_SENTENCES) + "\n\n" + LICENCE_SENTENCE + "\n"
    [marked] = mark_boilerplate([doc(text)])
    assert marked.excluded == ()


def test_a_footer_of_labels_and_contact_lines_after_an_article_is_excluded():
    article = "\n\n".join(REAL_SENTENCES)
    footer = "Home\nAbout UsContact Us\nEmail: desk@example.org\nReg. no. 50120220004"
    [marked] = mark_boilerplate([doc(article + "\n\n" + footer)])
    assert excluded(marked) == footer
    assert {ex.reason for ex in marked.excluded} == {FOOTER}
    assert indexed(marked) == article
    assert marked.text == article + "\n\n" + footer  # nothing is deleted


def test_a_trailing_list_without_contact_or_legal_markers_is_kept():
    text = "Opening hours of the clinic are listed below for each day.\n\nMonday 9-17\nTuesday 9-17\nWednesday closed\n"
    [marked] = mark_boilerplate([doc(text)])
    assert marked.excluded == ()


def test_lines_repeated_across_documents_are_excluded_where_they_stand_together():
    menu = "Home\nProducts\nSupport"
    docs = [doc(f"{menu}\n\nThe model {n} router resets when you hold its button for ten seconds.\n", str(n))
            for n in range(3)]
    marked = mark_boilerplate(docs)
    for d in marked:
        assert excluded(d) == menu and {ex.reason for ex in d.excluded} == {REPEATED}
        assert "router resets" in indexed(d)
    # Two documents are not evidence enough, and one document alone is never compared with anything.
    assert all(d.excluded == () for d in mark_boilerplate(docs[:2]))


def test_a_repeated_heading_between_sentences_is_kept():
    docs = [doc(f"History\n\nThe town {n} was founded in the year 1200 by a group of farmers.\n", str(n))
            for n in range(4)]
    assert all(d.excluded == () for d in mark_boilerplate(docs))


def test_running_heads_repeated_on_pdf_pages_are_excluded():
    pages = [f"Annual Report 2023\nThe harbour handled {n} million tonnes of cargo in the quarter.\nBULK CARGO\n"
             f"Page {n}" for n in range(1, 5)]
    starts, offset = [], 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + 2
    [marked] = mark_boilerplate([doc("\n\n".join(pages), page_starts=tuple(starts))])
    assert excluded(marked).count("Annual Report 2023") == 4 and excluded(marked).count("Page ") == 4
    assert indexed(marked).count("million tonnes") == 4
    assert indexed(marked).count("BULK CARGO") == 4  # repeated on every page, but not a page's first or last line


def test_a_document_is_never_excluded_whole():
    text = "Home\nProducts\nSupport\n"
    docs = [doc(text, str(n)) for n in range(3)]
    assert all(d.excluded == () for d in mark_boilerplate(docs))


def test_news_footer_is_excluded_and_every_article_line_indexed():
    text = (NEWS_DIR / "004_6daf74257dfb5746.txt").read_text(encoding="utf-8")
    marked = doc(text, excluded=find_exclusions(doc(text)))
    footer_start = text.index("New Era, New Journey, New Chongqing")
    assert [(ex.start, ex.end, ex.reason) for ex in marked.excluded] == [(footer_start, len(text.rstrip()), FOOTER)]
    for line in ("ICP备", "互联网新闻信息服务许可证号", "+86-23-67158993", "Cookie Policy", "service@ichongqing.info",
                 "About UsContact Us", "Leaving a message"):
        assert line in excluded(marked)
    kept = indexed(marked)
    article_lines = [line.strip() for line in text[:footer_start].splitlines() if line.strip()]
    assert len(article_lines) > 20
    assert all(line in kept for line in article_lines)


def test_a_news_article_without_a_footer_is_indexed_whole():
    text = (NEWS_DIR / "000_f2dc38f99771cb88.txt").read_text(encoding="utf-8")
    assert find_exclusions(doc(text)) == ()


def test_overlapping_exclusions_merge_into_one_range_per_reason():
    from rag.boilerplate import merge_exclusions
    from domain.types import Exclusion

    text = "x" * 40
    merged = merge_exclusions([Exclusion(10, 14, FOOTER), Exclusion(10, 30, FOOTER), Exclusion(25, 35, REPEATED)], text)
    assert merged == (Exclusion(10, 30, FOOTER), Exclusion(30, 35, REPEATED))
