"""One contract for every ``BlobStorage`` adapter: a local folder and Azure (on Azurite) behave alike."""

from __future__ import annotations

import hashlib
import io
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import pytest

from core.ingest.loader import ingest_sources
from core.storage import BlobStorage
from domain.errors import InvalidRequest, SourceNotFound, Unavailable
from infra.db.engine import create_schema, make_engine
from infra.db.unit_of_work import SqlDatabase
from infra.storage.azure import AzureBlobStorage
from tests.conftest import azurite_connection_string_for, free_port

BIG = 20 << 20


class PatternStream(io.RawIOBase):
    """``size`` bytes of a repeating pattern, made on demand so the test itself holds none of them."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.block = bytes(range(256)) * 256

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), len(self.block), self.remaining)
        buffer[:count] = self.block[:count]
        self.remaining -= count
        return count


def pattern_digest(size: int) -> str:
    digest = hashlib.sha256()
    stream = PatternStream(size)
    while chunk := stream.read(1 << 16):
        digest.update(chunk)
    return digest.hexdigest()


def test_reads_back_the_bytes_it_wrote(blob_storage: BlobStorage) -> None:
    assert blob_storage.write("jobs/jobs.csv", b"1,Recruiter\n2,Manager\n") == 22

    with blob_storage.open("jobs/jobs.csv") as stream:
        assert stream.read() == b"1,Recruiter\n2,Manager\n"


def test_writes_a_blob_from_a_stream(blob_storage: BlobStorage) -> None:
    assert blob_storage.write("departments.csv", io.BytesIO(b"1,Product Management\n")) == 21

    with blob_storage.open("departments.csv") as stream:
        assert stream.read() == b"1,Product Management\n"


def test_writing_again_replaces_the_old_blob(blob_storage: BlobStorage) -> None:
    blob_storage.write("report.csv", b"a much longer first version")
    blob_storage.write("report.csv", io.BytesIO(b"short"))

    with blob_storage.open("report.csv") as stream:
        assert stream.read() == b"short"
    assert blob_storage.size("report.csv") == 5


@pytest.mark.parametrize("data", [b"", io.BytesIO(b"")], ids=["bytes", "stream"])
def test_keeps_an_empty_blob(blob_storage: BlobStorage, data: bytes | io.BytesIO) -> None:
    assert blob_storage.write("empty.csv", data) == 0

    assert blob_storage.size("empty.csv") == 0
    with blob_storage.open("empty.csv") as stream:
        assert stream.read() == b""


@pytest.mark.slow
def test_streams_a_large_blob_both_ways_without_holding_it_in_memory(blob_storage: BlobStorage) -> None:
    tracemalloc.start()
    try:
        assert blob_storage.write("big/blob.bin", PatternStream(BIG)) == BIG
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()

        digest = hashlib.sha256()
        with blob_storage.open("big/blob.bin") as stream:
            while chunk := stream.read(1 << 16):
                digest.update(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert digest.hexdigest() == pattern_digest(BIG)
    assert write_peak < BIG / 2
    assert read_peak < BIG / 2


def test_reads_a_byte_range_of_a_blob_larger_than_one_download_chunk(blob_storage: BlobStorage) -> None:
    data = bytes(range(256)) * 8192
    blob_storage.write("range.bin", data)

    for start, end in [(0, 10), (700_000, 1_900_000), (len(data) - 3, len(data)), (5, 5)]:
        with blob_storage.open_range("range.bin", start, end) as stream:
            assert stream.read() == data[start:end]


def test_opening_a_missing_blob_says_it_is_not_found(blob_storage: BlobStorage) -> None:
    with pytest.raises(SourceNotFound, match="no blob named 'nowhere.csv' in storage"):
        blob_storage.open("nowhere.csv")


@pytest.mark.parametrize("name", ["../x", "/abs", "a//b", "a\\b", "a/./b", "", "c:/x"])
def test_refuses_names_that_could_escape_the_store(blob_storage: BlobStorage, name: str) -> None:
    with pytest.raises(InvalidRequest):
        blob_storage.write(name, b"x")
    with pytest.raises(InvalidRequest):
        blob_storage.open(name)
    with pytest.raises(InvalidRequest):
        blob_storage.size(name)
    with pytest.raises(InvalidRequest):
        blob_storage.delete(name)


def test_lists_blobs_under_a_prefix_sorted_by_name_with_sizes(blob_storage: BlobStorage) -> None:
    blob_storage.write("backups/jobs/2.avro", b"22")
    blob_storage.write("backups/departments/1.avro", b"1")
    blob_storage.write("backups/jobs/1.avro", b"333")
    blob_storage.write("sources/jobs.csv", b"4444")

    listed = blob_storage.list("backups/")

    assert [(b.name, b.size) for b in listed] == [
        ("backups/departments/1.avro", 1),
        ("backups/jobs/1.avro", 3),
        ("backups/jobs/2.avro", 2),
    ]
    assert all(b.modified is not None and b.modified.tzinfo is not None for b in listed)
    assert [b.name for b in blob_storage.list()] == [b.name for b in listed] + ["sources/jobs.csv"]
    assert blob_storage.list("nothing/") == []


def test_has_no_size_for_a_missing_blob(blob_storage: BlobStorage) -> None:
    assert blob_storage.size("missing.csv") is None
    assert not blob_storage.exists("missing.csv")


def test_deleting_twice_is_fine(blob_storage: BlobStorage) -> None:
    blob_storage.write("old.csv", b"old")
    assert blob_storage.exists("old.csv")

    blob_storage.delete("old.csv")
    blob_storage.delete("old.csv")

    assert not blob_storage.exists("old.csv")
    assert blob_storage.list() == []


def test_a_reachable_storage_passes_its_check(blob_storage: BlobStorage) -> None:
    blob_storage.check()


def test_an_unreachable_azure_endpoint_fails_its_check_within_seconds() -> None:
    storage = AzureBlobStorage(azurite_connection_string_for(free_port()), "hireflow")

    started = time.monotonic()
    with pytest.raises(Unavailable, match="cannot be reached"):
        storage.check()

    assert time.monotonic() - started < 5


def test_migrates_the_challenge_csvs_from_azurite_into_sql(
    azurite_connection_string: str, challenge_dir: Path, sqlite_url: str
) -> None:
    storage = AzureBlobStorage(azurite_connection_string, f"challenge-{uuid.uuid4().hex[:12]}")
    sources = {}
    for table in ("departments", "jobs", "hired_employees"):
        with (challenge_dir / f"{table}.csv").open("rb") as source:
            storage.write(f"incoming/{table}.csv", source)
        sources[table] = f"incoming/{table}.csv"
    engine = make_engine(sqlite_url)
    create_schema(engine)
    try:
        results = ingest_sources(SqlDatabase(engine), storage, sources)
    finally:
        engine.dispose()

    assert {table: counts.inserted for table, counts in results.items()} == {
        "departments": 12,
        "jobs": 183,
        "hired_employees": 1929,
    }
    assert sum(counts.rejected for counts in results.values()) == 70
