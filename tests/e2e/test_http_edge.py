"""The real gunicorn (``python main.py serve``): what it refuses before Flask sees a request is JSON too.

Requests are written byte for byte on a socket, so nothing between the test and the server tidies them.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.web_worker import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_FIELDS, LIMIT_REQUEST_LINE
from tests.conftest import hireflow_environ
from tests.e2e.api_client import ApiClient, running_service
from tests.strict_json import strict_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    folder = tmp_path_factory.mktemp("edge")
    yield from running_service(hireflow_environ(folder, f"sqlite:///{folder / 'hireflow.db'}"), folder, "serve")


def raw_request(client: ApiClient, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is; read the answer until the server closes the connection."""
    host, port = client.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def assert_json_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> dict[str, Any]:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    error: dict[str, Any] = strict_json(body)["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    return error


def test_a_9_kb_header_gets_a_json_431(server):
    request = f"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: {'a' * 9 * 1024}\r\n\r\n".encode()

    error = assert_json_error(*raw_request(server, request), 431)

    assert error["code"] == "request_header_fields_too_large"
    assert str(LIMIT_REQUEST_FIELD_SIZE) in error["message"]


def test_too_many_headers_get_a_json_431(server):
    padding = "".join(f"X-Header-{n}: {n}\r\n" for n in range(LIMIT_REQUEST_FIELDS + 1))
    request = f"GET /health HTTP/1.1\r\nHost: x\r\n{padding}\r\n".encode()

    assert_json_error(*raw_request(server, request), 431)


def test_a_5_kb_url_gets_a_json_414(server):
    request = f"GET /task-status/{'a' * 5 * 1024} HTTP/1.1\r\nHost: x\r\n\r\n".encode()

    error = assert_json_error(*raw_request(server, request), 414)

    assert error["code"] == "uri_too_long"
    assert str(LIMIT_REQUEST_LINE) in error["message"]


MALFORMED = {
    "garbage-request-line": b"NOT HTTP AT ALL\r\n\r\n",
    "unknown-http-version": b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
    "header-without-colon": b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_request_gets_a_json_400(server, case):
    assert_json_error(*raw_request(server, MALFORMED[case]), 400)


def test_a_url_and_a_header_just_under_the_limits_reach_the_app(server):
    connection = http.client.HTTPConnection(server.base_url.removeprefix("http://"), timeout=10)
    path = "/task-status/" + "a" * (LIMIT_REQUEST_LINE - len("GET /task-status/ HTTP/1.1") - 1)
    connection.request("GET", path, headers={"X-Padding": "a" * 8000})
    response = connection.getresponse()

    error = assert_json_error(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read(), 401)

    assert error["code"] == "not_authenticated"  # Flask's own answer: the request got through gunicorn


def test_a_nul_in_a_task_id_gets_a_json_404_from_the_real_server(server):
    response = server.http.get(f"{server.base_url}/task-status/%00/rejections", timeout=10)

    assert response.status_code == 404
    assert strict_json(response.content)["error"]["code"] == "not_found"


def test_the_health_answer_from_the_real_server_carries_the_security_headers(server):
    response = server.http.get(f"{server.base_url}/health", timeout=10)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert strict_json(response.content)["status"] == "ok"


def test_the_log_names_the_refused_requests(server, tmp_path_factory):
    log = Path(next(Path(tmp_path_factory.getbasetemp()).glob("edge*/serve.log")))

    raw_request(server, f"GET /{'b' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n".encode())

    assert "Invalid request from ip=127.0.0.1" in log.read_text(errors="replace")
