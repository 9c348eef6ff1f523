"""The sweep: our job table, not the broker, decides what runs again."""

from __future__ import annotations

from datetime import timedelta

from core.clock import Clock, utcnow
from core.jobs.ports import JobQueue
from core.unit_of_work import UnitOfWorkFactory


def sweep_jobs(
    uow: UnitOfWorkFactory, queue: JobQueue, *, lease_seconds: int, pending_seconds: int, now: Clock = utcnow
) -> list[str]:
    """Queue again each job that would otherwise wait forever, and return their ids:

    - a running job whose worker has not reported for a lease: the worker died, or it lost the
      database for longer than a lease;
    - a pending job that no worker claimed for ``pending_seconds`` while no message waits in the
      broker's queue: its message was lost (a broker that restarted empty, a deleted message).

    The job's row changes first, in one conditional update, so of several workers sweeping at once
    only one queues it, and a job gets at most one new message per lease (pending: per
    ``pending_seconds``). While the database or the broker is down this raises; nothing is lost,
    and the next sweep tries again.
    """
    moment = now()
    stale_before = moment - timedelta(seconds=lease_seconds)
    queued_before = moment - timedelta(seconds=pending_seconds)
    with uow() as tx:
        candidates = tx.jobs.stale(stale_before)
        unclaimed = tx.jobs.unclaimed(queued_before)
    if unclaimed and queue.waiting() == 0:
        candidates += unclaimed
    requeued = []
    for job in candidates:
        with uow() as tx:
            handed_back = tx.jobs.requeue(job.id, moment, stale_before=stale_before, queued_before=queued_before)
            tx.commit()
        if handed_back:
            queue.enqueue(job.id, job.kind)
            requeued.append(job.id)
    return requeued
