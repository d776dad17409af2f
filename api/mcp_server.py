"""The Model Context Protocol server: ``rag mcp`` lends an AI assistant three read-only tools.

* ``ask`` — answers with extracts, each cited to the character (the ``rag ask --json`` object);
* ``search`` — the passages retrieval finds, with their citations;
* ``get_document`` — a document's text, or the span a citation names.

A key's token (``RAG_KEY``) limits every tool to what that key reads, checked again on every call, so a
revoked key stops at once; without one the server reads everything, as ``rag ask`` does (whoever starts
it can read the index files anyway). A bad argument is a tool error the assistant reads and can correct,
never a crash: the server keeps serving.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from api.schemas.ask import AskPublic, PassagePublic
from domain.access import EVERYTHING, Scope
from domain.errors import PermissionDeniedError, RagError
from domain.limits import text_problem
from rag import MAX_K, MAX_QUESTION_CHARS, Pipeline, where_scope

__all__ = ["create_mcp_server", "SearchPublic", "DocumentTextPublic"]

_INSTRUCTIONS = (
    "Answers come from the user's own documents as extracts copied word for word. Each cites its document "
    "(doc_id, title, source, page) and the characters it was copied from: get_document(doc_id, char_start, "
    "char_end) returns exactly that text, and wider offsets its context. When no_answer is true the documents "
    "do not say; do not answer from the passages as if they did. Quote extracts as they are and name their source."
)
_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

# The limits are enforced by the pipeline (one place, one wording), as in POST /ask; the schema only tells
# the assistant about them.
_TEXT_LIMITS = {"minLength": 1, "maxLength": MAX_QUESTION_CHARS}
Question = Annotated[StrictStr, Field(description=f"The question in plain language, at most {MAX_QUESTION_CHARS} "
                                      "characters.", json_schema_extra=_TEXT_LIMITS)]
Query = Annotated[StrictStr, Field(description=f"What to look for, in plain language, at most {MAX_QUESTION_CHARS} "
                                   "characters.", json_schema_extra=_TEXT_LIMITS)]
K = Annotated[StrictInt, Field(description=f"How many passages to retrieve, 1 to {MAX_K}.",
                               json_schema_extra={"minimum": 1, "maximum": MAX_K})]
Where = Annotated[dict[str, Any] | None, Field(
    description="Only documents meeting every condition: {\"key\": value | [values] | {\"prefix\": str} | "
    "{\"gte\"/\"lte\": number or ISO date}}, on source, title or a metadata key.",
    json_schema_extra={"examples": [{"lang": "en", "year": {"gte": 2020}}]})]
Offset = Annotated[StrictInt | None, Field(description="A character offset into the document's text (as a "
                                           "citation's char_start / char_end); omitted: its start / its end.",
                                           json_schema_extra={"minimum": 0})]


class SearchPublic(BaseModel):
    """What ``search`` returns: the passages, best first."""

    model_config = ConfigDict(extra="forbid")

    query: str
    passages: list[PassagePublic]


class DocumentTextPublic(BaseModel):
    """What ``get_document`` returns: ``text`` is the document's ``text[start:end]``."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str
    title: str
    source: str
    groups: list[str]
    metadata: dict[str, Any]
    length: int = Field(description="characters in the whole document")
    start: int
    end: int
    text: str


@contextmanager
def _tool_errors() -> Iterator[None]:
    """The library's own errors (a bad question, ``k`` or filter, an unknown document) as tool errors:
    their messages are written for the caller, and the assistant can correct its call."""
    try:
        yield
    except RagError as exc:
        raise ToolError(str(exc)) from exc


class _Reader:
    """What the tools may read: everything, or what one key reads for as long as the key exists."""

    def __init__(self, pipeline: Pipeline, token: str | None) -> None:
        self.pipeline = pipeline
        self._token = token
        if token is not None and pipeline.key_for(token) is None:
            raise PermissionDeniedError("RAG_KEY is not the token of a key of this index (unknown, or revoked): "
                                        "make one with `rag keys add NAME --groups …`")

    def scope(self, where: object = None) -> Scope:
        """The key's scope (looked up on every call: a revoked key stops at once), narrowed by ``where``."""
        if self._token is None:
            return where_scope(where, EVERYTHING)
        key = self.pipeline.key_for(self._token)
        if key is None:
            raise ToolError("the key in RAG_KEY has been revoked: this server reads nothing more")
        return where_scope(where, key.scope)


def _span(length: int, start: int | None, end: int | None) -> tuple[int, int]:
    start = 0 if start is None else start
    end = length if end is None else end
    if not 0 <= start <= end <= length:
        raise ToolError(f"start and end must satisfy 0 <= start <= end <= {length} (the document's length); "
                        f"got {start} and {end}")
    return start, end


def create_mcp_server(pipeline: Pipeline, *, token: str | None = None) -> MCPServer:
    """The MCP server over ``pipeline`` (run it with ``.run("stdio")``).

    Args:
        token: a key's token (``RAG_KEY``): the tools read only what that key reads. None: everything.

    Raises:
        PermissionDeniedError: ``token`` is not the token of a key of this index.
    """
    reader = _Reader(pipeline, token)
    server = MCPServer("rag-extract", instructions=_INSTRUCTIONS)

    @server.tool(annotations=_READ_ONLY)
    def ask(question: Question, k: K = 5, where: Where = None) -> AskPublic:
        """Answer a question from the user's documents with extracts copied from them, each cited to the
        character; or no_answer: true when the documents do not contain the answer. Also returns the
        passages the answer was looked for in."""
        with _tool_errors():
            return pipeline.ask(question, k=k, scope=reader.scope(where)).to_dict()

    @server.tool(annotations=_READ_ONLY)
    def search(query: Query, k: K = 5, where: Where = None) -> SearchPublic:
        """Find the passages of the user's documents most relevant to a query, best first, each with its
        citation: for reading around a topic rather than answering one question."""
        with _tool_errors():
            passages = pipeline.retrieve(query, k=k, scope=reader.scope(where))
        return {"query": query, "passages": [p.to_dict() for p in passages]}

    @server.tool(annotations=_READ_ONLY)
    def get_document(doc_id: Annotated[StrictStr, Field(description="A citation's doc_id.")],
                     start: Offset = None, end: Offset = None) -> DocumentTextPublic:
        """A document's title, source, groups, metadata and text, or the part of its text from start to end
        (character offsets, as citations give them)."""
        problem = text_problem(doc_id, what="doc_id")  # no document has such an id, and the store cannot look it up
        if problem:
            raise ToolError(problem)
        with _tool_errors():
            doc = pipeline.document(doc_id, scope=reader.scope())
        start, end = _span(len(doc.text), start, end)
        return {"doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "groups": list(doc.groups),
                "metadata": doc.metadata, "length": len(doc.text), "start": start, "end": end,
                "text": doc.text[start:end]}

    return server
