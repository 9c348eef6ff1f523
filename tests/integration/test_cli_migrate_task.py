"""``python main.py migrate`` as an operator runs it: a real process that records an ``ingest`` task the API
shows, prints its id and why rows were refused, writes them out, and says how it went in its exit status."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from domain.entities import TABLES
from tests.conftest import hireflow_environ
from tests.integration.test_cli import run_cli

TASK_LINE = re.compile(r"^task ([0-9a-f-]{36}): ingest of ", re.MULTILINE)


def expected_rejections(challenge_dir: Path) -> dict[int, tuple[str, Counter[str]]]:
    """From the data dictionary: every employee line with an empty field is refused as ``missing`` that field."""
    columns = TABLES["hired_employees"].column_names
    found = {}
    with open(challenge_dir / "hired_employees.csv", newline="", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    for number, (line, row) in enumerate(zip(lines, csv.reader(lines), strict=True), start=1):
        empty = [columns[i] for i, value in enumerate(row) if not value.strip()]
        if empty:
            found[number] = (line, Counter(f"missing {field}" for field in empty))
    return found


def migrate(tmp_path: Path, database_url: str, *args: str, **settings: str) -> tuple[Any, str | None]:
    result = run_cli("migrate", "--no-progress", *args, env=hireflow_environ(tmp_path, database_url, **settings))
    found = TASK_LINE.search(result.stdout)
    return result, found.group(1) if found else None


def csv_rows(content: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content)))


def test_migrate_records_an_ingest_task_the_api_lists_and_writes_exactly_its_rejected_rows(
    client: Any, tmp_path: Path, database_url: str, challenge_dir: Path
) -> None:
    out = tmp_path / "rejected.csv"
    result, task_id = migrate(tmp_path, database_url, "--source", str(challenge_dir), "--rejections", str(out))
    assert result.returncode == 0, result.stderr
    assert task_id, result.stdout

    listed = client.get("/task-list?kind=ingest").get_json()["items"]
    assert [(t["task_id"], t["kind"], t["state"]) for t in listed] == [(task_id, "ingest", "SUCCESS")]
    status = client.get(f"/task-status/{task_id}").get_json()
    assert status["counts"]["hired_employees"] == {
        "processed": 1999,
        "inserted": 1929,
        "already_exists": 0,
        "rejected": 70,
    }

    expected = expected_rejections(challenge_dir)
    written = out.read_bytes().decode("utf-8")
    assert written == client.get(f"/task-status/{task_id}/rejections?format=csv").get_data(as_text=True)
    rows = csv_rows(written)
    assert {int(r["line"]): r["record"] for r in rows} == {line: raw for line, (raw, _) in expected.items()}
    assert {r["table"] for r in rows} == {"hired_employees"}

    reasons = sum((why for _, why in expected.values()), Counter())
    summary = [line.split() for line in result.stdout.splitlines() if line.startswith("hired_employees  missing")]
    assert {f"{words[1]} {words[2]}": int(words[3]) for words in summary} == dict(reasons)
    assert f"python main.py rejections {task_id}" in result.stdout


def test_the_rejections_command_prints_a_tasks_rejected_rows_as_the_api_does(
    client: Any, tmp_path: Path, database_url: str, challenge_dir: Path
) -> None:
    _, task_id = migrate(tmp_path, database_url, "--source", str(challenge_dir))
    env = hireflow_environ(tmp_path, database_url)
    printed = run_cli("rejections", str(task_id), env=env)
    assert printed.returncode == 0, printed.stderr
    from_api = client.get(f"/task-status/{task_id}/rejections?format=csv").get_data(as_text=True)
    assert printed.stdout == from_api.replace("\r\n", "\n")  # the pipe is read as text: CRLF arrives as LF
    assert len(csv_rows(printed.stdout)) == len(expected_rejections(challenge_dir))

    saved = tmp_path / "again.csv"
    assert run_cli("rejections", str(task_id), "--output", str(saved), env=env).returncode == 0
    assert saved.read_bytes().decode("utf-8") == from_api

    unknown = run_cli("rejections", "no-such-task", env=env)
    assert unknown.returncode == 1 and "no task with id" in unknown.stderr and not unknown.stdout


def test_a_rerun_is_a_second_task_that_inserts_nothing_and_rejects_the_same_rows(
    client: Any, tmp_path: Path, database_url: str, challenge_dir: Path
) -> None:
    _, first = migrate(tmp_path, database_url, "--source", str(challenge_dir))
    result, second = migrate(tmp_path, database_url, "--source", str(challenge_dir))
    assert result.returncode == 0 and second not in (None, first)
    counts = client.get(f"/task-status/{second}").get_json()["counts"]["hired_employees"]
    assert counts == {"processed": 1999, "inserted": 0, "already_exists": 1929, "rejected": 70}
    env = hireflow_environ(tmp_path, database_url)
    first_rows, second_rows = (csv_rows(run_cli("rejections", str(task), env=env).stdout) for task in (first, second))
    assert [r["line"] for r in first_rows] == [r["line"] for r in second_rows] and len(first_rows) == 70


def test_a_file_split_between_parts_is_loaded_by_the_same_command_part_after_part(
    client: Any, tmp_path: Path, database_url: str, challenge_dir: Path
) -> None:
    result, task_id = migrate(
        tmp_path, database_url, "--source", str(challenge_dir), INGEST_PARTS="3", INGEST_PART_MIN_BYTES="10000"
    )
    assert result.returncode == 0, result.stderr
    parts = client.get("/task-list?kind=ingest_part").get_json()["items"]
    assert len(parts) == 3 and {part["state"] for part in parts} == {"SUCCESS"}
    status = client.get(f"/task-status/{task_id}").get_json()
    assert status["state"] == "SUCCESS"
    assert status["counts"]["hired_employees"] == {
        "processed": 1999,
        "inserted": 1929,
        "already_exists": 0,
        "rejected": 70,
    }


def test_fail_on_rejections_makes_rejected_rows_exit_3_and_a_clean_load_exit_0(
    services: Any, tmp_path: Path, database_url: str, challenge_dir: Path
) -> None:
    rejected, _ = migrate(tmp_path, database_url, "--source", str(challenge_dir), "--fail-on-rejections")
    assert rejected.returncode == 3, rejected.stderr
    assert "70 rows rejected" in rejected.stderr
    clean = tmp_path / "clean"
    clean.mkdir()
    for table in TABLES:
        lines = (challenge_dir / f"{table}.csv").read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if all(value.strip() for value in next(csv.reader([line])))]
        (clean / f"{table}.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    passed, _ = migrate(tmp_path, database_url, "--source", str(clean), "--fail-on-rejections")
    assert passed.returncode == 0, passed.stderr


def test_a_table_the_database_refuses_fails_the_task_and_the_command(
    client: Any, tmp_path: Path, database_url: str, challenge_dir: Path
) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'no'); END"))
        else:
            conn.execute(text("ALTER TABLE jobs ADD CONSTRAINT refuse_jobs CHECK (id < 0)"))
    engine.dispose()
    result, task_id = migrate(tmp_path, database_url, "--source", str(challenge_dir))
    assert result.returncode == 1
    # The log above it (stderr) holds the database's own error; the last line says what became of the task.
    assert result.stderr.splitlines()[-1].startswith(f"hireflow: task {task_id} ended FAILURE: ")
    status = client.get(f"/task-status/{task_id}").get_json()
    assert status["state"] == "FAILURE" and status["counts"]["departments"]["inserted"] == 12


def test_migrate_from_a_folder_missing_a_file_records_no_task_and_exits_1(
    client: Any, tmp_path: Path, database_url: str
) -> None:
    folder = tmp_path / "partial"
    folder.mkdir()
    (folder / "departments.csv").write_text("1,Sales\n", encoding="utf-8")
    result, task_id = migrate(tmp_path, database_url, "--source", str(folder))
    assert result.returncode == 1 and "jobs.csv" in result.stderr and task_id is None
    assert client.get("/task-list").get_json()["total"] == 0


def test_migrate_help_names_the_exit_statuses() -> None:
    shown = run_cli("migrate", "--help").stdout
    assert "--fail-on-rejections" in shown and "exit status" in shown and " 3 " in " ".join(shown.split())
