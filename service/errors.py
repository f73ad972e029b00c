"""The service's errors: one exception type, the error catalogue, and the two shapes it renders in.

Domain code raises `ApiError`; the error middleware renders it as the `{data, meta: {error}}`
envelope on the Interaction API and as CouchDB's `{error, reason, details}` on `/api/...`.
"""

from __future__ import annotations

from typing import Any

# CouchDB's own error names for the statuses it uses; 422 and 503 are the service's.
COUCH_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "bad_content_type",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "internal_server_error",
    503: "service_unavailable",
}

# internalCode -> (HTTP status, default message). A published number never changes meaning.
CATALOGUE: dict[int, tuple[int, str]] = {
    1001: (400, "Body is not valid JSON"),
    1002: (400, "Body does not match the request schema"),
    1003: (413, "Body or batch too large"),
    1004: (415, "Body must be application/json"),
    1005: (408, "Body not received in time"),
    1101: (401, "No or bad credentials"),
    1102: (403, "Not allowed for this user"),
    1103: (429, "Too many failed logins"),
    1201: (404, "No such route or resource"),
    1202: (405, "Method not allowed"),
    1301: (404, "Delegate not found"),
    1302: (409, "Badge already belongs to another delegate"),
    1401: (404, "Device not found"),
    1501: (404, "Unknown interaction type"),
    1502: (422, "Data does not match the interaction type's schema"),
    1503: (422, "Participants missing or not allowed for this type"),
    1504: (404, "Interaction not found"),
    1601: (409, "Revision conflict"),
    1602: (409, "Idempotency key reused with a different request"),
    1603: (409, "A request with this idempotency key is still in progress"),
    740: (412, "Too many interactions"),
    # 2100-2199: forms (the Session API answers in CouchDB's shape; status and error name matter)
    2101: (400, "Form is not valid"),
    2102: (404, "Form, revision or tag not found"),
    2103: (400, "Form id in the body differs from the path"),
    1901: (503, "Engine unavailable"),
    # Session API (questionnaire sessions): 2200-2299
    2201: (404, "Questionnaire session not found"),
    2202: (409, "Questionnaire session is completed"),
    2203: (422, "Context or language does not fit the form"),
    2204: (422, "Answer does not fit the form"),
    2205: (404, "No such answer in this session"),
    2206: (404, "No such row group in this form"),
    2207: (404, "No such row in this session"),
    2208: (422, "No such active page to move to"),
    2209: (422, "The session has errors"),
    2210: (422, "Replacement state does not fit the form"),
    2211: (400, "Bad listing parameter"),
    2212: (404, "No delivery for this session"),
    1999: (500, "Internal server error"),
}


class ApiError(Exception):
    """A failure with a defined answer: HTTP status, internal code, message, and per-problem details."""

    def __init__(
        self,
        internal_code: int,
        message: str | None = None,
        *,
        status: int | None = None,
        details: list[dict[str, Any]] | None = None,
        couch_error: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        default_status, default_message = CATALOGUE[internal_code]
        self.internal_code = internal_code
        self.status = status or default_status
        self.message = message or default_message
        self.details = details or []
        self.couch_error = couch_error or COUCH_ERROR_NAMES.get(self.status, "error")
        self.headers = headers or {}
        super().__init__(self.message)

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "internalCode": self.internal_code,
        }
        if self.details:
            error["details"] = self.details
        return {"data": {}, "meta": {"error": error}}

    def couch_shape(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.couch_error, "reason": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def dialob_shape(self, path: str) -> dict[str, Any]:
        """CouchDB's shape with Dialob's Errors fields beside it (`message`, `status`, `errors`)."""
        return {**self.couch_shape(), "message": self.message, "status": self.status, "path": path,
                "errors": [{"id": d.get("id"), "code": d.get("code", self.couch_error),
                            "description": d.get("message")} for d in self.details]}


class EngineUnavailable(ApiError):
    """The CouchDB-compatible engine did not answer (down, unreachable or too slow)."""

    def __init__(self, retry_after: int, reason: str = "CouchDB engine unavailable") -> None:
        super().__init__(
            1901,
            f"{reason}; retry after {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )


class NotFound(ApiError):
    def __init__(self, message: str = "missing", internal_code: int = 1201) -> None:
        super().__init__(internal_code, message, status=404)


class Conflict(ApiError):
    def __init__(self, message: str = "Document update conflict.") -> None:
        super().__init__(1601, message, status=409)


class Forbidden(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(1102, message, status=403)
