"""The error envelope and the health probes."""
from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["ErrorDetail", "ErrorPublic", "HealthPublic", "ReadyPublic"]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorPublic(BaseModel):
    """Every 4xx and 5xx body: ``{"error": {"code": ..., "message": ...}}``."""

    error: ErrorDetail


class HealthPublic(BaseModel):
    status: str = "ok"


class ReadyPublic(BaseModel):
    status: str = "ready"
    documents: int
    chunks: int
    generation: int = Field(description="The number of the index's last committed write.")
    model: str
    dimension: int
