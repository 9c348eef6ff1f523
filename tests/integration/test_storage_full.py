"""A storage that cannot take a write: a real full disk (a small tmpfs) and a real full Azurite.

The answer is a 507 (local disk full) or a 503 (Azure refused the write) in our error shape, nothing
half-written is left, no job is recorded, and the storage's health check says it is down.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from api import create_app
from bootstrap import bootstrap
from core.config import load_settings
from domain.errors import StorageFull, Unavailable
from infra.storage.azure import AzureBlobStorage
from infra.storage.local import LocalFolderStorage
from tests.conftest import azurite, hireflow_environ, sign_in
from tests.strict_json import strict_json
from tests.tmpfs import files_in, fill, small_tmpfs

KIB = 1 << 10
DEPARTMENTS = b"1,Product Management\n2,Sales\n"
EMPLOYEES = b"".join(b"%d,Ada Lovelace,2021-11-07T02:48:42Z,1,1\n" % n for n in range(1, 6000))  # about 250 KiB


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", "1m") as folder:
        yield folder


def test_a_write_bigger_than_the_space_left_is_refused_as_storage_full_and_leaves_nothing(disk):
    storage = LocalFolderStorage(disk)
    storage.write("kept.csv", b"the old content")
    fill(disk, leave=128 * KIB)
    free_before = shutil.disk_usage(disk).free

    with pytest.raises(StorageFull) as refused:
        storage.write("new.csv", io.BytesIO(b"x" * (512 * KIB)))
    with pytest.raises(StorageFull):
        storage.write("kept.csv", io.BytesIO(b"y" * (512 * KIB)))

    assert str(disk) not in refused.value.message
    assert files_in(disk) == {"kept.csv", "filler.bin"}
    assert (disk / "kept.csv").read_bytes() == b"the old content"
    assert shutil.disk_usage(disk).free == free_before


def test_a_full_disk_fails_the_storage_check_and_a_freed_one_passes_it(disk):
    storage = LocalFolderStorage(disk)
    filler = fill(disk)

    with pytest.raises(StorageFull) as full:
        storage.check()
    filler.unlink()
    storage.check()

    assert full.value.message == "the storage is full"
    assert files_in(disk) == set()


def test_a_storage_folder_that_cannot_be_written_fails_its_check_without_naming_the_folder(tmp_path):
    storage = LocalFolderStorage(tmp_path / "storage")
    (tmp_path / "storage").rmdir()
    (tmp_path / "storage").write_bytes(b"a file where the folder was")

    with pytest.raises(Unavailable) as down:
        storage.check()

    assert down.value.message == "the storage cannot be written"
    assert str(tmp_path) not in down.value.message
    assert down.value.details["folder"] == str(tmp_path / "storage")  # for the log


def test_an_upload_that_does_not_fit_answers_507_and_leaves_no_file_and_no_job(client, services):
    with small_tmpfs(Path(services.storage.root), "1m") as folder:
        fill(folder, leave=64 * KIB)  # room for departments.csv, not for hired_employees.csv

        response = client.post(
            "/upload-files",
            data={
                "departments": (io.BytesIO(DEPARTMENTS), "departments.csv"),
                "hired_employees": (io.BytesIO(EMPLOYEES), "hired_employees.csv"),
            },
        )

        assert response.status_code == 507
        assert strict_json(response.data)["error"] == {
            "code": "storage_full",
            "message": "the storage is full; nothing was saved",
            "details": None,
        }
        assert files_in(folder) == {"filler.bin"}
        assert client.get("/task-list").get_json()["total"] == 0


def test_a_disk_full_while_a_request_arrives_answers_507_not_500(services):
    app = create_app(services)

    @app.post("/spool")
    def spool() -> None:
        raise OSError(28, "No space left on device", "/tmp/spooled-upload")

    response = sign_in(app.test_client()).post("/spool")

    assert response.status_code == 507
    assert strict_json(response.data)["error"]["code"] == "storage_full"
    assert "/tmp" not in response.get_data(as_text=True)


# Azurite keeps blobs in memory; with a limit it refuses a write that would go over it (409), as a full
# storage account would. A blob is committed whole or not at all.
AZURITE_LIMIT = 512 * KIB


@pytest.fixture(scope="module")
def full_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with azurite(tmp_path_factory.mktemp("azurite-full"), "--extentMemoryLimit", str(AZURITE_LIMIT / (1 << 20))) as cs:
        filler = AzureBlobStorage(cs, "full", write_block=64 * KIB)
        filler.write("filler.bin", io.BytesIO(b"\0" * AZURITE_LIMIT))
        yield cs


def test_a_write_azure_refuses_is_unavailable_and_leaves_no_blob(full_azurite):
    storage = AzureBlobStorage(full_azurite, "full", write_block=64 * KIB, retries=0)

    with pytest.raises(Unavailable) as refused:
        storage.write("uploads/new.csv", io.BytesIO(b"x" * (256 * KIB)))
    with pytest.raises(Unavailable):
        storage.write("uploads/small.csv", b"1,Sales\n")

    assert refused.value.message == "Azure blob storage refused the write; nothing was saved"
    assert refused.value.details["error_code"] == "MemoryExtentStoreAtSizeLimit"  # for the log
    assert [blob.name for blob in storage.list()] == ["filler.bin"]


def test_an_azure_storage_that_refuses_writes_fails_its_check(full_azurite):
    storage = AzureBlobStorage(full_azurite, "full", retries=0)

    with pytest.raises(Unavailable, match="cannot take a write"):
        storage.check()


@pytest.fixture
def client_on_full_azurite(tmp_path: Path, sqlite_url: str, full_azurite: str) -> Iterator[Any]:
    environ = hireflow_environ(tmp_path, sqlite_url, STORAGE_URL="azure://full")
    services = bootstrap(load_settings({**environ, "AZURE_STORAGE_CONNECTION_STRING": full_azurite}))
    yield sign_in(create_app(services).test_client())
    services.dispose()


def test_an_upload_azure_refuses_answers_503_and_leaves_no_blob_and_no_job(client_on_full_azurite, full_azurite):
    client = client_on_full_azurite

    response = client.post("/upload-files", data={"departments": (io.BytesIO(DEPARTMENTS), "departments.csv")})
    health = client.get("/health")

    assert response.status_code == 503 and response.headers["Retry-After"]
    assert strict_json(response.data)["error"]["message"] == "Azure blob storage refused the write; nothing was saved"
    assert "127.0.0.1" not in response.get_data(as_text=True) + health.get_data(as_text=True)
    assert client.get("/task-list").get_json()["total"] == 0
    container = BlobServiceClient.from_connection_string(full_azurite).get_container_client("full")
    assert [blob.name for blob in container.list_blobs()] == ["filler.bin"]
    assert health.status_code == 503
    assert strict_json(health.data)["components"]["storage"] == {
        "status": "down",
        "detail": "Azure blob storage cannot take a write",
    }
