"""The command line as a user runs it: a real process, a real database, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from domain.entities import TABLES
from tests.conftest import ROOT


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "STORAGE_", "CELERY_", "REDIS_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def counts_lines(stdout: str) -> dict[str, list[str]]:
    """The summary table's rows: a table's name, then its counts."""
    rows = (line.split() for line in stdout.splitlines())
    return {words[0]: words[1:] for words in rows if len(words) == 5 and words[0] in TABLES}


def test_migrate_prints_a_summary_table_of_the_challenge_data(challenge_dir: Path, tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "STORAGE_URL": (tmp_path / "s").as_uri()}
    result = run_cli("migrate", "--source", str(challenge_dir), "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    lines = counts_lines(result.stdout)
    assert lines["hired_employees"] == ["1999", "1929", "0", "70"]
    assert lines["departments"] == ["12", "12", "0", "0"]
    again = run_cli("migrate", "--source", str(challenge_dir), "--no-progress", env=env)
    rerun = counts_lines(again.stdout)
    assert rerun["hired_employees"] == ["1999", "0", "1929", "70"]


def test_the_sample_generator_seeds_storage_that_migrates_with_some_rejections(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "STORAGE_URL": (tmp_path / "s").as_uri()}
    assert run_cli("generate-sample", env=env).returncode == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["departments.csv", "hired_employees.csv", "jobs.csv"]
    skipped = run_cli("generate-sample", "--if-empty", env=env)
    assert "not written" in skipped.stdout
    result = run_cli("migrate", "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    employees = next(line.split() for line in result.stdout.splitlines() if line.startswith("hired_employees"))
    processed, inserted, _existing, rejected = map(int, employees[1:])
    assert processed == 2000 and inserted + rejected == 2000 and 0 < rejected < 200


def test_a_wrong_setting_fails_at_start_with_one_clear_line(tmp_path: Path) -> None:
    for env, words in (
        ({"DATABASE_URL": "not-a-url"}, "DATABASE_URL"),
        ({"STORAGE_URL": "ftp://x"}, "STORAGE_URL"),
        ({"STORAGE_URL": "azure://c"}, "AZURE_STORAGE_CONNECTION_STRING"),
        ({"PORT": "eighty"}, "PORT"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DATABASE_URL": "oracle+nosuchdriver://x/y"}, "driver"),
    ):
        result = run_cli("init-db", env={"STORAGE_URL": (tmp_path / "s").as_uri(), **env})
        assert result.returncode == 2, (env, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert words in result.stderr and "Traceback" not in result.stderr


def test_migrate_from_a_missing_folder_says_so(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "STORAGE_URL": (tmp_path / "s").as_uri()}
    result = run_cli("migrate", "--source", str(tmp_path / "nowhere"), env=env)
    assert result.returncode == 1 and "not a folder" in result.stderr
