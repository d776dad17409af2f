from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from domain.errors import DocumentError, UnsupportedFormatError
from rag.boilerplate import OUTSIDE_MAIN_CONTENT
from rag.loaders import decode_text, iter_files, load_bytes, load_file


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def test_txt_text_is_the_file_unchanged(tmp_path):
    raw = "  Title line\r\n\r\nBody with café and 中文.\n"
    path = write(tmp_path / "a.txt", raw.encode("utf-8"))
    [doc], skipped = load_file(path)
    assert skipped == []
    assert doc.text == raw.encode("utf-8").decode("utf-8")
    assert doc.title == "a.txt" and doc.source == str(path)


def test_markdown_title_comes_from_the_first_heading(tmp_path):
    [doc], _ = load_file(write(tmp_path / "guide.md", "intro\n# User guide\n\nText."))
    assert doc.title == "User guide"


def test_same_file_gets_the_same_id_from_any_spelling_of_its_path(tmp_path, monkeypatch):
    path = write(tmp_path / "d" / "a.txt", "hello")
    monkeypatch.chdir(tmp_path)
    [by_relative], _ = load_file(Path("d/a.txt"))
    [by_absolute], _ = load_file(path)
    assert by_relative.doc_id == by_absolute.doc_id


def test_html_text_is_the_whole_page_and_navigation_and_footer_are_excluded(tmp_path):
    body = " ".join(["The river flooded the lower town after three days of rain."] * 5)
    html = f"""<html><head><title>Flood report</title></head><body>
      <nav><a href="/">Home</a> <a href="/news">News</a> <a href="/login">Log in</a></nav>
      <article><h1>Flood report</h1><p>{body}</p><p>Residents were moved to the school gym.</p></article>
      <footer>Copyright 2024 Example News. All rights reserved. Privacy policy.</footer></body></html>"""
    [doc], _ = load_file(write(tmp_path / "page.html", html))
    assert doc.title == "Flood report"
    assert "river flooded" in doc.text and "school gym" in doc.text
    excluded = [(doc.text[ex.start:ex.end], ex.reason) for ex in doc.excluded]
    assert excluded == [("Home News Log in", OUTSIDE_MAIN_CONTENT),
                        ("Copyright 2024 Example News. All rights reserved. Privacy policy.", OUTSIDE_MAIN_CONTENT)]


ZLIB_HOW = Path("/usr/share/doc/zlib1g-dev/examples/zlib_how.html")


@pytest.mark.skipif(not ZLIB_HOW.is_file(), reason="zlib1g-dev's example page is not installed")
def test_html_introduction_that_main_content_extraction_drops_is_stored_and_indexed():
    [doc], _ = load_file(ZLIB_HOW)
    intro = "We often get questions about how the deflate() and inflate() functions should be used."
    start = doc.text.index(intro)
    assert all(not (ex.start < start + len(intro) and start < ex.end) for ex in doc.excluded)
    assert doc.title == "zlib Usage Example"


@pytest.mark.parametrize(("html", "title"), [
    ("<title>Abstract¶</title><p>Text of the policy.</p>", "Abstract"),
    ("<h2>Installing # </h2><p>Run the installer and wait.</p>", "Installing"),
    ("<body><h1>Policy <a class='headerlink' href='#p'>¶</a></h1><p>Text.</p></body>", "Policy"),
    ("<p>No heading here at all.</p>", "page.html"),
])
def test_html_title_is_the_title_or_first_heading_without_permalink_signs(tmp_path, html, title):
    [doc], _ = load_file(write(tmp_path / "page.html", html))
    assert doc.title == title


@pytest.mark.parametrize(("text", "title"), [
    ("Norwegian official stresses opportunities at trade expo\n\nOSLO, May 13 -- The expo offers a platform.", 
     "Norwegian official stresses opportunities at trade expo"),
    ("iChongqing Title\n\nOver 500 Global Exhibitors Bolstering Chongqing\n\nBody text here.",
     "Over 500 Global Exhibitors Bolstering Chongqing"),
    ("The first line is a sentence and ends with a full stop.\n\nMore.", "notes.txt"),
    ("word\n\n" + "a " * 40, "notes.txt"),
])
def test_txt_title_is_a_headline_like_first_line_else_the_file_name(tmp_path, text, title):
    [doc], _ = load_file(write(tmp_path / "notes.txt", text))
    assert doc.title == title and doc.source == str(tmp_path / "notes.txt")


def _pdf_with_pages(pages: list[str]) -> bytes:
    """A minimal valid PDF with one text line per page (Helvetica), built by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        content = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R "
                       "/Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_pdf_pages_are_recorded_for_citations(tmp_path):
    data = _pdf_with_pages(["Alpha page talks about rivers.", "Beta page talks about mountains."])
    [doc], _ = load_file(write(tmp_path / "two.pdf", data))
    assert doc.page_starts is not None and len(doc.page_starts) == 2
    assert doc.page_of(doc.text.index("mountains")) == 2
    assert doc.page_of(doc.text.index("rivers")) == 1
    assert doc.title == "Alpha page talks about rivers."  # no metadata title: the first line of page 1


def test_pdf_title_comes_from_its_metadata(tmp_path):
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(_pdf_with_pages(["Alpha page talks about rivers."])))
    writer = pypdf.PdfWriter(clone_from=reader)
    writer.add_metadata({"/Title": "River survey 2024"})
    out = io.BytesIO()
    writer.write(out)
    [doc], _ = load_file(write(tmp_path / "survey.pdf", out.getvalue()))
    assert doc.title == "River survey 2024"


def test_json_and_jsonl_records_load_and_bad_records_are_reported(tmp_path):
    records = [{"id": "r1", "title": "One", "text": "First record.", "metadata": {"lang": "en"}},
               {"text": "Second record without id."}, {"title": "no text"}]
    docs, skipped = load_file(write(tmp_path / "recs.json", json.dumps(records)))
    assert [d.doc_id for d in docs][0] == "r1" and docs[0].metadata == {"lang": "en"} and len(docs) == 2
    assert len(skipped) == 1 and "text" in skipped[0].reason
    lines = json.dumps({"id": "a", "text": "Line one."}) + "\n{not json\n" + json.dumps({"id": "b", "text": "Two."})
    docs, skipped = load_file(write(tmp_path / "recs.jsonl", lines))
    assert [d.doc_id for d in docs] == ["a", "b"]
    assert len(skipped) == 1 and "invalid JSON" in skipped[0].reason


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"   \n\n ", "empty"),
        ("binary.txt", b"\x00\x01\x02PNG\x00" * 10, "binary"),
        ("latin1.txt", "caf\xe9 au lait".encode("latin-1"), "UTF-8"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("broken.json", b"{\"text\": ", "invalid JSON"),
    ],
)
def test_bad_files_raise_with_a_reason(tmp_path, name, data, reason):
    with pytest.raises(DocumentError, match=reason):
        load_file(write(tmp_path / name, data))


def test_unsupported_suffix_is_its_own_error(tmp_path):
    with pytest.raises(UnsupportedFormatError):
        load_file(write(tmp_path / "image.png", b"\x89PNG"))


def test_utf16_with_bom_decodes():
    assert decode_text("héllo wörld".encode("utf-16")) == "héllo wörld"


def test_upload_bytes_dispatch_on_the_filename():
    [doc], _ = load_bytes(b"# Notes\n\nSome text.", filename="notes.md", source="upload:notes.md", doc_id="x")
    assert doc.title == "Notes" and doc.doc_id == "x"


def test_directories_walk_recursively_with_include_and_exclude(tmp_path):
    for name in ("a.md", "sub/b.md", "sub/c.txt", "drafts/d.md", ".hidden/e.md"):
        write(tmp_path / name, "text")
    found = {p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path], include=["*.md"], exclude=["drafts/*"])}
    assert found == {"a.md", "sub/b.md"}


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(DocumentError, match="no such file"):
        list(iter_files([tmp_path / "nope"]))


def test_a_title_found_in_a_file_is_made_fit_to_store_not_refused():
    # The file is fine; only its heading is overlong and holds a control character.
    heading = "Owls\x07 " + "word " * 400
    [doc], skipped = load_bytes(f"# {heading}\n\nOwls sleep by day.".encode(), filename="owls.md", source="owls.md",
                                doc_id="owls")
    assert not skipped and doc.title.startswith("Owls word word") and "\x07" not in doc.title
    assert len(doc.title) == 1000 and doc.title.endswith("…")


def test_a_record_over_a_limit_is_skipped_with_the_limit_named_and_the_rest_load():
    deep: object = 1
    for _ in range(40):
        deep = {"a": deep}
    data = "\n".join(json.dumps(r) for r in [{"id": "ok", "text": "Fine."}, {"id": "deep", "text": "Fine.", "metadata": deep},
                                              {"id": "nan", "text": "Fine.", "metadata": {"x": float("nan")}}])
    docs, skipped = load_bytes(data.encode(), filename="r.jsonl", source="r.jsonl", doc_id="r")
    assert [d.doc_id for d in docs] == ["ok"]
    reasons = {s.source: s.reason for s in skipped}
    assert set(reasons) == {"r.jsonl (line 2)", "r.jsonl:3"}
    assert "nested deeper than the limit of 16 levels" in reasons["r.jsonl (line 2)"]
    assert reasons["r.jsonl:3"] == "invalid JSON: NaN is not a JSON value"
