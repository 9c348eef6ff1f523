"""A task's pace as ``/task-status`` shows it while the challenge files load, and once they are loaded."""

from __future__ import annotations

import io
from typing import Any

from core.jobs.runner import run_job
from domain.background_jobs import JobProgress
from domain.entities import TABLES

PACE = ("rows_total", "rows_total_estimated", "rows_per_second", "eta_seconds")


def test_a_loading_task_shows_an_estimated_total_a_rate_and_an_eta_and_a_finished_one_its_counted_rows(
    client: Any, services: Any, challenge_dir: Any
) -> None:
    files = {name: (io.BytesIO((challenge_dir / f"{name}.csv").read_bytes()), f"{name}.csv") for name in TABLES}
    task_id = client.post("/upload-files", data=files, content_type="multipart/form-data").json["task_id"]
    pending = client.get(f"/task-status/{task_id}").json
    assert {k: pending[k] for k in PACE} == dict.fromkeys(PACE) | {"rows_total_estimated": False}

    seen: list[dict[str, Any]] = []

    def look(_job_id: str, _progress: JobProgress) -> None:
        # Called inside a batch's transaction: the API shows what the batches before it committed.
        seen.append(client.get(f"/task-status/{task_id}").json)

    run_job(
        services.database, services.handlers, services.queue.queued.pop(), worker="w", lease_seconds=30, observe=look
    )

    loading = [status for status in seen if status["state"] == "PROGRESS"]
    assert loading, seen
    for status in loading:
        assert status["rows_total_estimated"] is True
        assert status["rows_total"] >= status["rows_done"] > 0
        assert status["rows_per_second"] >= 0 and status["eta_seconds"] >= 0
    done = client.get(f"/task-status/{task_id}").json
    processed = sum(counts["processed"] for counts in done["counts"].values())
    assert (done["state"], done["rows_done"], done["rows_total"]) == ("SUCCESS", processed, processed)
    assert (done["rows_total_estimated"], done["eta_seconds"]) == (False, None)
    assert done["rows_per_second"] > 0


def test_a_backup_shows_the_rows_it_counted_as_a_known_total(client: Any, services: Any, challenge_dir: Any) -> None:
    files = {name: (io.BytesIO((challenge_dir / f"{name}.csv").read_bytes()), f"{name}.csv") for name in TABLES}
    client.post("/upload-files", data=files, content_type="multipart/form-data")
    backup_id = client.post("/backup", json={}).json["task_id"]
    while services.queue.queued:
        run_job(services.database, services.handlers, services.queue.queued.pop(0), worker="w", lease_seconds=30)
    done = client.get(f"/task-status/{backup_id}").json
    assert (done["rows_total"], done["rows_total_estimated"]) == (12 + 183 + 1929, False)
    assert done["rows_per_second"] > 0 and done["eta_seconds"] is None


def test_the_openapi_spec_documents_the_pace_of_a_task(client: Any) -> None:
    task = client.get("/openapi.json").json["components"]["schemas"]["Task"]
    assert set(PACE) <= set(task["properties"]) and set(PACE) <= set(task["required"])
    assert task["properties"]["rows_total_estimated"]["type"] == "boolean"
    assert "description" in task["properties"]["eta_seconds"]
