"""Body and upload size caps, the sign-in rate limit, CORS, and no internals in any error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api import create_app
from bootstrap import bootstrap
from core.config import load_settings
from tests.conftest import ADMIN, hireflow_environ, sign_in


@pytest.fixture
def app_with(tmp_path: Path) -> Iterator[Any]:
    """Build an app on SQLite with extra settings; every service built is disposed of at the end."""
    built = []

    def build(**env: str) -> FlaskClient:
        services = bootstrap(load_settings(hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'db'}", **env)))
        built.append(services)
        return create_app(services).test_client()

    yield build
    for services in built:
        services.dispose()


def test_a_body_over_max_request_bytes_gets_413_in_our_error_shape(app_with):
    client = sign_in(app_with(MAX_REQUEST_BYTES="2048"))
    rows = [{"id": n, "department": "D" * 50} for n in range(1, 100)]

    response = client.post("/departments", json=rows)

    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
    assert "MAX_REQUEST_BYTES" in response.get_json()["error"]["message"]


def test_uploads_have_their_own_larger_cap(app_with):
    client = sign_in(app_with(MAX_REQUEST_BYTES="2048", MAX_UPLOAD_BYTES="8192"))
    medium = b"1,Staff\n" * 500  # 4000 bytes: over the request cap, under the upload cap
    large = b"1,Staff\n" * 2000

    accepted = client.post("/upload-files", data={"departments": (_file(medium), "departments.csv")})
    refused = client.post("/upload-files", data={"departments": (_file(large), "departments.csv")})

    assert accepted.status_code == 202
    assert refused.status_code == 413 and "MAX_UPLOAD_BYTES" in refused.get_json()["error"]["message"]


def test_a_chunked_body_without_a_length_is_cut_at_the_cap(app_with):
    client = sign_in(app_with(MAX_REQUEST_BYTES="2048"))

    response = client.post(
        "/departments",
        input_stream=_file(b"[" + b'{"id": 1, "department": "x"},' * 200 + b"]"),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},  # what gunicorn sets for a chunked body
    )

    assert response.status_code == 413


def test_the_1000_row_cap_still_holds(client):
    response = client.post("/departments", json=[{"id": n, "department": "Staff"} for n in range(1, 1002)])

    assert response.status_code == 413 and response.get_json()["error"]["code"] == "batch_too_large"


def test_sign_in_attempts_are_rate_limited_with_a_429_in_our_error_shape(app_with):
    client = app_with(AUTH_RATE_LIMIT="3 per minute")
    wrong = {"username": ADMIN[0], "password": "guess"}

    statuses = [client.post("/auth/token", json=wrong).status_code for _ in range(3)]
    limited = client.post("/auth/token", json={"username": ADMIN[0], "password": ADMIN[1]})

    assert statuses == [401, 401, 401]
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    assert int(limited.headers["Retry-After"]) > 0


def test_the_rate_limit_is_kept_in_redis_when_the_broker_is_redis(app_with, redis_url):
    import uuid

    first = app_with(AUTH_RATE_LIMIT="2 per minute", CELERY_BROKER_URL=redis_url, CELERY_KEY_PREFIX=uuid.uuid4().hex)
    prefix = first.application.config["RATELIMIT_KEY_PREFIX"]
    second = app_with(AUTH_RATE_LIMIT="2 per minute", CELERY_BROKER_URL=redis_url, CELERY_KEY_PREFIX=prefix[:32])
    wrong = {"username": ADMIN[0], "password": "guess"}

    assert first.application.config["RATELIMIT_STORAGE_URI"] == redis_url
    assert [first.post("/auth/token", json=wrong).status_code for _ in range(2)] == [401, 401]
    assert second.post("/auth/token", json=wrong).status_code == 429  # another web process, the same count


def test_without_redis_every_web_process_adds_to_one_sign_in_count_kept_in_the_broker_folder(app_with, tmp_path):
    first, second = app_with(AUTH_RATE_LIMIT="3 per minute"), app_with(AUTH_RATE_LIMIT="3 per minute")
    wrong = {"username": ADMIN[0], "password": "guess"}

    statuses = [client.post("/auth/token", json=wrong).status_code for client in (first, second, first, second)]

    assert statuses == [401, 401, 401, 429]  # two apps, as two gunicorn processes would be: one count
    assert first.application.config["RATELIMIT_STORAGE_URI"].startswith("hireflow+sqlite:///")
    assert (tmp_path / "broker" / "rate-limits.sqlite3").is_file()


def test_the_shared_sign_in_count_starts_again_when_its_window_ends(tmp_path):
    from infra.ratelimit import SqliteRateLimitStorage, storage_uri

    storage = SqliteRateLimitStorage(storage_uri(tmp_path / "limits.sqlite3"))
    other_process = SqliteRateLimitStorage(storage_uri(tmp_path / "limits.sqlite3"))

    assert [storage.incr("client", 60), other_process.incr("client", 60), storage.incr("client", 60)] == [1, 2, 3]
    assert other_process.get("client") == 3 and other_process.get_expiry("client") > time.time()
    storage.incr("brief", 1)
    time.sleep(1.1)
    assert storage.get("brief") == 0
    assert other_process.incr("brief", 60) == 1
    storage.clear("client")
    assert other_process.get("client") == 0 and storage.check()


def test_other_routes_are_not_rate_limited(app_with):
    client = sign_in(app_with(AUTH_RATE_LIMIT="1 per minute"))

    assert {client.get("/task-list").status_code for _ in range(5)} == {200}


def test_cors_is_off_by_default(client):
    response = client.get("/health", headers={"Origin": "https://evil.example"})

    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_listed_origin_may_call_the_api_and_its_preflight_needs_no_token(app_with):
    client = app_with(CORS_ORIGINS="https://dashboard.example")
    preflight_headers = {
        "Origin": "https://dashboard.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }

    preflight = client.options("/departments", headers=preflight_headers)
    other = client.get("/health", headers={"Origin": "https://evil.example"})

    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://dashboard.example"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Origin" in preflight.headers["Vary"]
    assert "Access-Control-Allow-Origin" not in other.headers


def test_an_unexpected_error_answers_500_without_a_traceback(services):
    app = create_app(services)

    @app.get("/explode")
    def explode() -> None:
        raise RuntimeError("SELECT secret FROM internals WHERE 1=1")

    response = sign_in(app.test_client()).get("/explode")

    assert response.status_code == 500
    assert response.get_json() == {
        "error": {
            "code": "internal_error",
            "message": "the server could not complete the request; it has been logged",
            "details": None,
        }
    }


def _file(data: bytes) -> Any:
    import io

    return io.BytesIO(data)
