"""gunicorn's threaded worker, answering the requests it refuses itself in JSON, like every other answer.

gunicorn refuses some requests before Flask sees them: a request line longer than ``LIMIT_REQUEST_LINE``
(414), a header longer than ``LIMIT_REQUEST_FIELD_SIZE`` or more than ``LIMIT_REQUEST_FIELDS`` of them (431),
a malformed request (400). It writes those answers as small HTML pages through ``gunicorn.util.write_error``,
the one function it has for them and which it offers no setting for; each worker process replaces it with
``write_json_error`` when it starts.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from gunicorn import glogging, util
from gunicorn.workers.gthread import ThreadWorker

from api.errors import code_for
from api.headers import api_headers

# gunicorn's own defaults, named here because they are the limits we document.
LIMIT_REQUEST_LINE = 4094
LIMIT_REQUEST_FIELD_SIZE = 8190
LIMIT_REQUEST_FIELDS = 100

MESSAGES = {
    414: f"the request line (method, URL and version) is longer than {LIMIT_REQUEST_LINE} bytes",
    431: f"a request header is longer than {LIMIT_REQUEST_FIELD_SIZE} bytes, or there are more than "
    f"{LIMIT_REQUEST_FIELDS} headers",
    500: "the server could not complete the request; it has been logged",
}


def limits() -> dict[str, Any]:
    """The gunicorn settings for the limits above."""
    return {
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        "limit_request_fields": LIMIT_REQUEST_FIELDS,
    }


def json_error(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP answer in our error shape, with the headers every API answer carries."""
    body = json.dumps(
        {"error": {"code": code_for(reason), "message": MESSAGES.get(status) or message or reason, "details": None}}
    ).encode("ascii")
    head = [
        f"HTTP/1.1 {status} {reason}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in api_headers().items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Stands in for ``gunicorn.util.write_error(sock, status_int, reason, mesg)``."""
    util.write_nonblock(sock, json_error(status_int, reason, mesg))


class JsonErrorWorker(ThreadWorker):  # type: ignore[misc]
    def init_process(self) -> None:
        util.write_error = write_json_error
        super().init_process()


class JsonLogger(glogging.Logger):  # type: ignore[misc]
    """Gunicorn's own lines (its start, each request) as JSON objects too, under ``LOG_FORMAT=json``."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from infra.log_format import JsonFormatter

        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())
