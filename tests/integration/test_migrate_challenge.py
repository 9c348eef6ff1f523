"""The real challenge files, loaded into SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import select

from bootstrap import Services, bootstrap
from core.config import load_settings
from core.ingest.loader import ingest_sources
from domain.entities import TABLES
from infra.db.schema import departments, hired_employees, rejected_rows
from infra.storage.local import LocalFolderStorage
from tests.views import with_views

SOURCES = {table: f"{table}.csv" for table in TABLES}


def services_for(database_url: str, tmp_path: Path) -> Services:
    return with_views(
        bootstrap(load_settings({"DATABASE_URL": database_url, "STORAGE_URL": (tmp_path / "store").as_uri()}))
    )


def test_the_challenge_files_load_with_70_rejections_and_a_rerun_inserts_nothing(
    database_url: str, challenge_dir: Path, tmp_path: Path
) -> None:
    services = services_for(database_url, tmp_path)
    source = LocalFolderStorage(challenge_dir)
    first = ingest_sources(services.database, source, SOURCES, job_id="first")
    assert {t: (c.inserted, c.rejected) for t, c in first.items()} == {
        "departments": (12, 0),
        "jobs": (183, 0),
        "hired_employees": (1929, 70),
    }
    second = ingest_sources(services.database, source, SOURCES, job_id="second")
    assert second["hired_employees"].as_dict() == {
        "processed": 1999,
        "inserted": 0,
        "already_exists": 1929,
        "rejected": 70,
    }
    assert [services.store.count_rows(t) for t in TABLES] == [12, 183, 1929]
    services.dispose()


def test_each_rejected_challenge_row_names_its_empty_field(
    database_url: str, challenge_dir: Path, tmp_path: Path
) -> None:
    services = services_for(database_url, tmp_path)
    ingest_sources(services.database, LocalFolderStorage(challenge_dir), SOURCES, job_id="job-70")
    columns = TABLES["hired_employees"].column_names
    with open(challenge_dir / "hired_employees.csv", newline="", encoding="utf-8") as handle:
        expected = {
            line: [columns[i] for i, value in enumerate(row) if not value.strip()]
            for line, row in enumerate(csv.reader(handle), start=1)
            if any(not value.strip() for value in row)
        }
    logged = services.store.rejections("job-70")
    assert len(logged) == len(expected) == 70
    for row in logged:
        assert [r["field"] for r in row["reasons"]] == expected[row["line"]]
        assert {r["code"] for r in row["reasons"]} == {"missing"}
    with services.engine.connect() as conn:
        stored = conn.execute(select(rejected_rows).where(rejected_rows.c.job_id == "job-70")).mappings().all()
    assert len(stored) == 70
    assert all(json.loads(r["reasons"])[0]["code"] == "missing" and r["raw_record"] for r in stored)
    services.dispose()


def test_hire_datetimes_are_stored_as_the_same_utc_instant(
    database_url: str, challenge_dir: Path, tmp_path: Path
) -> None:
    services = services_for(database_url, tmp_path)
    ingest_sources(services.database, LocalFolderStorage(challenge_dir), SOURCES)
    with services.engine.connect() as conn:
        moment = conn.execute(select(hired_employees.c.datetime).where(hired_employees.c.id == 1)).scalar_one()
    assert moment.isoformat() == "2021-11-07T02:48:42"
    services.dispose()


def test_a_changed_row_in_a_later_file_is_a_conflict_and_the_stored_row_stays(
    database_url: str, tmp_path: Path
) -> None:
    services = services_for(database_url, tmp_path)
    folder = LocalFolderStorage(tmp_path / "in")
    folder.write("departments.csv", b"1,Sales\n2,Legal\n")
    ingest_sources(services.database, folder, {"departments": "departments.csv"})
    folder.write("departments.csv", b"1,Sales\n2,Legal Affairs\n3,Support\n")
    counts = ingest_sources(services.database, folder, {"departments": "departments.csv"}, job_id="j")["departments"]
    assert (counts.inserted, counts.already_exists, counts.rejected) == (1, 1, 1)
    assert services.store.rejections("j")[0]["reasons"][0]["code"] == "conflict"
    with services.engine.connect() as conn:
        names = conn.execute(select(departments.c.department).order_by(departments.c.id)).scalars().all()
    assert names == ["Sales", "Legal", "Support"]
    services.dispose()
