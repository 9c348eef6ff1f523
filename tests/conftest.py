"""Shared fixtures: real databases, real storage, and the challenge data.

A test that needs a service this machine does not offer skips with the reason,
except under ``CI=true``, where the same absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from core.storage import BlobStorage

ROOT = Path(__file__).resolve().parent.parent


def _challenge_dir() -> Path:
    """``HIREFLOW_CHALLENGE_DIR``, else ``shared/`` beside the checkout, else beside the checkout it was cloned from."""
    if os.environ.get("HIREFLOW_CHALLENGE_DIR"):
        return Path(os.environ["HIREFLOW_CHALLENGE_DIR"])
    candidates = [ROOT.parent / "shared" / "data" / "challenge"]
    try:
        origin = subprocess.run(
            ["git", "config", "--get", "remote.origin.url"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        origin = ""
    if origin and "://" not in origin and Path(origin).is_dir():
        candidates.append(Path(origin).resolve().parent / "shared" / "data" / "challenge")
    return next((c for c in candidates if c.is_dir()), candidates[0])


CHALLENGE_DIR = _challenge_dir()
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
# The public development key every Azurite install accepts; it guards nothing.
AZURITE_DEVELOPMENT_ACCOUNT = "devstoreaccount1"
AZURITE_DEVELOPMENT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def service_missing(reason: str) -> None:
    """Fail under CI, skip elsewhere: a missing service is never silently passed."""
    if IN_CI:
        pytest.fail(f"required service missing under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def challenge_dir() -> Path:
    names = ("departments.csv", "jobs.csv", "hired_employees.csv")
    if not all((CHALLENGE_DIR / n).is_file() for n in names):
        service_missing(f"the challenge CSV files are not in {CHALLENGE_DIR}")
    return CHALLENGE_DIR


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        service_missing(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {type(error).__name__}")
    return POSTGRES_ADMIN_URL


def _fresh_postgres_database(admin_url: str) -> Iterator[str]:
    name = f"hf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    yield from _fresh_postgres_database(postgres_admin_url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hireflow.db'}"


@pytest.fixture(scope="module")
def module_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database shared by the tests of one module."""
    yield from _fresh_postgres_database(postgres_admin_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test that takes this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hireflow.db'}"
    else:
        yield from _fresh_postgres_database(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:  # noqa: BLE001
        service_missing(f"Redis is not reachable at {REDIS_URL}: {type(error).__name__}")
    return REDIS_URL


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def azurite_connection_string_for(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_DEVELOPMENT_ACCOUNT};"
        f"AccountKey={AZURITE_DEVELOPMENT_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_DEVELOPMENT_ACCOUNT};"
    )


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def azurite(workspace: Path, *options: str) -> Iterator[str]:
    """A private Azurite blob emulator kept in memory, with extra command-line ``options``; its connection string."""
    if shutil.which("node") is None:
        service_missing("Azurite needs Node.js, and node is not on PATH")
    if not AZURITE.exists():
        service_missing(f"Azurite is not installed at {AZURITE}; run `npm ci --no-audit --no-fund`")
    port = free_port()
    command = [
        str(AZURITE),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--loose",
        "--silent",
        "--disableTelemetry",
        *options,
    ]
    with (workspace / "azurite.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workspace)
    try:
        deadline = time.monotonic() + 30
        while not _accepts_connections(port):
            if process.poll() is not None:
                output = (workspace / "azurite.log").read_text(errors="replace")[-500:]
                pytest.fail(f"Azurite exited with code {process.returncode}: {output}")
            if time.monotonic() > deadline:
                pytest.fail(f"Azurite did not listen on 127.0.0.1:{port} within 30 seconds")
            time.sleep(0.1)
        yield azurite_connection_string_for(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Azurite blob emulator for this test session, kept in memory."""
    with azurite(tmp_path_factory.mktemp("azurite")) as connection_string:
        yield connection_string


@pytest.fixture(params=["local", "azure"])
def blob_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStorage]:
    """Each test that takes this runs once on a local folder and once on a fresh Azurite container."""
    if request.param == "local":
        from infra.storage.local import LocalFolderStorage

        yield LocalFolderStorage(tmp_path / "blobs")
        return
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import BlobServiceClient

    from infra.storage.azure import AzureBlobStorage

    connection_string = request.getfixturevalue("azurite_connection_string")
    container = f"test-{uuid.uuid4().hex[:16]}"
    yield AzureBlobStorage(connection_string, container)
    try:
        BlobServiceClient.from_connection_string(connection_string).delete_container(container)
    except ResourceNotFoundError:
        pass


# Users and signing key of every test service; made up for the tests, they guard nothing.
ADMIN = ("test-admin", "admin-password-for-tests")
READER = ("test-reader", "reader-password-for-tests")
TEST_AUTH = {
    "JWT_SECRET_KEY": "signing-key-for-tests-only-0123456789abcdef",
    "ADMIN_USERNAME": ADMIN[0],
    "ADMIN_PASSWORD": ADMIN[1],
    "READER_USERNAME": READER[0],
    "READER_PASSWORD": READER[1],
}


def hireflow_environ(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    """Environment variables for a service on its own database, storage folder and broker folder."""
    return {
        "DATABASE_URL": database_url,
        "STORAGE_URL": (tmp_path / "storage").as_uri(),
        "BROKER_DIR": str(tmp_path / "broker"),
        **TEST_AUTH,
        **extra,
    }


def sign_in(client: Any, user: tuple[str, str] = ADMIN) -> Any:
    """Make every later request of this Flask test client carry the user's bearer token."""
    response = client.post("/auth/token", json={"username": user[0], "password": user[1]})
    assert response.status_code == 200, response.get_json()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {response.get_json()['access_token']}"
    return client


@pytest.fixture
def services(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """The real composition root on a fresh database, with a fake queue (nothing runs until the test runs it) and
    views to set up and read jobs and rows (``tests/views.py``)."""
    from bootstrap import bootstrap
    from core.config import load_settings
    from tests.job_fakes import FakeJobQueue
    from tests.views import with_views

    found = with_views(bootstrap(load_settings(hireflow_environ(tmp_path, database_url))))
    found.queue = FakeJobQueue()  # type: ignore[misc]
    yield found
    found.dispose()


@pytest.fixture
def anonymous_client(services: Any) -> Any:
    """A test client that sends no token."""
    from api import create_app

    return create_app(services).test_client()


@pytest.fixture
def client(services: Any) -> Any:
    """A test client signed in as the admin."""
    from api import create_app

    return sign_in(create_app(services).test_client())
