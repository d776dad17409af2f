from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest

from domain.errors import DocumentError
from rag.loaders import load_bytes, load_file


def word_file(*, title: str = "", heading: str | None = "Lift maintenance guide") -> bytes:
    document = docx.Document()
    document.core_properties.title = title
    if heading:
        document.add_heading(heading, level=1)
    document.add_paragraph("Contact us at the front desk if the lift is broken.")
    table = document.add_table(rows=3, cols=2)
    for row, (floor, code) in enumerate([("Floor", "Code"), ("3", "A-17"), ("4", "B-02")]):
        table.cell(row, 0).text, table.cell(row, 1).text = floor, code
    table.cell(1, 1).merge(table.cell(2, 1)).text = "Shared code C-9"
    document.add_paragraph("The engineer visits on the first Monday of each month.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_paragraphs_headings_and_table_cells_become_the_text_in_order(tmp_path: Path):
    path = tmp_path / "lift.docx"
    path.write_bytes(word_file())
    [doc], skipped = load_file(path)
    assert skipped == [] and doc.source == str(path)
    blocks = doc.text.split("\n\n")
    assert blocks == ["Lift maintenance guide", "Contact us at the front desk if the lift is broken.", "Floor", "Code",
                      "3", "Shared code C-9", "4", "The engineer visits on the first Monday of each month."]
    start = doc.text.index("Shared code C-9")
    assert doc.text[start:start + len("Shared code C-9")] == "Shared code C-9"  # offsets index the text


@pytest.mark.parametrize(("title", "heading", "expected"), [
    ("Building manual", "Lift maintenance guide", "Building manual"),
    ("", "Lift maintenance guide", "Lift maintenance guide"),
    ("", None, "lift.docx"),
])
def test_title_is_the_title_property_else_the_first_heading_else_the_file_name(title, heading, expected):
    [doc], _ = load_bytes(word_file(title=title, heading=heading), filename="lift.docx", source="s", doc_id="d")
    assert doc.title == expected


def test_a_corrupt_word_file_is_refused_with_its_reason():
    with pytest.raises(DocumentError, match="unreadable Word file"):
        load_bytes(b"PK\x03\x04 this is not a zip archive", filename="broken.docx", source="s", doc_id="d")
    with pytest.raises(DocumentError, match="unreadable Word file"):
        load_bytes(word_file()[:2000], filename="truncated.docx", source="s", doc_id="d")


def test_a_password_protected_word_file_is_refused_with_its_reason():
    from msoffcrypto.format.ooxml import OOXMLFile

    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(word_file())).encrypt("secret", encrypted)
    with pytest.raises(DocumentError, match="password-protected"):
        load_bytes(encrypted.getvalue(), filename="locked.docx", source="s", doc_id="d")
