"""Every answer carries the security headers: each operation in ``/openapi.json`` (signed in, as a reader and
anonymous), every error path, the docs and the dashboard. API answers are never cached; only the static
assets (Swagger UI and dashboard files, which hold no data) keep a caching rule of their own.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.test import TestResponse

from api import create_app
from tests.conftest import READER, sign_in
from tests.strict_json import strict_json

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
STATIC_ASSETS = ["/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js", "/dashboard/assets/main.js"]


def assert_secure(response: TestResponse, what: str, *, cacheable: bool = False) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("Referrer-Policy") == "no-referrer", what
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), what
    if cacheable:
        assert "no-store" not in headers["Cache-Control"], what
    else:
        assert headers.get("Cache-Control") == "no-store", what
    if response.mimetype == "application/json":
        strict_json(response.data)


def operations(client: Any, task_id: str) -> list[tuple[str, str]]:
    spec = strict_json(client.get("/openapi.json").data)
    return [
        (method.upper(), re.sub(r"{[^}]+}", task_id, path))
        for path, found in spec["paths"].items()
        for method in found
        if method in HTTP_METHODS
    ]


def test_every_documented_operation_answers_with_the_security_headers_whoever_asks(client, services):
    task_id = client.post("/backup").get_json()["task_id"]
    reader = sign_in(create_app(services).test_client(), READER)
    anonymous = create_app(services).test_client()
    walked = operations(client, task_id)

    for method, path in walked:
        for who, caller in (("admin", client), ("reader", reader), ("anonymous", anonymous)):
            assert_secure(caller.open(path, method=method), f"{who} {method} {path}")

    assert {("POST", "/auth/token"), ("GET", "/health"), ("GET", f"/task-status/{task_id}")} <= set(walked)


def test_the_docs_the_spec_and_the_dashboard_carry_them_too(anonymous_client):
    for path in ("/docs", "/openapi.json", "/"):
        response = anonymous_client.get(path)
        assert response.status_code == 200, path
        assert_secure(response, path, cacheable=path == "/")
    assert anonymous_client.get("/").headers["Cache-Control"] == "no-cache"  # revalidated: the page holds no data


@pytest.mark.parametrize("path", STATIC_ASSETS)
def test_static_assets_carry_them_and_may_be_cached(anonymous_client, path):
    response = anonymous_client.get(path)

    assert response.status_code == 200
    assert_secure(response, path, cacheable=True)


def test_every_error_path_carries_them(client, anonymous_client, services):
    app = create_app(services)

    @app.get("/explode")
    def explode() -> None:
        raise RuntimeError("boom")

    errors = {
        "404 no such route": (client.get("/no-such-page"), 404),
        "404 no such asset": (client.get("/docs/assets/nothing.js"), 404),
        "405 wrong method": (client.put("/departments"), 405),
        "401 no token": (anonymous_client.get("/task-list"), 401),
        "401 forged token": (anonymous_client.get("/task-list", headers={"Authorization": "Bearer x.y.z"}), 401),
        "403 reader on an admin route": (sign_in(create_app(services).test_client(), READER).post("/backup"), 403),
        "400 not JSON": (client.post("/departments", data=b"[{", content_type="application/json"), 400),
        "404 control character in the path": (client.get("/task-status/%00"), 404),
        "413 body too large": (
            client.post("/departments", data=b"[]", environ_overrides={"CONTENT_LENGTH": str(64 << 20)}),
            413,
        ),
        "415 wrong content type": (client.post("/departments", data=b"1,x", content_type="text/plain"), 415),
        "500 unexpected": (sign_in(app.test_client()).get("/explode"), 500),
    }

    for what, (response, status) in errors.items():
        assert response.status_code == status, what
        assert_secure(response, what)


def test_the_sign_in_rate_limit_answer_carries_them(anonymous_client):
    wrong = {"username": "nobody", "password": "guess"}

    answers = [anonymous_client.post("/auth/token", json=wrong) for _ in range(11)]

    assert answers[-1].status_code == 429
    for response in answers:
        assert_secure(response, f"POST /auth/token -> {response.status_code}")
