from __future__ import annotations

from pathlib import Path

import pytest

from main import main


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'hireflow.db'}")
    monkeypatch.setenv("STORAGE_URL", (tmp_path / "storage").as_uri())
    return tmp_path / "storage"


def test_the_cli_backs_up_lists_and_restores(
    configured: Path, challenge_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--source", str(challenge_dir), "--no-progress"]) == 0
    assert main(["backup", "--no-progress"]) == 0
    assert len(list((configured / "backups" / "hired_employees").glob("*.avro"))) == 1
    capsys.readouterr()
    assert main(["backups", "--table", "jobs"]) == 0
    listing = capsys.readouterr().out
    assert "jobs" in listing and "183" in listing and "departments" not in listing
    assert main(["restore", "--tables", "departments", "jobs", "hired_employees", "--no-progress"]) == 0
    assert "hired_employees" in capsys.readouterr().out
    assert main(["restore", "--table", "jobs", "--no-progress"]) == 0


def test_the_cli_refuses_a_backup_id_that_escapes_the_folder(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["restore", "--table", "jobs", "--backup-id", "../../etc/passwd"]) == 1
    assert "a backup id looks like" in capsys.readouterr().err
