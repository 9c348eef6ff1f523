from __future__ import annotations

from types import SimpleNamespace

from core.config import load_settings
from infra.broker.celery_app import RECOVER_JOBS_TASK, make_celery
from infra.broker.tasks import register_tasks
from tests.job_fakes import FakeJobQueue, FakeJobStore


def test_beat_queues_the_recovery_of_stalled_tasks_every_few_leases(tmp_path):
    settings = load_settings({"BROKER_DIR": str(tmp_path / "broker"), "JOB_LEASE_SECONDS": "30"})
    app = make_celery(settings)
    found = SimpleNamespace(jobs=FakeJobStore(), queue=FakeJobQueue(), settings=settings)
    register_tasks(app, lambda: found)

    entry = app.conf.beat_schedule["recover-stalled-jobs"]

    assert entry == {"task": RECOVER_JOBS_TASK, "schedule": 120}
    assert app.tasks[RECOVER_JOBS_TASK]() == []
