"""Pin the api package's public names, so a change to them is a decision and not an accident."""
from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "api": {"create_app", "Settings", "create_mcp_server"},
    "api.mcp_server": {"create_mcp_server", "SearchPublic", "DocumentTextPublic"},
    "api.schemas": {"AskRequest", "AskPublic", "AnswerPublic", "CitationPublic", "PassagePublic", "DocumentCreate",
                    "DocumentCreated", "DocumentPublic", "DocumentSummary", "DocumentsPublic", "ErrorDetail",
                    "ErrorPublic", "HealthPublic", "ReadyPublic", "AnswerSpan", "FeedbackCreate", "FeedbackCreated"},
    "api.deps": {"WriteQueue", "get_pipeline", "get_settings", "get_metrics", "get_writes", "get_caller",
                 "read_caller", "write_caller", "require_service_key", "PipelineDep", "SettingsDep", "MetricsDep",
                 "WritesDep", "CallerDep", "ReadCaller", "WriteCaller", "ServiceAccess", "OPEN_WRITER"},
    "api.errors": {"ApiError", "error_body", "error_response", "install_error_handlers", "validation_message"},
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned(module):
    mod = importlib.import_module(module)
    assert set(mod.__all__) == PUBLIC[module]
    for name in mod.__all__:
        assert getattr(mod, name) is not None


def test_importing_api_reads_no_environment(monkeypatch):
    import sys

    monkeypatch.setenv("RAG_MAX_UPLOAD_MB", "not a number")  # would fail if anything read it at import
    for name in [m for m in sys.modules if m == "api" or m.startswith("api.")]:
        monkeypatch.delitem(sys.modules, name)
    importlib.import_module("api")
