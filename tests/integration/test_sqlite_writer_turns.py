"""SQLite writers take turns through a lock file beside the database: every process's rows land once,
and a transaction gives its turn back however it ends."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from core.ingest.loader import insert_records
from infra.db.engine import create_schema, make_engine
from infra.db.schema import departments as departments_table
from infra.db.unit_of_work import SqlDatabase

PROCESSES = 2
THREADS_PER_PROCESS = 3
BATCHES = 12
ROWS = 100


def departments(first: int) -> list[tuple[int, dict[str, object]]]:
    return [(n, {"id": i, "department": f"Department {i}"}) for n, i in enumerate(range(first, first + ROWS), start=1)]


def first_id(writer: int, batch: int) -> int:
    """Each batch of the second writer covers half of one batch of the first and half of the next."""
    return 1 + batch * ROWS + writer * ROWS // 2


def write_batches(url: str, writer: int) -> list[tuple[int, int]]:
    """In a process of its own: threads that insert batches whose ids half overlap the other process's."""
    from concurrent.futures import ThreadPoolExecutor

    engine = make_engine(url)
    store = SqlDatabase(engine)
    firsts = [first_id(writer, batch) for batch in range(BATCHES)]

    def insert(first: int) -> tuple[int, int]:
        counts = insert_records(store, "departments", departments(first)).counts
        return counts.inserted, counts.already_exists

    try:
        with ThreadPoolExecutor(THREADS_PER_PROCESS) as pool:
            return list(pool.map(insert, firsts))
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SqlDatabase]:
    engine = make_engine(sqlite_url)
    create_schema(engine)
    yield SqlDatabase(engine)
    engine.dispose()


def lock_file(store: SqlDatabase) -> str:
    return f"{store.engine.url.database}-writers.lock"


@contextmanager
def another_descriptor(path: str) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield fd
    finally:
        os.close(fd)


def turn_is_free(store: SqlDatabase) -> bool:
    """Whether another process could take the writers' turn right now (a non-blocking try, given back at once)."""
    with another_descriptor(lock_file(store)) as fd:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True


def stored_ids(url: str) -> set[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(departments_table.c.id)).scalars())
    finally:
        engine.dispose()


def test_writers_in_two_processes_on_one_sqlite_file_all_succeed_and_store_every_row_once(sqlite_store, sqlite_url):
    with ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(write_batches, [sqlite_url] * PROCESSES, range(PROCESSES)))

    batches = [counts for each in results for counts in each]
    assert len(batches) == PROCESSES * BATCHES
    assert all(inserted + already == ROWS for inserted, already in batches), batches
    stored = stored_ids(sqlite_url)
    assert sum(inserted for inserted, _ in batches) == len(stored)
    sent = {i for w in range(PROCESSES) for b in range(BATCHES) for i in range(first_id(w, b), first_id(w, b) + ROWS)}
    assert stored == sent


def test_a_unit_of_work_holds_the_writers_turn_from_its_first_write_until_it_commits(sqlite_store):
    with sqlite_store() as tx:
        tx.rows.count("departments")
        assert turn_is_free(sqlite_store)
        tx.rows.insert("departments", [(1, "Sales")])
        assert not turn_is_free(sqlite_store)
        tx.commit()
        assert turn_is_free(sqlite_store)
    with sqlite_store() as tx:
        assert tx.rows.count("departments") == 1


def test_a_transaction_that_fails_gives_the_turn_back_and_the_next_writer_goes_on(sqlite_store):
    with pytest.raises(RuntimeError), sqlite_store() as tx:
        tx.rows.insert("departments", [(1, "Sales")])
        raise RuntimeError("the batch broke half-way")
    assert turn_is_free(sqlite_store)

    with sqlite_store() as tx:
        tx.rows.insert("departments", [(2, "Support")])
        tx.commit()
    with sqlite_store() as tx:
        assert tx.rows.existing_ids("departments", range(1, 10)) == {2}


def test_a_write_the_database_refuses_gives_the_turn_back(sqlite_store):
    from core.unit_of_work import WriteConflict

    with sqlite_store() as tx:
        tx.rows.insert("departments", [(1, "Sales")])
        tx.commit()
    with pytest.raises(WriteConflict), sqlite_store() as tx:
        tx.rows.insert("departments", [(1, "Sales again")])
    assert turn_is_free(sqlite_store)


def test_a_rollback_gives_the_turn_back_within_the_unit_of_work(sqlite_store):
    with sqlite_store() as tx:
        tx.rows.insert("departments", [(1, "Sales")])
        tx.rollback()
        assert turn_is_free(sqlite_store)
        tx.rows.insert("departments", [(2, "Support")])
        tx.commit()
    with sqlite_store() as tx:
        assert tx.rows.existing_ids("departments", range(1, 10)) == {2}
