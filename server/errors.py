"""Errors a request or event is refused with: a code, a message in the caller's language, the rule id of a
refusal, details. Below every layer that refuses (services, auth, realtime), rendered by the API's error
middleware and the room's acks."""

from __future__ import annotations

from typing import Any

from meetings.decision import Text


class ApiError(Exception):
    """Raised by handlers and services; the error middleware renders it as api.md's error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: Text,
        *,
        rule: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.rule = rule
        self.details = details or {}
        self.headers = headers or {}

    def body(self, lang: str) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message.in_language(lang),
                "rule": self.rule,
                "details": self.details,
            }
        }


def not_found() -> ApiError:
    """The one answer for both "does not exist" and "belongs to another unit"."""
    return ApiError(404, "not_found", Text("Không tìm thấy.", "Not found."))


def forbidden() -> ApiError:
    return ApiError(
        403, "forbidden", Text("Bạn không có quyền thực hiện thao tác này.", "You may not do this.")
    )


def unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", Text("Cần đăng nhập.", "Login required."))


def conflict(code: str, message: Text, **details: Any) -> ApiError:
    return ApiError(409, code, message, details=details)


def refused(decision_rule: str, message: Text, details: dict[str, Any] | None = None) -> ApiError:
    """A refusal by a rule: 409 with the rule id (api.md "Errors")."""
    return ApiError(409, "rule_refused", message, rule=decision_rule, details=details)


def invalid(field: str, message: Text) -> ApiError:
    return ApiError(422, "validation_error", message, details={"fields": {field: message.en}})
