"""The containers' start: the web server and a worker, started together on a database of the last release before
Alembic, bring it to head themselves and serve it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from infra.db.engine import make_engine
from infra.db.upgrade import head_revision, schema_differences
from tests import challenge
from tests.conftest import hireflow_environ
from tests.e2e.api_client import ApiClient, running_service
from tests.old_releases import BEFORE_ALEMBIC, make_old_database, release_trees

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def old_release(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return release_trees(tmp_path_factory)


@pytest.fixture
def last_release_database(postgres_url: str, challenge_dir: Path, old_release: Any, tmp_path: Path) -> str:
    make_old_database(old_release(BEFORE_ALEMBIC), postgres_url, challenge_dir, tmp_path / "last-release")
    return postgres_url


@pytest.fixture
def service_started_on_it(last_release_database: str, tmp_path: Path) -> Iterator[ApiClient]:
    yield from running_service(hireflow_environ(tmp_path, last_release_database), tmp_path, "serve", "worker")


def test_serve_and_worker_starting_together_bring_the_last_releases_database_to_head_and_report_its_rows(
    service_started_on_it: ApiClient, last_release_database: str, challenge_dir: Path
) -> None:
    client = service_started_on_it

    report = client.http.get(f"{client.base_url}/report/hired-by-quarter", params={"year": 2021}, timeout=30)

    assert report.status_code == 200
    hires = sum(row["Q1"] + row["Q2"] + row["Q3"] + row["Q4"] for row in report.json()["rows"])
    assert hires == len(challenge.hires_in(challenge_dir, 2021))
    engine = make_engine(last_release_database)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(head_revision(),)]
        assert schema_differences(conn) == []
    engine.dispose()
