"""``rag mcp``, through the MCP SDK's own client over stdio: the process an assistant would start.

One tiny index made with the real model (what ``rag`` opens): a public document and one in group
``hr``. Each scenario is one server process, reused for several calls (starting one takes about a second);
the last test runs in process, for arguments the SDK's client cannot send.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client

from api import create_mcp_server
from rag import Pipeline
from ragcli.main import main
from tests.conftest import REPO

OFFICE = {"id": "office", "title": "Office hours",
          "text": "The Oslo office opens at 8 am on weekdays. Visitors sign in at the front desk on the ground floor."}
LEAVE = {"id": "leave", "title": "Leave policy", "groups": ["hr"],
         "text": "Every employee gets 25 days of annual leave a year. Leave requests go to Maria Jensen in the HR "
                 "department."}
LUNCH = {"id": "lunch", "title": "Cafeteria",
         "text": "The cafeteria on the fourth floor serves lunch from 11:30 to 13:30."}
LEAVE_QUESTION = "Who handles leave requests?"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:
    directory = tmp_path_factory.mktemp("mcp") / "index"
    pipeline = Pipeline.open(directory, embedder=real_embedder)
    for record in (OFFICE, LEAVE, LUNCH):
        pipeline.ingest_record(record)
    return directory


def _token(index: Path, real_embedder, name: str, groups: tuple[str, ...]) -> str:
    return Pipeline.open(index, embedder=real_embedder).add_key(name, groups)[1]


@asynccontextmanager
async def _session(index: Path, errlog, token: str | None = None) -> AsyncIterator[ClientSession]:
    server = StdioServerParameters(command=sys.executable, args=["-m", "ragcli", "--index", str(index), "mcp"],
                                   env={"RAG_KEY": token} if token is not None else None, cwd=REPO)
    async with stdio_client(server, errlog=errlog) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def _run(scenario) -> None:
    """Run ``scenario`` in an event loop of its own thread: a session-wide Playwright (the browser tests)
    keeps one running in the main thread, where anyio would refuse to start another."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(anyio.run, scenario).result()


async def _call(session: ClientSession, tool: str, **arguments) -> dict:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == result.structured_content  # the same object, as text too
    return result.structured_content


async def _error(session: ClientSession, tool: str, **arguments) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error and result.structured_content is None
    return result.content[0].text


def _cited_text(index: Path, real_embedder, citation: dict) -> str:
    doc = Pipeline.open(index, embedder=real_embedder).document(citation["doc_id"])
    return doc.text[citation["char_start"]:citation["char_end"]]


def test_the_tools_answer_search_and_read_with_exact_citations_and_refuse_bad_arguments(index, real_embedder,
                                                                                        tmp_path):
    async def scenario() -> None:
        with open(tmp_path / "stderr.log", "w") as errlog:
            async with _session(index, errlog) as session:
                tools = {tool.name: tool for tool in (await session.list_tools()).tools}
                assert set(tools) == {"ask", "search", "get_document"}
                assert tools["ask"].input_schema["required"] == ["question"]
                assert set(tools["ask"].input_schema["properties"]) == {"question", "k", "where"}
                assert set(tools["search"].input_schema["properties"]) == {"query", "k", "where"}
                assert set(tools["get_document"].input_schema["properties"]) == {"doc_id", "start", "end"}
                assert all(tool.output_schema and tool.annotations.read_only_hint for tool in tools.values())

                # without RAG_KEY it reads everything, hr included, like `rag ask`
                answer = await _call(session, "ask", question=LEAVE_QUESTION)
                top = answer["answers"][0]
                assert not answer["no_answer"] and top["text"] == "Maria Jensen"
                assert top["citation"]["doc_id"] == "leave" and top["text"] in top["sentence"]
                assert _cited_text(index, real_embedder, top["citation"]) == top["text"]
                assert answer["passages"] and "timings_ms" in answer  # the `rag ask --json` object

                found = await _call(session, "search", query="When does the office open?", k=2)
                assert len(found["passages"]) == 2 and found["passages"][0]["citation"]["doc_id"] == "office"
                for passage in found["passages"]:
                    assert _cited_text(index, real_embedder, passage["citation"]) == passage["text"]

                whole = await _call(session, "get_document", doc_id="office")
                assert (whole["text"], whole["title"], whole["groups"]) == (OFFICE["text"], "Office hours", ["public"])
                assert (whole["start"], whole["end"], whole["length"]) == (0, len(OFFICE["text"]), len(OFFICE["text"]))
                span = await _call(session, "get_document", doc_id="leave", start=top["citation"]["char_start"],
                                   end=top["citation"]["char_end"])
                assert span["text"] == "Maria Jensen" and span["start"] == top["citation"]["char_start"]

                narrowed = await _call(session, "ask", question=LEAVE_QUESTION, where={"title": "Office hours"})
                assert all(a["citation"]["doc_id"] == "office" for a in narrowed["answers"] + narrowed["passages"])

                # bad arguments: error results the assistant can read, and the session goes on
                assert "the question is empty" in await _error(session, "ask", question="  ")
                assert (await _call(session, "ask", question="When does the Oslo office open?"))["answers"]
                assert "k must be" in await _error(session, "search", query="office", k=0)
                assert "valid integer" in await _error(session, "ask", question="office", k="many")
                assert "unknown operator" in await _error(session, "ask", question="office",
                                                          where={"year": {"after": 2020}})
                assert "no document with id 'nope'" in await _error(session, "get_document", doc_id="nope")
                for start, end in ((5, 2), (-1, None), (0, len(OFFICE["text"]) + 1)):
                    message = await _error(session, "get_document", doc_id="office", start=start, end=end)
                    assert f"<= {len(OFFICE['text'])}" in message
                assert (await _call(session, "get_document", doc_id="office", start=4, end=8))["text"] == "Oslo"

    _run(scenario)


def test_a_key_limits_every_tool_to_what_it_reads_and_a_revoked_key_stops_at_once(index, real_embedder,
                                                                                   tmp_path):
    other = _token(index, real_embedder, "other-reader", ("other",))
    hr = _token(index, real_embedder, "hr-reader", ("hr",))

    async def scenario() -> None:
        with open(tmp_path / "stderr.log", "w") as errlog:
            async with _session(index, errlog, hr) as session:
                answer = await _call(session, "ask", question=LEAVE_QUESTION)
                assert answer["answers"][0]["citation"]["doc_id"] == "leave"
                assert (await _call(session, "get_document", doc_id="leave"))["text"] == LEAVE["text"]

            async with _session(index, errlog, other) as session:
                unknown = await _error(session, "get_document", doc_id="nope")
                hidden = await _error(session, "get_document", doc_id="leave")
                assert hidden == unknown.replace("'nope'", "'leave'")  # exactly as an id that does not exist
                answer = await _call(session, "ask", question=LEAVE_QUESTION)
                cited = {item["citation"]["doc_id"] for item in answer["answers"] + answer["passages"]}
                assert "leave" not in cited and "Maria" not in json.dumps(answer)
                found = await _call(session, "search", query="annual leave requests HR", k=10)
                assert {p["citation"]["doc_id"] for p in found["passages"]} == {"office", "lunch"}
                # a filter narrows the key's scope, never widens it
                narrowed = await _call(session, "search", query="leave", where={"title": "Leave policy"})
                assert narrowed["passages"] == []

                assert Pipeline.open(index, embedder=real_embedder).revoke_key("other-reader")
                assert "revoked" in await _error(session, "search", query="office")
        logged = (tmp_path / "stderr.log").read_text(encoding="utf-8")
        assert hr not in logged and other not in logged

    _run(scenario)


@pytest.mark.parametrize("token", ["rag_" + "x" * 43, ""], ids=["unknown", "empty"])
def test_a_token_that_names_no_key_stops_the_server_before_it_serves(index, token):
    done = subprocess.run([sys.executable, "-m", "ragcli", "--index", str(index), "mcp"], cwd=REPO,
                          env={**os.environ, "RAG_KEY": token}, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert "RAG_KEY is not the token of a key of this index" in done.stderr
    if token:
        assert token not in done.stderr


def test_a_missing_index_is_an_error_and_is_not_created(tmp_path, capsys):
    assert main(["--index", str(tmp_path / "none"), "mcp"]) == 1
    assert capsys.readouterr().err.startswith("error: ") and not (tmp_path / "none").exists()


def test_text_that_is_not_unicode_is_an_error_result_too(pipeline):
    """A lone surrogate can come as a JSON escape (the SDK's client cannot send one: in process here)."""
    pipeline.ingest_record(OFFICE)

    async def scenario() -> None:
        async with Client(create_mcp_server(pipeline)) as client:
            for tool, arguments, message in (
                    ("get_document", {"doc_id": "\ud800"}, "not valid Unicode"),
                    ("ask", {"question": "when \ud800"}, "not valid Unicode"),
                    ("search", {"query": "x", "where": {"title": "\ud800"}}, "is not a string")):
                result = await client.call_tool(tool, arguments)
                assert result.is_error and message in result.content[0].text, result.content
            assert not (await client.call_tool("get_document", {"doc_id": "office"})).is_error

    _run(scenario)
