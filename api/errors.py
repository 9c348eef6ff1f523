"""The one place where errors become HTTP answers: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import errno
import logging
from typing import Any

from flask import Flask, Response, jsonify
from flask_smorest import Api
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from domain.errors import (
    BackupFailed,
    BackupNotFound,
    BatchTooLarge,
    ConfigurationError,
    HireflowError,
    InvalidBackup,
    InvalidBackupId,
    InvalidRequest,
    InvalidToken,
    JobFinished,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    RestoreRefused,
    StorageFull,
    TableBusy,
    TokenExpired,
    Unavailable,
    UnknownTable,
    UnsupportedContentType,
)
from infra.db.engine import first_line

log = logging.getLogger("hireflow.api")

# Most specific first: the first class an error is an instance of decides its status.
STATUS_BY_ERROR: tuple[tuple[type[HireflowError], int], ...] = (
    (NotAuthenticated, 401),
    (NotAllowed, 403),
    (BatchTooLarge, 413),
    (UnsupportedContentType, 415),
    (UnknownTable, 404),
    (BackupNotFound, 404),
    (NotFound, 404),
    (InvalidBackupId, 400),
    (InvalidRequest, 400),
    (InvalidBackup, 422),
    (JobFinished, 409),
    (RestoreRefused, 409),
    (TableBusy, 409),
    (StorageFull, 507),
    # Raised when a table changes while it is read: nothing was saved, and trying again is the remedy.
    (BackupFailed, 503),
    (Unavailable, 503),
    (ConfigurationError, 500),
)
# Their details name hosts, folders and the driver's own words: the log gets them, the client does not.
INTERNAL_DETAILS = (Unavailable, StorageFull)
NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    return response


def code_for(status_name: str) -> str:
    """``"Request Header Fields Too Large"`` -> ``"request_header_fields_too_large"``."""
    return status_name.lower().replace(" ", "_").replace("'", "")


def status_for(error: HireflowError) -> int:
    for error_class, status in STATUS_BY_ERROR:
        if isinstance(error, error_class):
            return status
    return 400


def register_error_handlers(app: Flask, api: Api) -> None:
    @app.errorhandler(HireflowError)
    def domain_error(error: HireflowError) -> Response:
        details = error.details
        if isinstance(error, INTERNAL_DETAILS):
            log.warning("%s: %s", error.message, details)
            details = None
        response = error_response(status_for(error), error.code, error.message, details)
        if isinstance(error, Unavailable):
            response.headers["Retry-After"] = "5"
        if isinstance(error, NotAuthenticated):
            rejected_token = isinstance(error, InvalidToken | TokenExpired)
            response.headers["WWW-Authenticate"] = 'Bearer realm="hireflow"' + (
                ', error="invalid_token"' if rejected_token else ""
            )
        return response

    @app.errorhandler(OperationalError)
    def database_error(error: OperationalError) -> Response:
        log.warning("database error while serving a request: %s", first_line(error))
        return domain_error(Unavailable("the database cannot be reached"))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = code_for(error.name or "error")
        details = None
        data = getattr(error, "data", None)
        if isinstance(data, dict) and "messages" in data:  # marshmallow / webargs validation
            details = data["messages"]
            code = "invalid_request"
        message = error.description or error.name
        if details is not None and message == type(error).description:
            message = "some request parameters are not valid; see details"
        response = error_response(status, code, message, details)
        for header, value in getattr(error, "get_headers", lambda: [])() or []:
            if header.lower() in ("allow", "retry-after", "www-authenticate"):
                response.headers[header] = value
        return response

    @app.errorhandler(OSError)
    def system_error(error: OSError) -> Response:
        if error.errno in NO_ROOM:  # e.g. the disk that holds uploads while they arrive
            return domain_error(StorageFull("the server has no room left for this request", {"reason": str(error)}))
        return unexpected_error(error)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        log.exception("unexpected error while serving a request")
        return error_response(500, "internal_error", "the server could not complete the request; it has been logged")

    api.handle_http_exception = http_error  # type: ignore[method-assign]
