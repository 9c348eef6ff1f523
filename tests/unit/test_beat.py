from __future__ import annotations

from core.config import load_settings
from infra.broker.celery_app import make_celery


def test_beat_sends_nothing_but_backups_since_every_worker_sweeps_for_stalled_tasks(tmp_path):
    settings = load_settings({"BROKER_DIR": str(tmp_path / "broker"), "JOB_LEASE_SECONDS": "30"})

    assert make_celery(settings).conf.beat_schedule == {}
