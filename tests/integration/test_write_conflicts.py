"""Writers that collide on the same ids, on SQLite and PostgreSQL (COPY): every row lands once, every
answer is the one a lone writer would get, and a refusal is ours, never the driver's text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete

from api import create_app
from core.backup.back_up import backup_tables
from core.backup.restore import restore_tables
from core.ingest.loader import insert_records
from core.jobs.runner import run_job
from core.unit_of_work import UnitOfWork, UnitOfWorkFactory, WriteConflict
from domain.entities import TABLES
from infra.db.schema import HIRING_TABLES
from infra.storage.local import LocalFolderStorage
from tests.conftest import sign_in
from tests.integration.test_backup_api import EXPECTED_ROWS, finished, loaded  # noqa: F401 - a fixture
from tests.integration.test_backup_restore import FORMAT, contents, vandalise
from tests.together import at_once

CLIENTS = 8
ROUNDS = 3
ROWS = 1000
HIRED = datetime(2021, 11, 7, 2, 48, 42)


def departments(first: int) -> list[dict[str, Any]]:
    return [{"id": i, "department": f"Department {i}"} for i in range(first, first + ROWS)]


def test_clients_posting_the_same_rows_at_once_all_get_200_and_each_row_is_inserted_once(services):
    app = create_app(services)
    clients = [sign_in(app.test_client()) for _ in range(CLIENTS)]
    for round_number in range(ROUNDS):
        rows = departments(1 + round_number * ROWS)

        answers = at_once(CLIENTS, lambda i, rows=rows: clients[i].post("/departments", json=rows))

        assert [a.status_code for a in answers] == [200] * CLIENTS, [a.get_data(as_text=True)[:300] for a in answers]
        bodies = [a.json for a in answers]
        assert sum(b["inserted"] for b in bodies) == ROWS
        assert all(b["inserted"] + b["already_exists"] == ROWS and b["rejected"] == [] for b in bodies), bodies
    assert services.store.count_rows("departments") == ROUNDS * ROWS


def test_the_same_file_loaded_twice_at_the_same_instant_ends_in_two_successes_with_every_row_once(
    client, services, challenge_dir: Path
):
    def upload(_i: int) -> Any:
        files = {t: ((challenge_dir / f"{t}.csv").open("rb"), f"{t}.csv") for t in TABLES}
        return client.post("/upload-files", data=files, content_type="multipart/form-data")

    created = at_once(2, upload)
    assert [r.status_code for r in created] == [202, 202]
    task_ids = [r.json["task_id"] for r in created]
    services.queue.queued.clear()

    at_once(2, lambda i: run_job(services.database, services.handlers, task_ids[i], worker=f"w{i}", lease_seconds=30))

    statuses = [client.get(f"/task-status/{task_id}").json for task_id in task_ids]
    assert [s["state"] for s in statuses] == ["SUCCESS", "SUCCESS"], [s["error"] for s in statuses]
    for table, expected in EXPECTED_ROWS.items():
        assert services.store.count_rows(table) == expected
        assert sum(s["counts"][table]["inserted"] for s in statuses) == expected
        assert all(s["counts"][table]["inserted"] + s["counts"][table]["already_exists"] == expected for s in statuses)
    assert [s["result"]["rejected"] for s in statuses] == [70, 70]


def test_two_restores_of_one_table_asked_at_once_run_one_and_refuse_the_other_naming_it(client, loaded):  # noqa: F811
    made = finished(client, loaded, client.post("/backup", json={"tables": ["jobs"]}))
    assert made["state"] == "SUCCESS", made
    backup = contents(loaded.engine)["jobs"]
    vandalise(loaded.engine)

    answers = at_once(2, lambda _i: client.post("/restore", json={"table": "jobs"}))

    assert sorted(a.status_code for a in answers) == [202, 409]
    accepted = next(a for a in answers if a.status_code == 202)
    refused = next(a for a in answers if a.status_code == 409).json["error"]
    task_id = accepted.json["task_id"]
    assert refused["code"] == "table_busy" and task_id in refused["message"]
    assert refused["details"] == {"task_id": task_id, "kind": "restore", "state": "PENDING", "tables": ["jobs"]}
    assert finished(client, loaded, accepted)["state"] == "SUCCESS"
    assert contents(loaded.engine)["jobs"] == backup


def test_two_restores_run_directly_at_once_take_turns_and_leave_the_table_equal_to_the_backup(
    loaded,  # noqa: F811
    tmp_path: Path,
):
    storage = LocalFolderStorage(tmp_path / "backups")
    backup_tables(loaded.database, storage, FORMAT)
    backup = contents(loaded.engine)
    vandalise(loaded.engine)

    results = at_once(2, lambda _i: restore_tables(loaded.database, storage, FORMAT, list(TABLES)))

    assert all(isinstance(result, list) for result in results), results
    assert contents(loaded.engine) == backup


def test_a_duplicate_id_in_a_bulk_insert_is_a_write_conflict_not_a_driver_error(services):
    with services.database() as tx:
        tx.rows.insert("jobs", [(1, "Editor")])
        tx.commit()

    with pytest.raises(WriteConflict, match="(?i)unique|duplicate"), services.database() as tx:
        tx.rows.insert("jobs", [(2, "Recruiter"), (1, "Editor")])
    assert services.store.count_rows("jobs") == 1


def test_a_missing_parent_in_a_bulk_insert_is_a_write_conflict_not_a_driver_error(services):
    with pytest.raises(WriteConflict, match="(?i)foreign key"), services.database() as tx:
        tx.rows.insert("hired_employees", [(1, "Ana Silva", HIRED, 5, 96)])
    assert services.store.count_rows("hired_employees") == 0


def test_a_duplicate_id_while_replacing_a_table_is_a_write_conflict_and_nothing_changes(services):
    with services.database() as tx:
        tx.rows.insert("jobs", [(1, "Editor")])
        tx.commit()

    with pytest.raises(WriteConflict), services.database() as replacing:
        replacing.rows.lock(["jobs"])
        replacing.rows.delete_all("jobs")
        replacing.rows.insert("jobs", [(7, "Clerk"), (7, "Clerk")])
    assert contents(services.engine)["jobs"] == [(1, "Editor")]


class ParentDeletedMidway:
    """The real database, except that another connection deletes a department just after the batch checked it."""

    def __init__(self, database: UnitOfWorkFactory, engine: Engine) -> None:
        self.database = database
        self.engine = engine
        self.deleted = False

    @contextmanager
    def __call__(self) -> Iterator[UnitOfWork]:
        with self.database() as tx:
            check = tx.rows.existing_ids

            def existing_ids(table: str, ids: Iterable[int]) -> set[int]:
                found = check(table, ids)
                if table == "departments" and not self.deleted:
                    with self.engine.begin() as other:
                        other.execute(delete(HIRING_TABLES["departments"]))
                    self.deleted = True
                return found

            tx.rows.existing_ids = existing_ids  # type: ignore[method-assign]
            yield tx


def test_a_parent_deleted_between_the_check_and_the_insert_gets_the_row_rejected_with_its_reason(services):
    with services.database() as tx:
        tx.rows.insert("departments", [(5, "Sales")])
        tx.rows.insert("jobs", [(96, "Editor")])
        tx.commit()
    employee = {"id": 1, "name": "Ana Silva", "datetime": "2021-11-07T02:48:42Z", "department_id": 5, "job_id": 96}

    result = insert_records(ParentDeletedMidway(services.database, services.engine), "hired_employees", [(1, employee)])

    assert (result.counts.inserted, result.counts.rejected) == (0, 1)
    assert [reason.code for reason in result.rejected[0].reasons] == ["unknown_reference"]
    assert services.store.count_rows("hired_employees") == 0
