"""Shared fixtures: real databases, real storage, and the challenge data.

A test that needs a service this machine does not offer skips with the reason,
except under ``CI=true``, where the same absence is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
CHALLENGE_DIR = Path(os.environ.get("HIREFLOW_CHALLENGE_DIR", ROOT.parent / "shared" / "data" / "challenge"))
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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


def hireflow_environ(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    """Environment variables for a service on its own database, storage folder and broker folder."""
    return {
        "DATABASE_URL": database_url,
        "STORAGE_URL": (tmp_path / "storage").as_uri(),
        "BROKER_DIR": str(tmp_path / "broker"),
        **extra,
    }


@pytest.fixture
def services(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """The real composition root on a fresh database, with a fake queue: nothing runs until the test runs it."""
    from bootstrap import bootstrap
    from core.config import load_settings
    from tests.job_fakes import FakeJobQueue

    found = bootstrap(load_settings(hireflow_environ(tmp_path, database_url)))
    found.queue = FakeJobQueue()  # type: ignore[misc]
    yield found
    found.dispose()


@pytest.fixture
def client(services: Any) -> Any:
    from api import create_app

    return create_app(services).test_client()
