"""A real disk fills up under a real server and worker: the storage is a 2 MB tmpfs the test mounts itself.

An upload that does not fit answers 507 in JSON and leaves no file and no job; ``/health`` says the storage
is down; once space is freed, the same upload is stored, loaded, and ``/health`` is back to ok.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.sample import csv_bytes, departments_rows, employee_rows, jobs_rows
from tests.conftest import hireflow_environ
from tests.e2e.api_client import ApiClient, running_service
from tests.strict_json import strict_json
from tests.tmpfs import files_in, fill, small_tmpfs

pytestmark = pytest.mark.slow

FILES = {
    "departments": csv_bytes(departments_rows()),
    "jobs": csv_bytes(jobs_rows()),
    "hired_employees": csv_bytes(list(employee_rows(2000, invalid_share=0.0))),
}


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "storage", "2m") as folder:
        yield folder


@pytest.fixture(params=["embedded", "redis-postgresql"])
def service(request: pytest.FixtureRequest, tmp_path: Path, storage: Path) -> Iterator[ApiClient]:
    if request.param == "embedded":
        environ = hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}")
    else:
        environ = hireflow_environ(
            tmp_path,
            request.getfixturevalue("postgres_url"),
            CELERY_BROKER_URL=request.getfixturevalue("redis_url"),
            CELERY_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}:",
        )
    assert environ["STORAGE_URL"] == storage.as_uri()
    yield from running_service(environ, tmp_path, "serve", "worker")


def upload(client: ApiClient) -> tuple[int, dict]:
    files = {name: (f"{name}.csv", data, "text/csv") for name, data in FILES.items()}
    response = client.http.post(f"{client.base_url}/upload-files", files=files, timeout=60)
    return response.status_code, strict_json(response.content)


def test_an_upload_to_a_full_disk_answers_507_leaves_nothing_and_works_again_once_space_is_freed(
    service, storage, tmp_path
):
    filler = fill(storage)

    status, answer = upload(service)
    health = service.http.get(f"{service.base_url}/health", timeout=10)
    jobs = service.http.get(f"{service.base_url}/task-list", timeout=10).json()

    assert status == 507
    assert answer["error"]["code"] == "storage_full"
    assert files_in(storage) == {"filler.bin"}
    assert jobs["total"] == 0
    assert health.status_code == 503
    assert strict_json(health.content)["components"]["storage"] == {"status": "down", "detail": "the storage is full"}
    assert str(tmp_path) not in health.text + str(answer)

    filler.unlink()
    status, answer = upload(service)
    final, _states = service.follow(answer["task_id"], timeout=120)

    assert service.http.get(f"{service.base_url}/health", timeout=10).status_code == 200
    assert status == 202
    assert final["state"] == "SUCCESS", final
    assert final["result"]["inserted"] == 12 + 183 + 2000
    assert files_in(storage) == {f"uploads/{answer['task_id']}/{name}.csv" for name in FILES}
