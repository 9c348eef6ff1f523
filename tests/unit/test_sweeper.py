"""The worker's sweeper thread: it sweeps at once and then on its period, and an outage only costs a log line."""

from __future__ import annotations

import logging
from datetime import timedelta

from core.clock import utcnow
from core.config import load_settings
from core.jobs.submit import submit_job
from domain.commands import BackUpTables
from infra.broker.sweeper import Sweeper
from tests.job_fakes import FakeJobQueue
from tests.unit.fakes import FakeDatabase


def stalled_job(jobs: FakeDatabase, queue: FakeJobQueue) -> str:
    job = submit_job(jobs, queue, BackUpTables())
    long_ago = utcnow() - timedelta(minutes=10)
    jobs.claim(job.id, "dead-worker", long_ago, long_ago)
    queue.queued.clear()
    return job.id


def test_the_sweeper_queues_a_stalled_job_as_soon_as_it_starts_and_stops_when_asked():
    jobs, queue = FakeDatabase(), FakeJobQueue()
    job_id = stalled_job(jobs, queue)
    sweeper = Sweeper(jobs, queue, load_settings({"JOB_SWEEP_SECONDS": "30"}))

    sweeper.start()
    sweeper.stop()

    assert queue.queued == [job_id]
    assert not sweeper._thread.is_alive()


def test_a_sweep_while_the_broker_is_down_logs_one_line_and_the_next_one_queues_the_job(caplog):
    jobs, queue = FakeDatabase(), FakeJobQueue()
    job_id = stalled_job(jobs, queue)
    queue.broken = True
    sweeper = Sweeper(jobs, queue, load_settings({}))
    caplog.set_level(logging.INFO, "hireflow.worker")

    assert sweeper.sweep() == []
    assert [r.getMessage() for r in caplog.records] == [
        "the sweep of stalled tasks failed (Unavailable); trying again in 30s"
    ]
    assert not caplog.records[0].exc_info

    queue.broken = False
    jobs.jobs[job_id].heartbeat_at = utcnow() - timedelta(minutes=10)
    assert sweeper.sweep() == [job_id]
