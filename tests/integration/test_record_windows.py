"""The seed's own client, unchanged: ``?start=&limit=`` windows over the files in storage, and the job's
result with one summary per batch, over HTTP on the challenge data, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest

from domain.entities import TABLES
from tests import challenge
from tests.batch_summaries import assert_batches_add_up, error_ids
from tests.integration.test_backup_api import finished
from tests.integration.test_query_parameters import state_of

# What the original service printed for the first 1000 records, and what the issue publishes.
PUBLISHED = {
    (0, 1000): {"processed": 1000, "inserted": 967, "rejected": 33},
    (1000, 1000): {"processed": 999, "inserted": 962, "rejected": 37},
}
FIRST_IDS_PUBLISHED = [2, 67, 84, 87, 97]
LAST_ID_PUBLISHED = 970
WINDOW_PATHS = ["/upload-files", "/upload-hired-employees", "/departments", "/jobs"]


def expected_window(folder: Path, start: int, limit: int) -> dict[str, Any]:
    """The window's counts and rejected ids, from the file and the data dictionary's rules alone: a record is
    rejected when a field is empty or names a department or job that does not exist."""
    departments, jobs = challenge.departments(folder), challenge.jobs(folder)
    with (folder / "hired_employees.csv").open(newline="", encoding="utf-8") as handle:
        records = [[field.strip() for field in row] for row in csv.reader(handle) if row]
    window = records[start : start + limit]
    rejected = [
        int(row[0])
        for row in window
        if len(row) != 5 or not all(row) or int(row[3]) not in departments or int(row[4]) not in jobs
    ]
    return {
        "counts": {
            "processed": len(window),
            "inserted": len(window) - len(rejected),
            "already_exists": 0,
            "rejected": len(rejected),
        },
        "error_ids": rejected,
    }


@pytest.fixture
def in_storage(services: Any, challenge_dir: Path) -> Any:
    """The challenge files at the storage root, where a POST without a body loads them from."""
    for table in TABLES:
        services.storage.write(f"{table}.csv", (challenge_dir / f"{table}.csv").read_bytes())
    return services


def test_the_seed_clients_two_windows_load_the_challenge_employees_with_the_published_figures(
    client: Any, in_storage: Any, challenge_dir: Path
) -> None:
    first = finished(client, in_storage, client.post("/upload-files?start=0&limit=1000"))
    second = finished(client, in_storage, client.post("/upload-hired-employees?start=1000&limit=1000"))

    for status, (start, limit) in ((first, (0, 1000)), (second, (1000, 1000))):
        assert status["state"] == "SUCCESS", status["error"]
        assert status["params"]["window"] == {"start": start, "limit": limit}
        expected = expected_window(challenge_dir, start, limit)
        loaded = status["result"]["tables"]["hired_employees"]
        assert loaded == expected["counts"]
        assert {key: loaded[key] for key in ("processed", "inserted", "rejected")} == PUBLISHED[(start, limit)]
        assert error_ids(status["result"], "hired_employees") == expected["error_ids"]
        assert_batches_add_up(status["result"])
    assert first["result"]["tables"]["departments"]["inserted"] == 12
    assert first["result"]["tables"]["jobs"]["inserted"] == 183
    ids = error_ids(first["result"], "hired_employees")
    assert ids[:5] == FIRST_IDS_PUBLISHED and ids[-1] == LAST_ID_PUBLISHED
    assert in_storage.store.count_rows("hired_employees") == 967 + 962


def test_the_batches_of_a_window_are_shown_in_the_original_services_shape(
    client: Any, in_storage: Any, challenge_dir: Path
) -> None:
    status = finished(client, in_storage, client.post("/upload-files?start=0&limit=1000"))

    batches = status["result"]["batches"]
    assert {table: b["total"] for table, b in batches.items()} == {"departments": 1, "jobs": 1, "hired_employees": 1}
    [batch] = batches["hired_employees"]["items"]
    expected = expected_window(challenge_dir, 0, 1000)
    assert batch == {
        "processed": 1000,
        "inserted": 967,
        "already_exists": 0,
        "errors": 33,
        "error_ids": expected["error_ids"],
    }
    spec = client.get("/openapi.json").json["components"]["schemas"]
    assert set(status["result"]) == set(spec["IngestResult"]["properties"])
    assert set(batch) == set(spec["BatchSummary"]["properties"])
    assert set(batches["jobs"]) == set(spec["TableBatches"]["properties"])


def test_a_whole_load_shows_each_batch_of_1000_and_they_add_up_to_the_table(
    client: Any, in_storage: Any, challenge_dir: Path
) -> None:
    status = finished(client, in_storage, client.post("/upload-files"))

    assert "window" not in status["params"]
    employees = status["result"]["batches"]["hired_employees"]
    assert [b["processed"] for b in employees["items"]] == [1000, 999]
    assert [b["errors"] for b in employees["items"]] == [33, 37]
    assert error_ids(status["result"], "hired_employees") == expected_window(challenge_dir, 0, 2000)["error_ids"]
    assert_batches_add_up(status["result"])
    again = finished(client, in_storage, client.post("/upload-hired-employees?limit=1000"))
    assert again["result"]["batches"]["hired_employees"]["items"] == [
        {
            "processed": 1000,
            "inserted": 0,
            "already_exists": 967,
            "errors": 33,
            "error_ids": expected_window(challenge_dir, 0, 1000)["error_ids"],
        }
    ]


def test_a_window_past_the_end_of_the_file_loads_nothing_and_succeeds(client: Any, in_storage: Any) -> None:
    status = finished(client, in_storage, client.post("/upload-files?start=5000"))

    assert status["state"] == "SUCCESS"
    assert status["result"]["processed"] == 0
    assert status["result"]["batches"]["hired_employees"] == {"total": 0, "items": []}


def test_a_windowed_load_runs_as_one_job_even_when_files_are_split_between_workers(
    client: Any, in_storage: Any, challenge_dir: Path
) -> None:
    in_storage.settings = dataclasses.replace(in_storage.settings, ingest_parts=3, ingest_part_min_bytes=1)

    status = finished(client, in_storage, client.post("/upload-files?start=0&limit=1000"))
    status = finished(client, in_storage, client.post("/upload-hired-employees?start=1000&limit=1000"))

    assert status["state"] == "SUCCESS", status["error"]
    assert client.get("/task-list?kind=ingest_part").json["items"] == []
    assert status["result"]["tables"]["hired_employees"] == expected_window(challenge_dir, 1000, 1000)["counts"]
    lines = [
        item["line"] for item in client.get(f"/task-status/{status['task_id']}/rejections?per_page=100").json["items"]
    ]
    assert len(lines) == 37 and all(1001 <= line <= 1999 for line in lines)


@pytest.mark.parametrize("path", WINDOW_PATHS)
@pytest.mark.parametrize(
    "query",
    [
        "start=-1",
        "limit=0",
        "limit=-5",
        "start=abc",
        "limit=1.5",
        "start=1e3",
        "limit=",
        "start=99999999999999999999999",
        "limit=9223372036854775808",
    ],
)
def test_a_bad_start_or_limit_is_a_400_naming_it_and_queues_nothing(
    client: Any, in_storage: Any, path: str, query: str
) -> None:
    before = state_of(in_storage)

    response = client.post(f"{path}?{query}")

    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.json["error"]
    assert query.partition("=")[0] in str(error["details"]), error
    assert state_of(in_storage) == before and in_storage.queue.queued == []


def test_start_and_limit_with_rows_in_the_body_are_a_400_since_they_choose_records_of_a_file(
    client: Any, in_storage: Any
) -> None:
    response = client.post("/departments?start=0&limit=1", json=[{"id": 99, "department": "Legal"}])

    assert response.status_code == 400
    assert response.json["error"]["details"] == {"parameters": ["limit", "start"]}
    assert in_storage.store.count_rows("departments") == 0


def test_an_upload_with_a_window_loads_that_window_of_the_uploaded_file(
    client: Any, in_storage: Any, challenge_dir: Path
) -> None:
    files = {name: (io.BytesIO((challenge_dir / f"{name}.csv").read_bytes()), f"{name}.csv") for name in TABLES}
    response = client.post("/upload-files?start=10&limit=5", data=files, content_type="multipart/form-data")
    status = finished(client, in_storage, response)

    assert status["params"]["sources"]["hired_employees"].startswith("uploads/")
    assert {t: c["processed"] for t, c in status["result"]["tables"].items()} == {
        "departments": 2,
        "jobs": 5,
        "hired_employees": 5,
    }
