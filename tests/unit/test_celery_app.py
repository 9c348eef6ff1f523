"""The Celery app: one task per kind of job under its own name, the old name kept, and a result backend
beside the broker for the workers alone."""

from __future__ import annotations

import ssl

from core.config import load_settings
from domain.commands import JOB_KINDS
from infra.broker.celery_app import RUN_JOB_TASK, job_task_name, make_celery
from infra.broker.tasks import register_tasks

REDIS = "redis://127.0.0.1:6379/0"


def test_each_kind_of_job_is_sent_under_a_task_name_that_says_it():
    assert {kind: job_task_name(kind) for kind in JOB_KINDS} == {
        "ingest": "hireflow.ingest",
        "backup": "hireflow.backup",
        "restore": "hireflow.restore",
        "ingest_part": "hireflow.ingest_part",
    }
    assert job_task_name(None) == RUN_JOB_TASK == "hireflow.run_job"


def test_a_worker_runs_every_kind_name_and_the_old_name_and_never_retries_through_celery(tmp_path):
    app = make_celery(load_settings({"BROKER_DIR": str(tmp_path)}), results=True)
    register_tasks(app, lambda: None)  # type: ignore[arg-type, return-value]

    names = {*map(job_task_name, JOB_KINDS), RUN_JOB_TASK}
    assert names <= set(app.tasks)
    for name in names:
        task = app.tasks[name]
        assert (task.acks_late, task.acks_on_failure, task.ignore_result, task.max_retries) == (True, True, False, 0)


def test_on_redis_the_workers_record_task_states_in_the_same_redis_under_the_key_prefix():
    settings = load_settings({"CELERY_BROKER_URL": REDIS, "CELERY_KEY_PREFIX": "blue:"})
    conf = make_celery(settings, results=True).conf

    assert conf.result_backend == REDIS and conf.result_extended
    assert conf.result_backend_transport_options["global_keyprefix"] == "blue:"


def test_a_process_that_only_queues_tasks_has_no_result_backend(tmp_path):
    assert make_celery(load_settings({"CELERY_BROKER_URL": REDIS})).conf.result_backend is None


def test_on_the_embedded_default_task_states_are_files_under_the_broker_folder(tmp_path):
    conf = make_celery(load_settings({"BROKER_DIR": str(tmp_path)}), results=True).conf

    assert conf.result_backend == (tmp_path / "results").as_uri()
    assert (tmp_path / "results").is_dir()


def test_a_tls_redis_result_backend_checks_the_server_certificate():
    conf = make_celery(load_settings({"CELERY_BROKER_URL": "rediss://:pw@cache.example:6380/0"}), results=True).conf

    assert conf.redis_backend_use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}


def test_worker_events_follow_the_setting(tmp_path):
    assert make_celery(
        load_settings({"BROKER_DIR": str(tmp_path), "WORKER_EVENTS": "true"})
    ).conf.worker_send_task_events
    assert not make_celery(load_settings({"BROKER_DIR": str(tmp_path)})).conf.worker_send_task_events
