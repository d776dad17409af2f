"""``POST /feedback``: a person's verdict on an answer."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from domain.feedback import MAX_NOTE_CHARS
from rag import MAX_QUESTION_CHARS

__all__ = ["AnswerSpan", "FeedbackCreate", "FeedbackCreated"]


class AnswerSpan(BaseModel):
    """Words of a document: ``document.text[char_start:char_end]``."""

    model_config = ConfigDict(extra="forbid")

    doc_id: StrictStr
    char_start: StrictInt = Field(json_schema_extra={"minimum": 0})
    char_end: StrictInt = Field(json_schema_extra={"minimum": 1})


class FeedbackCreate(BaseModel):
    # The limits are checked by the pipeline (one place, one message); here they are documented.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "When are salaries paid?", "verdict": "wrong",
         "answer": {"doc_id": "payroll", "char_start": 27, "char_end": 43}}]})

    question: StrictStr = Field(description=f"The question asked, at most {MAX_QUESTION_CHARS} characters.",
                                json_schema_extra={"minLength": 1, "maxLength": MAX_QUESTION_CHARS})
    verdict: Literal["correct", "wrong", "no_answer"] = Field(
        description="correct: the answer given was right; wrong: it was not (send the right words in answer, if "
                    "the person showed them); no_answer: the documents do not say.")
    answer: AnswerSpan | None = Field(default=None, description="The right words (wrong), or the answer judged "
                                                                "(correct; default: the one the service gives).")
    note: StrictStr | None = Field(default=None, json_schema_extra={"maxLength": MAX_NOTE_CHARS})


class FeedbackCreated(BaseModel):
    id: str
