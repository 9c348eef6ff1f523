"""The real web server, 2 gunicorn processes, on SQLite and PostgreSQL: batches posted at once by several clients
all land, and a reader reads every row back once by following ``next``, then one row by id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.sample import departments_rows, employee_rows, jobs_rows
from tests.conftest import READER, hireflow_environ
from tests.e2e.api_client import ApiClient, running_service
from tests.together import at_once

pytestmark = pytest.mark.slow

CLIENTS = 4
BATCHES_PER_CLIENT = 3
ROWS = 1000


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[ApiClient]:
    environ = hireflow_environ(tmp_path, database_url, WEB_CONCURRENCY="2")
    yield from running_service(environ, tmp_path, "serve")


def employees(client_number: int, batch: int) -> list[dict[str, Any]]:
    first = 1 + (client_number * BATCHES_PER_CLIENT + batch) * ROWS
    rows = employee_rows(ROWS, invalid_share=0.0, seed=first, start_id=first)
    return [
        {"id": int(i), "name": name, "datetime": moment, "department_id": int(d), "job_id": int(j)}
        for i, name, moment, d, j in rows
    ]


def test_batches_posted_at_once_all_land_and_a_reader_reads_each_row_back_once(service: ApiClient, tmp_path: Path):
    base = service.base_url
    for path, rows in (("departments", departments_rows()), ("jobs", jobs_rows())):
        body = "\n".join(",".join(row) for row in rows)
        posted = service.http.post(f"{base}/{path}", data=body, headers={"Content-Type": "text/csv"}, timeout=60)
        assert posted.status_code == 200 and posted.json()["rejected"] == [], posted.text

    def post_batches(number: int) -> list[int]:
        client = ApiClient(base)
        client.http.headers["Authorization"] = service.http.headers["Authorization"]
        answers = [
            client.http.post(f"{base}/hired-employees", json=employees(number, batch), timeout=120)
            for batch in range(BATCHES_PER_CLIENT)
        ]
        return [answer.json()["inserted"] if answer.status_code == 200 else answer.status_code for answer in answers]

    inserted = at_once(CLIENTS, post_batches)

    assert inserted == [[ROWS] * BATCHES_PER_CLIENT] * CLIENTS
    reader = ApiClient(base)
    reader.sign_in(*READER)
    ids: list[int] = []
    link: str | None = "/hired-employees?limit=1000"
    while link is not None:
        page = reader.http.get(f"{base}{link}", timeout=30).json()
        ids += [row["id"] for row in page["items"]]
        link = page["next"]
    assert ids == list(range(1, CLIENTS * BATCHES_PER_CLIENT * ROWS + 1))
    sent = employees(0, 0)[41]
    assert reader.http.get(f"{base}/hired-employees/{sent['id']}", timeout=10).json() == sent
    assert reader.http.get(f"{base}/hired-employees/{len(ids) + 1}", timeout=10).status_code == 404
