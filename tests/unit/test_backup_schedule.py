"""The backup schedule is built from settings: off by default, a crontab in UTC when set, refused when malformed."""

from __future__ import annotations

from pathlib import Path

import pytest
from celery.schedules import crontab

from cli.serve import child_commands
from core.config import Settings, load_settings
from domain.errors import ConfigurationError
from infra.broker.celery_app import (
    SCHEDULED_BACKUP,
    SCHEDULED_BACKUP_TASK,
    beat_schedule,
    make_celery,
)


def settings_with(tmp_path: Path, **environ: str) -> Settings:
    return load_settings({"BROKER_DIR": str(tmp_path / "broker"), **environ})


def test_no_backup_is_scheduled_by_default(tmp_path: Path) -> None:
    settings = settings_with(tmp_path)
    assert settings.backup_schedule is None and settings.backup_retention == 7
    assert list(beat_schedule(settings)) == []
    assert list(make_celery(settings).conf.beat_schedule) == []


@pytest.mark.parametrize("off", ["", "  ", "off", "OFF", "none"])
def test_an_empty_or_off_schedule_schedules_nothing(tmp_path: Path, off: str) -> None:
    assert list(beat_schedule(settings_with(tmp_path, BACKUP_SCHEDULE=off))) == []


def test_a_crontab_schedule_sends_the_scheduled_backup_at_those_times_in_utc(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, BACKUP_SCHEDULE=" 0  3 * * * ", BACKUP_RETENTION="3")
    app = make_celery(settings)

    entry = app.conf.beat_schedule[SCHEDULED_BACKUP]

    assert settings.backup_schedule == "0 3 * * *" and settings.backup_retention == 3
    assert entry["task"] == SCHEDULED_BACKUP_TASK
    assert entry["schedule"] == crontab(minute="0", hour="3")
    assert entry["options"]["expires"] > 0
    assert app.conf.timezone == "UTC"


def test_every_crontab_field_is_passed_on_in_order(tmp_path: Path) -> None:
    entry = beat_schedule(settings_with(tmp_path, BACKUP_SCHEDULE="*/15 1-5 1,15 */2 1-5"))[SCHEDULED_BACKUP]
    assert entry["schedule"] == crontab(
        minute="*/15", hour="1-5", day_of_month="1,15", month_of_year="*/2", day_of_week="1-5"
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0 3 * *", "4 fields, not 5"),
        ("0 3 * * * *", "6 fields, not 5"),
        ("60 3 * * *", "minute field '60' must stay within 0 to 59"),
        ("0 24 * * *", "hour field '24' must stay within 0 to 23"),
        ("0 3 0 * *", "day of month field '0' must stay within 1 to 31"),
        ("0 3 * 13 *", "month field '13'"),
        ("0 3 * * 7", "day of week (0 is Sunday) field '7'"),
        ("5-1 * * * *", "runs backwards"),
        ("*/0 * * * *", "step of 0"),
        ("daily", "1 fields, not 5"),
        ("3600", "1 fields, not 5"),
        ("0 3 * * mon", "is not *, a number"),
    ],
)
def test_a_malformed_schedule_is_refused_at_start_with_one_line_naming_it(
    tmp_path: Path, value: str, reason: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        settings_with(tmp_path, BACKUP_SCHEDULE=value)
    message = refused.value.message
    assert message.startswith("BACKUP_SCHEDULE must be a crontab line in UTC") and "\n" not in message
    assert reason in message


@pytest.mark.parametrize("value", ["0", "-1", "seven", "2.5"])
def test_a_retention_that_is_not_a_whole_number_of_at_least_one_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigurationError, match="BACKUP_RETENTION must be a whole number of at least 1"):
        settings_with(tmp_path, BACKUP_RETENTION=value)


def test_run_starts_beat_only_when_backups_are_scheduled(tmp_path: Path) -> None:
    assert child_commands(settings_with(tmp_path)) == ["serve", "worker"]
    assert child_commands(settings_with(tmp_path, BACKUP_SCHEDULE="0 3 * * *")) == ["serve", "worker", "beat"]
