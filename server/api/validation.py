"""Reads a JSON body into a pydantic model; bad input becomes a 422 in the caller's language."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from meetings.decision import Text
from server.errors import ApiError

ModelT = TypeVar("ModelT", bound=BaseModel)


# PostgreSQL stores ids and numbers in 32-bit integer columns; anything wider is a 500 there.
MAX_INT = 2**31 - 1


def _unstorable(value: Any) -> bool:
    """A NUL in a string or an integer wider than 32 bits: PostgreSQL refuses both, SQLite takes them."""
    # Iterative: a deeply nested body must not exhaust the stack here.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, int) and not isinstance(item, bool):
            if not -MAX_INT - 1 <= item <= MAX_INT:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


class Body(BaseModel):
    """Base of every request model: unknown fields are refused, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unstorable(cls, data: Any) -> Any:
        # Refused on both databases alike, instead of a 500 on PostgreSQL only.
        if _unstorable(data):
            raise ValueError("NUL characters and integers beyond 32 bits are not allowed")
        return data


_REASONS_VI = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường không được phép",
    "enum": "giá trị không thuộc danh sách cho phép",
    "literal_error": "giá trị không thuộc danh sách cho phép",
    "string_too_long": "quá dài",
    "string_too_short": "quá ngắn",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "bool_type": "phải là true hoặc false",
    "bool_parsing": "phải là true hoặc false",
    "date_from_datetime_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_type": "phải là ngày dạng YYYY-MM-DD",
    "string_type": "phải là chuỗi ký tự",
    "greater_than_equal": "quá nhỏ",
    "less_than_equal": "quá lớn",
    "value_error": "giá trị không hợp lệ",
}


def validation_error(exc: ValidationError) -> ApiError:
    fields: dict[str, dict[str, Any]] = {}
    parts_vi: list[str] = []
    parts_en: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(p) for p in error["loc"]) or "body"
        reason_vi = _REASONS_VI.get(error["type"], "giá trị không hợp lệ")
        # `reason`: the page names the field itself and shows this after it (no code keys to a reader).
        fields[name] = {
            "type": error["type"],
            "message": error["msg"],
            "reason": {"vi": reason_vi, "en": error["msg"]},
        }
        if error.get("ctx", {}).get("expected"):
            fields[name]["expected"] = str(error["ctx"]["expected"])
        parts_vi.append(f"'{name}': {reason_vi}")
        parts_en.append(f"'{name}': {error['msg']}")
    return ApiError(
        422,
        "validation_error",
        Text(
            "Dữ liệu không hợp lệ — " + "; ".join(parts_vi) + ".",
            "Invalid input — " + "; ".join(parts_en) + ".",
        ),
        details={"fields": fields},
    )


def parse_model(model: type[ModelT], data: Any) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


async def read_json(request: web.Request, model: type[ModelT]) -> ModelT:
    try:
        raw = await request.read()
        data = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        raise ApiError(
            422,
            "invalid_json",
            Text("Nội dung gửi lên không phải JSON hợp lệ.", "The body is not valid JSON."),
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            422,
            "invalid_json",
            Text("Nội dung gửi lên phải là một đối tượng JSON.", "The body must be a JSON object."),
        )
    return parse_model(model, data)
