"""Every error leaves as an ErrorResponse body with its proper status; never a trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud.schemas import ErrorDetail, ErrorInfo, ErrorResponse

log = logging.getLogger("cloud.errors")

_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    504: "timeout",
    507: "quota_exceeded",
}


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, {"WWW-Authenticate": "Bearer"})


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorInfo(code=code, message=message, details=details or []))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, headers=exc.headers)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _DEFAULT_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=dict(exc.headers or {}))


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        ErrorDetail(loc=[str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
                    message=str(e.get("msg", "")), type=e.get("type"))
        for e in exc.errors()
    ]
    return error_response(422, "invalid_request", "the request is not valid", details)


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # Input the schemas let through but PostgreSQL cannot hold (a NUL character in text,
    # a number out of range): the client's fault, not ours.
    log.info("value refused by the database", extra={"error": str(exc.__cause__ or exc)[:200]})
    return error_response(422, "invalid_request",
                          "a value cannot be stored (NUL characters or out of range)")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # PostgreSQL restarting or unreachable: the client may retry; the pool's pre-ping
    # replaces the dead connections once the database is back.
    log.warning("database unavailable", extra={"path": request.url.path,
                                               "error": str(exc.__cause__ or exc)[:200]})
    response = error_response(503, "database_unavailable",
                              "the database is not reachable right now; try again shortly")
    response.headers["Retry-After"] = "2"
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return error_response(500, "internal_error", "internal server error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
