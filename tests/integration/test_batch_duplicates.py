"""One batch with every kind of repeated id, and a batch whose COPY fails half-way, on SQLite and PostgreSQL:
the answers are the same on both, to the id and the line, and a failed batch keeps nothing of itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text

from core.ingest.loader import ingest_blob, insert_records
from core.sample import csv_bytes
from core.unit_of_work import UnitOfWork, UnitOfWorkFactory, WriteConflict
from domain.loads import Checkpoint, RejectedRow, TableCounts
from domain.rules import Reason
from infra.db.schema import hired_employees
from infra.storage.local import LocalFolderStorage

HIRED = datetime(2021, 11, 7, 2, 48, 42)
WHEN = "2021-11-07T02:48:42Z"


def employee(row_id: int, name: str, department: int = 1, job: int = 1) -> dict[str, Any]:
    return {"id": row_id, "name": name, "datetime": WHEN, "department_id": department, "job_id": job}


class AnotherWriterInBetween:
    """The real database, except that another connection commits ``rows`` of employees each time a batch has
    just checked which of its ids are stored, before it writes: on every attempt, or on the first only."""

    def __init__(self, database: UnitOfWorkFactory, engine: Engine, rows: Sequence[Sequence[dict[str, Any]]]) -> None:
        self.database = database
        self.engine = engine
        self.rows = list(rows)
        self.attempts = 0

    @contextmanager
    def __call__(self) -> Iterator[UnitOfWork]:
        with self.database() as tx:
            check = tx.rows.existing

            def existing(table: str, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
                found = check(table, ids)
                if table == "hired_employees":
                    self.attempts += 1
                    rows = self.rows.pop(0) if self.rows else []
                    if rows:
                        with self.engine.begin() as other:
                            other.execute(insert(hired_employees), rows)
                return found

            tx.rows.existing = existing  # type: ignore[method-assign]
            yield tx


def stored_employees(engine: Engine) -> dict[int, tuple[Any, ...]]:
    with engine.connect() as conn:
        return {row[0]: tuple(row) for row in conn.execute(select(hired_employees))}


def stored_row(row_id: int, name: str) -> dict[str, Any]:
    return {"id": row_id, "name": name, "datetime": HIRED, "department_id": 1, "job_id": 1}


def test_a_batch_repeating_ids_within_itself_against_the_table_and_against_a_concurrent_writer_gets_exact_answers(
    services: Any,
) -> None:
    with services.database() as tx:
        tx.rows.insert("departments", [(1, "Sales")])
        tx.rows.insert("jobs", [(1, "Editor")])
        tx.rows.insert("hired_employees", [(10, "Ana Silva", HIRED, 1, 1), (11, "Bo Lima", HIRED, 1, 1)])
        tx.commit()
    concurrent = [[stored_row(20, "Cy Reis"), stored_row(21, "Di Melo")]]
    writer = AnotherWriterInBetween(services.database, services.engine, concurrent)
    batch = [
        employee(1, "Eva Cruz"),
        employee(2, "Fia Dias"),
        employee(2, "Fia Dias"),  # the same row twice in the batch
        employee(3, "Gil Sousa"),
        employee(3, "Someone Else"),  # the same id twice, with other content
        employee(10, "Ana Silva"),  # as stored
        employee(11, "Not Bo"),  # stored with other content
        employee(20, "Cy Reis"),  # as the concurrent writer stores it
        employee(21, "Not Di"),  # the concurrent writer stores other content
        employee(30, "Hal Pinto", department=99),
        employee(31, ""),
        employee(32, "Ivo Rocha"),
    ]

    result = insert_records(writer, "hired_employees", list(enumerate(batch, start=1)))

    assert writer.attempts == 2, "the concurrent write was meant to make the first attempt fail"
    assert result.counts == TableCounts(processed=12, inserted=4, already_exists=3, rejected=5)
    assert result.already_exists == [2, 10, 20]
    assert [(r.position, [reason.code for reason in r.reasons]) for r in result.rejected] == [
        (11, ["missing"]),
        (10, ["unknown_reference"]),
        (5, ["conflict"]),
        (7, ["conflict"]),
        (9, ["conflict"]),
    ]
    assert {i: row[1] for i, row in stored_employees(services.engine).items()} == {
        1: "Eva Cruz",
        2: "Fia Dias",
        3: "Gil Sousa",
        10: "Ana Silva",
        11: "Bo Lima",
        20: "Cy Reis",
        21: "Di Melo",
        32: "Ivo Rocha",
    }


def test_a_copy_that_fails_half_way_through_a_batch_leaves_nothing_of_the_batch(services: Any) -> None:
    job_id = "4f0c1a52-0000-4000-8000-000000000001"
    with services.database() as tx:
        tx.rows.insert("departments", [(1, "Sales")])
        tx.rows.insert("jobs", [(1, "Editor")])
        tx.rows.insert("hired_employees", [(700, "Already Here", HIRED, 1, 1)])
        tx.commit()
    rejected = RejectedRow(
        "hired_employees", "file.csv", 3, "x", [Reason("missing", "name is required and is empty", "name")], job_id
    )

    with pytest.raises(WriteConflict), services.database() as tx:
        tx.rejections.add([rejected])
        tx.checkpoints.save(job_id, "hired_employees", Checkpoint(1000, TableCounts(1000, 999, 0, 1)))
        tx.rows.insert("hired_employees", [(i, f"Person {i}", HIRED, 1, 1) for i in range(1, 1001) if i != 3])

    assert stored_employees(services.engine) == {700: (700, "Already Here", HIRED, 1, 1)}
    assert services.store.rejections(job_id) == []
    assert services.store.load_checkpoint(job_id, "hired_employees") is None


def test_a_batch_whose_copy_fails_half_way_on_every_attempt_keeps_nothing_and_the_batches_before_it_stay(
    services: Any, tmp_path: Any
) -> None:
    job_id = "4f0c1a52-0000-4000-8000-000000000002"
    with services.database() as tx:
        tx.rows.insert("departments", [(1, "Sales")])
        tx.rows.insert("jobs", [(1, "Editor")])
        tx.commit()
    lines = [[str(i), f"Person {i}", WHEN, "1", "1"] for i in range(1, 9)]
    lines[2][1] = ""  # a rejection in the first batch
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "employees.csv").write_bytes(csv_bytes(lines))
    # Each attempt at the second batch (lines 5 to 8) meets a new id taken by another writer past its first row.
    taken = [[stored_row(i, f"Taken {i}")] for i in (6, 7, 8)]
    writer = AnotherWriterInBetween(services.database, services.engine, [[], *taken])

    with pytest.raises(WriteConflict):
        ingest_blob(
            writer,
            LocalFolderStorage(tmp_path / "files"),
            "hired_employees",
            "employees.csv",
            job_id=job_id,
            batch_size=4,
        )

    assert writer.attempts == 4
    assert sorted(stored_employees(services.engine)) == [1, 2, 4, 6, 7, 8]
    assert [(r["line"], r["batch"]) for r in services.store.rejections(job_id)] == [(3, 1)]
    assert services.store.load_checkpoint(job_id, "hired_employees") == Checkpoint(4, TableCounts(4, 3, 0, 1))


def test_only_a_batch_that_saves_a_checkpoint_commits_without_waiting_for_the_disk(postgres_url: str) -> None:
    from infra.db.engine import create_schema, make_engine
    from infra.db.unit_of_work import SqlDatabase

    engine = make_engine(postgres_url, pool_size=1)
    create_schema(engine)
    database = SqlDatabase(engine)

    def synchronous_commit(tx: Any) -> str:
        return str(tx._conn.execute(text("SHOW synchronous_commit")).scalar_one())

    with database() as tx:
        tx.rows.insert("departments", [(1, "Sales")])
        assert synchronous_commit(tx) == "on"
        tx.checkpoints.save("job", "departments", Checkpoint(1, TableCounts(1, 1, 0, 0)))
        assert synchronous_commit(tx) == "off"
        tx.commit()
    with database() as tx:  # the same pooled connection: the setting ended with its transaction
        assert synchronous_commit(tx) == "on"
    engine.dispose()
