"""``/documents``: list, show, create (a JSON record or a file upload) and delete."""
from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.access import FilterError, parse_groups
from domain.errors import DocumentError, PermissionDeniedError
from domain.limits import MAX_ID_BYTES, id_problem, load_json
from domain.types import IngestReport
from api.callers import Caller
from api.deps import PipelineDep, ReadCaller, SettingsDep, WriteCaller, WritesDep
from api.errors import ApiError, validation_message
from api.middleware import BodyTooLargeError
from api.routes import error_responses
from api.schemas.documents import DocumentCreate, DocumentCreated, DocumentPublic, DocumentsPublic, DocumentSummary
from rag import Pipeline

__all__ = ["router", "MAX_PAGE"]

logger = logging.getLogger(__name__)

MAX_PAGE = 1000

router = APIRouter(prefix="/documents", tags=["documents"])

_UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": ".txt, .md, .html, .pdf, .json or .jsonl; at most RAG_MAX_UPLOAD_MB."},
        "id": {"type": "string", "minLength": 1, "maxLength": MAX_ID_BYTES,
               "description": "The document id (default: a hash of the file name)."},
        "groups": {"type": "string", "description": "Who may read it: group names separated by commas "
                                                    "(default: public, or a write key's own groups)."},
    },
}
_CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentCreate.model_json_schema()},
            "multipart/form-data": {"schema": _UPLOAD_SCHEMA},
        },
    }
}


@router.get("", response_model=DocumentsPublic, responses=error_responses(401, 422))
def list_documents(pipeline: PipelineDep, caller: ReadCaller, offset: Annotated[int, Query(ge=0)] = 0,
                   limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50) -> DocumentsPublic:
    """The documents the caller may read, in the order they were added, ``limit`` at a time from ``offset``."""
    docs = pipeline.documents(offset=offset, k=limit, scope=caller.scope)
    total = int(pipeline.stats(scope=caller.scope)["documents"])
    return DocumentsPublic(data=[DocumentSummary(**d.to_dict()) for d in docs], count=total, offset=offset,
                           limit=limit)


@router.get("/{doc_id:path}", response_model=DocumentPublic, responses=error_responses(401, 404))
def get_document(doc_id: str, pipeline: PipelineDep, caller: ReadCaller) -> DocumentPublic:
    """One document with its metadata and full ``text``, which citations' offsets index into (404 for one
    the caller may not read, as for an unknown id)."""
    doc = pipeline.document(doc_id, scope=caller.scope)
    return DocumentPublic(**doc.to_dict())


@router.delete("/{doc_id:path}", status_code=204, response_class=Response,
               responses=error_responses(401, 403, 404))
async def delete_document(doc_id: str, pipeline: PipelineDep, writes: WritesDep, caller: WriteCaller) -> Response:
    """Remove a document from every store; questions asked meanwhile see it until the delete commits.
    A write key deletes only documents within its groups (403 for one it may read but not write)."""
    await writes.run(pipeline.delete, doc_id, scope=caller.scope, within=caller.within)
    logger.info("deleted document %s", doc_id)
    return Response(status_code=204)


@router.post("", status_code=201, response_model=DocumentCreated, openapi_extra=_CREATE_BODY,
             responses=error_responses(400, 401, 403, 413, 415, 422))
async def create_document(request: Request, pipeline: PipelineDep, settings: SettingsDep, writes: WritesDep,
                          response: Response, caller: WriteCaller) -> DocumentCreated:
    """Add a document: a JSON record, or a multipart upload of a file (field ``file``, optional ``id``).

    Idempotent: posting unchanged content again embeds nothing and answers ``"status": "unchanged"``;
    posting it with other ``groups`` or ``metadata`` changes those without embedding it again. A write key
    writes only within its groups (403 otherwise).
    Ingestion runs in a worker thread, one write at a time; questions keep being answered from the
    previous state until the new one is committed.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        record = await _json_record(request, settings.max_upload_bytes)
        report = await writes.run(pipeline.ingest_record, record, within=caller.within,
                                  default_groups=caller.default_groups)
    elif content_type == "multipart/form-data":
        data, filename, doc_id, groups = await _upload(request, settings.max_upload_bytes)
        report = await writes.run(pipeline.ingest_bytes, data, filename=filename, doc_id=doc_id,
                                  groups=groups or caller.default_groups, within=caller.within)
    else:
        raise ApiError(415, "unsupported_media_type",
                       "send a JSON record (application/json) or a file upload (multipart/form-data)")
    created = await run_in_threadpool(_created, pipeline, report)
    response.headers["Location"] = f"/documents/{quote(created.doc_id, safe='')}"
    logger.info("document %s %s (%d chunks)", created.doc_id, created.status, created.chunks)
    return created


async def _json_record(request: Request, limit: int) -> dict[str, Any]:
    body = await request.body()  # bounded by BodyLimitMiddleware, which allows for multipart framing
    if len(body) > limit:
        raise ApiError(413, "payload_too_large", _too_large(limit))
    try:
        data = load_json(body)  # ValueError covers bad UTF-8, NaN, nesting too deep, a 5,000-digit number
    except ValueError as exc:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {exc}") from exc
    try:
        record = DocumentCreate.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", validation_message(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])) from exc
    return record.model_dump(exclude_none=True)


async def _upload(request: Request, limit: int) -> tuple[bytes, str, str | None, tuple[str, ...] | None]:
    """The uploaded file's bytes, its name and the optional ``id`` and ``groups`` fields."""
    try:
        # Starlette spools file parts to disk past 1 MB; the body limit caps the whole request.
        form = await request.form(max_files=1, max_fields=8)
    except BodyTooLargeError:
        raise
    except StarletteHTTPException as exc:
        raise ApiError(400, "bad_upload", f"cannot read the multipart upload: {exc.detail}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "invalid_request", "the multipart upload needs a file in the field \"file\"")
        if upload.size is not None and upload.size > limit:
            raise ApiError(413, "payload_too_large", _too_large(limit))
        doc_id = form.get("id")
        problem = None if doc_id is None else id_problem(doc_id)
        if problem:
            raise ApiError(422, "invalid_request", f"\"id\": {problem}")
        groups = form.get("groups")
        try:
            groups = None if groups is None else parse_groups(groups if isinstance(groups, str) else "")
        except FilterError as exc:
            raise ApiError(422, "invalid_request", f"\"groups\": {exc}") from exc
        data = await upload.read()
        return data, upload.filename or "upload", doc_id or None, groups
    finally:
        await form.close()


def _too_large(limit: int) -> str:
    return f"the document is larger than the limit of {limit / (1024 * 1024):g} MB (RAG_MAX_UPLOAD_MB)"


def _created(pipeline: Pipeline, report: IngestReport) -> DocumentCreated:
    ids = [*report.added, *report.updated, *report.unchanged]
    if not ids and report.denied:
        raise PermissionDeniedError("; ".join(s.reason for s in report.skipped if s.reason))
    if not ids:
        reasons = "; ".join(s.reason for s in report.skipped) or "nothing to index"
        raise DocumentError(f"nothing was ingested: {reasons}")
    status = "added" if report.added else "updated" if report.updated else "unchanged"
    if report.unchanged:
        # The report only counts chunks it embedded; unchanged documents' counts come from the index.
        wanted = set(ids)
        chunks = sum(d.n_chunks for d in _all_documents(pipeline) if d.doc_id in wanted)
    else:
        chunks = report.chunks_added
    return DocumentCreated(doc_id=ids[0], chunks=chunks, status=status, doc_ids=ids,
                           skipped=[{"source": s.source, "reason": s.reason} for s in report.skipped],
                           excluded_chars=sum(e.chars for e in report.excluded))


def _all_documents(pipeline: Pipeline, page: int = 1000):
    offset = 0
    while True:
        batch = pipeline.documents(offset=offset, k=page)
        yield from batch
        if len(batch) < page:
            return
        offset += page
