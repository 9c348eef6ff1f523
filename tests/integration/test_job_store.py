from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.background_jobs import BackgroundJob, JobProgress, JobState
from tests.job_fakes import CommittedJobs

T0 = datetime(2021, 6, 1, 9, 0, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def add(jobs: CommittedJobs, job_id: str, kind: str = "ingest", created: datetime = T0) -> None:
    jobs.add(BackgroundJob(id=job_id, kind=kind, params={"sources": {"jobs": "jobs.csv"}}, created_at=created))


def test_a_job_round_trips_with_its_parameters(services):
    jobs = services.jobs
    add(jobs, "a")
    job = jobs.get("a")
    assert (job.kind, job.state, job.params) == ("ingest", JobState.PENDING, {"sources": {"jobs": "jobs.csv"}})
    assert job.progress == JobProgress() and job.created_at == T0
    assert jobs.get("missing") is None


def test_only_one_worker_claims_a_pending_job(services):
    jobs = services.jobs
    add(jobs, "a")
    assert jobs.claim("a", "w1", T0, T0 - LEASE).state == JobState.STARTED
    assert jobs.claim("a", "w2", T0 + timedelta(seconds=5), T0 + timedelta(seconds=5) - LEASE) is None
    assert jobs.claim("a", "w1", T0, T0 - LEASE) is not None


def test_a_stale_lease_is_taken_over_and_the_old_worker_learns_it_lost_it(services):
    jobs = services.jobs
    add(jobs, "a")
    jobs.claim("a", "w1", T0, T0 - LEASE)
    later = T0 + timedelta(minutes=5)
    assert jobs.stale(later - LEASE)[0].id == "a"

    taken = jobs.claim("a", "w2", later, later - LEASE)

    assert taken.worker == "w2" and taken.attempts == 2 and taken.started_at == T0
    assert jobs.report("a", "w1", later).held is False
    assert jobs.finish("a", JobState.SUCCESS, later, worker="w1") is False
    assert jobs.finish("a", JobState.SUCCESS, later, worker="w2", result={"rows": 3}) is True
    assert jobs.get("a").result == {"rows": 3}


def test_progress_is_recorded_and_moves_the_job_to_progress(services):
    jobs = services.jobs
    add(jobs, "a")
    jobs.claim("a", "w1", T0, T0 - LEASE)
    counts = {"jobs": {"processed": 1000, "inserted": 990, "already_exists": 0, "rejected": 10}}

    lease = jobs.report("a", "w1", T0 + timedelta(seconds=1), JobProgress(1000, None, 42.5, counts))

    job = jobs.get("a")
    assert lease.held and not lease.cancel_requested
    assert job.state == JobState.PROGRESS
    assert (job.progress.rows_done, job.progress.percent, job.progress.counts) == (1000, 42.5, counts)


def test_cancelling_flags_a_running_job_and_cancels_a_pending_one(services):
    jobs = services.jobs
    add(jobs, "running")
    add(jobs, "pending")
    jobs.claim("running", "w1", T0, T0 - LEASE)

    assert jobs.request_cancel("pending", T0).state == JobState.CANCELLED
    assert jobs.request_cancel("running", T0).state == JobState.STARTED
    assert jobs.report("running", "w1", T0).cancel_requested is True
    assert jobs.claim("pending", "w1", T0, T0 - LEASE) is None
    assert jobs.request_cancel("missing", T0) is None


def test_the_newest_jobs_come_first_with_filters_and_a_total(services):
    jobs = services.jobs
    for number, kind in enumerate(("ingest", "backup", "ingest", "ingest")):
        add(jobs, f"job-{number}", kind, T0 + timedelta(seconds=number))
    jobs.finish("job-3", JobState.SUCCESS, T0)

    items, total = jobs.newest(kind="ingest", limit=2)
    assert [j.id for j in items] == ["job-3", "job-2"] and total == 3
    assert [j.id for j in jobs.newest(kind="ingest", limit=2, offset=2)[0]] == ["job-0"]
    assert [j.id for j in jobs.newest(state=JobState.SUCCESS)[0]] == ["job-3"]


def test_a_stalled_running_job_is_handed_back_pending_once_with_its_progress(services):
    jobs = services.jobs
    add(jobs, "a")
    jobs.claim("a", "w1", T0, T0 - LEASE)
    jobs.report("a", "w1", T0, JobProgress(3000, None, 30.0, {}))
    later = T0 + timedelta(minutes=1)

    assert jobs.requeue("a", later, stale_before=later - LEASE, queued_before=later - LEASE) is True
    assert jobs.requeue("a", later, stale_before=later - LEASE, queued_before=later - LEASE) is False

    job = jobs.get("a")
    assert (job.state, job.worker, job.heartbeat_at) == (JobState.PENDING, None, later)
    assert job.progress.rows_done == 3000
    assert jobs.report("a", "w1", later).held is False
    assert jobs.claim("a", "w2", later, later - LEASE).attempts == 2


def test_a_live_job_is_never_handed_back(services):
    jobs = services.jobs
    add(jobs, "a")
    jobs.claim("a", "w1", T0, T0 - LEASE)
    soon = T0 + timedelta(seconds=10)

    assert jobs.stale(soon - LEASE) == []
    assert jobs.requeue("a", soon, stale_before=soon - LEASE, queued_before=soon - LEASE) is False
    assert jobs.get("a").worker == "w1"


def test_pending_jobs_count_as_unclaimed_from_when_they_were_last_queued(services):
    jobs = services.jobs
    add(jobs, "old", created=T0)
    add(jobs, "new", created=T0 + timedelta(seconds=50))
    add(jobs, "running", created=T0)
    jobs.claim("running", "w1", T0 + timedelta(seconds=55), T0)
    now = T0 + timedelta(seconds=60)
    wait = timedelta(seconds=30)

    assert [job.id for job in jobs.unclaimed(now - wait)] == ["old"]
    assert jobs.requeue("old", now, stale_before=now - LEASE, queued_before=now - wait) is True
    assert jobs.unclaimed(now - wait) == []
    assert [job.id for job in jobs.unclaimed(now + timedelta(seconds=1))] == ["old", "new"]
