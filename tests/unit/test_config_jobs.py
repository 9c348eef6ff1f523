"""The job settings: how often workers sweep for stalled tasks, and the limits that keep Redis from doubling tasks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.config import load_settings
from domain.errors import ConfigurationError
from tests.conftest import ROOT

REDIS = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}


def test_workers_sweep_once_a_lease_and_send_a_lost_pending_task_again_after_a_minute_by_default():
    settings = load_settings({})

    assert settings.job_lease_seconds == 30
    assert settings.job_sweep_seconds == 30
    assert settings.job_pending_requeue_seconds == 60
    assert settings.broker_visibility_timeout == 3600


def test_the_sweep_follows_a_shorter_lease_unless_it_is_set():
    assert load_settings({"JOB_LEASE_SECONDS": "5"}).job_sweep_seconds == 5
    assert load_settings({"JOB_LEASE_SECONDS": "5", "JOB_SWEEP_SECONDS": "2"}).job_sweep_seconds == 2


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JOB_SWEEP_SECONDS": "0"}, "JOB_SWEEP_SECONDS must be a whole number of at least 1, got '0'"),
        ({"JOB_SWEEP_SECONDS": "often"}, "JOB_SWEEP_SECONDS must be a whole number"),
        ({"JOB_SWEEP_SECONDS": "60"}, r"JOB_SWEEP_SECONDS \(60\) must not exceed JOB_LEASE_SECONDS \(30\)"),
        ({"JOB_PENDING_REQUEUE_SECONDS": "-1"}, "JOB_PENDING_REQUEUE_SECONDS must be a whole number"),
        ({**REDIS, "CELERY_VISIBILITY_TIMEOUT": "30"}, r"CELERY_VISIBILITY_TIMEOUT \(30\) must be at least twice"),
        ({**REDIS, "JOB_LEASE_SECONDS": "2000"}, r"CELERY_VISIBILITY_TIMEOUT \(3600\) must be at least twice"),
    ],
)
def test_a_job_setting_that_could_stall_or_double_tasks_is_refused(env, message):
    with pytest.raises(ConfigurationError, match=message):
        load_settings(env)


def test_the_visibility_timeout_binds_only_a_redis_broker():
    assert load_settings({"CELERY_VISIBILITY_TIMEOUT": "30"}).broker_visibility_timeout == 30
    assert load_settings({**REDIS, "CELERY_VISIBILITY_TIMEOUT": "60"}).broker_visibility_timeout == 60


def test_the_worker_refuses_to_start_with_one_line_when_a_retry_could_outlive_the_visibility_timeout(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "BROKER_DIR": str(tmp_path), **REDIS, "CELERY_VISIBILITY_TIMEOUT": "30"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "worker"], env=env, cwd=tmp_path, capture_output=True, text=True
    )

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "hireflow: configuration error: CELERY_VISIBILITY_TIMEOUT (30) must be at least twice JOB_LEASE_SECONDS (30): "
        "a worker holds a task's message for up to a lease while the database is down, and Redis must not hand it "
        "out again meanwhile"
    ]
