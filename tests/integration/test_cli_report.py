from __future__ import annotations

import json
from pathlib import Path

import pytest

from bootstrap import bootstrap
from core.config import load_settings
from core.ingest.loader import ingest_sources
from domain.entities import TABLES
from infra.storage.local import LocalFolderStorage
from main import main


@pytest.fixture
def loaded_database(database_url: str, challenge_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    environment = {"DATABASE_URL": database_url, "STORAGE_URL": (tmp_path / "storage").as_uri()}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    services = bootstrap(load_settings(environment))
    ingest_sources(services.database, LocalFolderStorage(challenge_dir), {t: f"{t}.csv" for t in TABLES})
    services.dispose()
    return database_url


def test_report_prints_departments_above_the_mean_as_a_table(
    loaded_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "hiring-above-average"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["year 2021", "mean 136.92 hires per department"]
    assert lines[4].split() == ["8", "Support", "216"]


def test_report_prints_the_quarterly_table_as_csv_for_another_year(
    loaded_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "hired-by-quarter", "--year", "2022", "--format", "csv"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "department,job,Q1,Q2,Q3,Q4"
    assert len(lines) > 1


def test_report_as_json_is_the_api_shape(loaded_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "hiring-above-average", "--format", "json"]) == 0

    body = json.loads(capsys.readouterr().out)
    assert list(body) == ["year", "mean", "rows"]
    assert body["rows"][0] == {"id": 8, "department": "Support", "hired": 216}


def test_report_refuses_an_absurd_year_with_a_message(loaded_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "hired-by-quarter", "--year", "1800"]) == 1

    assert "between 1900 and 2100" in capsys.readouterr().err
