"""The chat widget's static files: the full-page chat at ``/``, ``/widget.js``, ``/widget.css``, the icon."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

__all__ = ["router", "STATIC_DIR"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# The page loads only its own script and stylesheet and talks only to this server.
_PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
             "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
_COMMON = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

router = APIRouter(include_in_schema=False)


@router.get("/")
def chat_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers={**_COMMON, "Content-Security-Policy": _PAGE_CSP})


@router.get("/widget.js")
def widget_js() -> FileResponse:
    # Loaded by <script> tags on other sites, hence cross-origin readable.
    return FileResponse(STATIC_DIR / "widget.js", media_type="text/javascript; charset=utf-8",
                        headers={**_COMMON, "Cross-Origin-Resource-Policy": "cross-origin"})


@router.get("/favicon.svg")
def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml", headers=_COMMON)


@router.get("/widget.css")
def widget_css() -> FileResponse:
    return FileResponse(STATIC_DIR / "widget.css", media_type="text/css; charset=utf-8",
                        headers={**_COMMON, "Cross-Origin-Resource-Policy": "cross-origin"})
