"""Hostile files, generated on the fly: what each is and what ingesting it must do.

Shared by the CLI/pipeline tests and the upload-endpoint tests. Nothing here is committed as a
file: every input is built in ``tmp_path`` (the 50 MB one included).
"""
from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Hostile", "HOSTILE_FILES", "BIG_FILE_MB", "MULTILINGUAL", "text_pdf", "write_big_text",
           "TRAVERSAL_NAMES", "fingerprint"]

BIG_FILE_MB = 50

# Chinese, Japanese, Korean, Arabic and Hebrew (right to left), emoji with skin tones and ZWJ
# sequences, combining accents: each paragraph must come back cited to the exact characters.
MULTILINGUAL = (
    "重庆国际消费品博览会于十月开幕。来自五十个国家的企业参加了展览。\n\n"
    "東京の図書館は九時に開館します。地図の貸し出しもあります。\n\n"
    "서울의 도서관은 아홉 시에 문을 엽니다.\n\n"
    "تفتح المكتبة أبوابها في الساعة التاسعة صباحا. يمكن استعارة الخرائط.\n\n"
    "הספרייה נפתחת בשעה תשע. אפשר לשאול מפות.\n\n"
    "The emoji team 👩🏽‍🚀👨‍👩‍👧‍👦 met at the café (cafe\u0301) for crème brûlée 🍮. Ferries 🚢 leave at dawn.\n"
)


def text_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF whose text layer holds ``lines`` (Helvetica, ASCII)."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _image_only_pdf() -> bytes:
    """What a scanner produces: a page that is one picture, no text layer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig = plt.figure(figsize=(2, 2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(np.random.default_rng(0).random((40, 40)))
    ax.axis("off")
    out = io.BytesIO()
    fig.savefig(out, format="pdf")
    plt.close(fig)
    return out.getvalue()


def _binary() -> bytes:
    rng = random.Random(1)
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(4000))


def _deep_html(depth: int = 100_000) -> bytes:
    return ("<html><head><title>Deep nesting</title></head><body>" + "<div>" * depth
            + "<p>The owl sleeps in the bell tower of the old mill.</p>" + "</div>" * depth + "</body></html>").encode()


@dataclass(frozen=True)
class Hostile:
    """One hostile file: its name, its bytes, and either the reason it is refused or text it must yield."""

    name: str
    make: Callable[[], bytes]
    refused: str | None = None   # a fragment of the reason given
    contains: str | None = None  # a fragment of the ingested document's text


_GOOD_PDF_LINES = ["The lighthouse keeper lit the lamp at dusk.", "Ships passed the reef safely all night."]

HOSTILE_FILES: tuple[Hostile, ...] = (
    Hostile("empty.txt", lambda: b"", refused="empty file"),
    Hostile("blank.md", lambda: b" \n\n\t \r\n", refused="empty file"),
    Hostile("picture.txt", _binary, refused="binary content"),
    Hostile("high-bytes.txt", lambda: bytes(range(0x80, 0x100)) * 40, refused="not valid UTF-8"),
    Hostile("latin1.txt", lambda: "Café crème à la carte.".encode("latin-1"), refused="not valid UTF-8"),
    Hostile("utf16.txt", lambda: "Le café est prêt à huit heures.\n\nΚαλημέρα κόσμε.".encode("utf-16"),
            contains="Le café est prêt à huit heures."),
    Hostile("utf16be.md", lambda: b"\xfe\xff" + "# Notes\n\nThe tide turns at noon.".encode("utf-16-be"),
            contains="The tide turns at noon."),
    Hostile("broken-utf16.txt", lambda: "\ufeffbroken".encode("utf-16-le") + b"\x00\xd8", refused="invalid UTF-16"),
    Hostile("deep.html", _deep_html, contains="The owl sleeps in the bell tower"),
    Hostile("truncated.pdf", lambda: text_pdf(_GOOD_PDF_LINES)[:300], refused="unreadable PDF"),
    Hostile("garbage.pdf", lambda: b"%PDF-1.7\n" + bytes(range(256)) * 20, refused="unreadable PDF"),
    Hostile("scanned.pdf", _image_only_pdf, refused="no text layer"),
    Hostile("deep.json", lambda: b"[" * 100_000 + b"]" * 100_000, refused="nested too deeply"),
    Hostile("program.exe", lambda: b"MZ\x90\x00" * 100, refused="unsupported file type"),
    Hostile("multilingual.txt", lambda: MULTILINGUAL.encode("utf-8"), contains="重庆国际消费品博览会"),
    Hostile("lighthouse.pdf", lambda: text_pdf(_GOOD_PDF_LINES), contains="lighthouse keeper"),
)

# Upload names that try to escape: each must end up as a plain name, never as a path.
TRAVERSAL_NAMES = ("../../../../tmp/escaped.txt", "/etc/escaped.txt", "..\\..\\windows\\escaped.txt",
                   "C:\\Users\\x\\escaped.txt", "....//....//escaped.txt", "./a/../../escaped.txt",
                   "%2e%2e%2fescaped.txt")


def write_big_text(path: Path, megabytes: int = BIG_FILE_MB) -> Path:
    """``megabytes`` MB of plain English-like text, written in pieces (never whole in memory)."""
    rng = random.Random(5)
    words = ["river", "stone", "bridge", "market", "lantern", "harbour", "orchard", "meadow", "signal", "copper"]
    paragraph = " ".join(rng.choice(words) for _ in range(120)).capitalize() + ".\n\n"
    block = (paragraph * (1024 * 1024 // len(paragraph) + 1)).encode()[:1024 * 1024]
    with open(path, "wb") as f:
        for _ in range(megabytes):
            f.write(block)
    return path


def fingerprint(pipeline) -> list[tuple[str, str, int]]:
    """Every document's id, content hash and chunk count: what "nothing else changed" compares."""
    return sorted((d.doc_id, d.content_hash, d.n_chunks) for d in pipeline.documents())
