"""Queue a backup or a restore as a background job, refusing at once what cannot run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.backup.catalogue import chosen_tables, find_backup
from core.clock import Clock, utcnow
from core.jobs.ports import JobQueue
from core.jobs.submit import submit_job
from core.storage import BlobStorage
from core.unit_of_work import UnitOfWorkFactory
from domain.background_jobs import BackgroundJob
from domain.commands import BackUpTables, RestoreTables
from domain.errors import InvalidRequest


def submit_backup(
    uow: UnitOfWorkFactory,
    queue: JobQueue,
    tables: Iterable[str] | None = None,
    *,
    keep: int | None = None,
    now: Clock = utcnow,
) -> BackgroundJob:
    """Queue a backup of the chosen tables (default: all); with ``keep``, older backups beyond it are pruned after."""
    chosen = tuple(chosen_tables(tables))
    if keep is not None and (type(keep) is not int or keep < 1):
        raise InvalidRequest("keep must be a whole number of at least 1", {"keep": keep})
    return submit_job(uow, queue, BackUpTables(chosen, keep), now=now)


def submit_scheduled_backup(uow: UnitOfWorkFactory, queue: JobQueue, keep: int, now: Clock = utcnow) -> BackgroundJob:
    """What the schedule runs: back up every table, then keep only the newest ``keep`` backups of each."""
    return submit_backup(uow, queue, keep=keep, now=now)


def submit_restore(
    uow: UnitOfWorkFactory,
    queue: JobQueue,
    storage: BlobStorage,
    backups: Mapping[str, str | None] | Iterable[str],
    *,
    now: Clock = utcnow,
) -> BackgroundJob:
    """Queue the restore of ``{table: backup id or None for its newest}``, or of a list of tables, each newest.

    Refused at once, before anything is queued, if a table is unknown, a backup id is malformed
    or names no backup: the job records the ids it will restore, resolved now. Refused with
    ``TableBusy`` while another job that writes one of the tables is pending or running.
    """
    chosen = dict(backups) if isinstance(backups, Mapping) else dict.fromkeys(backups)
    resolved = tuple((table, find_backup(storage, table, chosen[table]).id) for table in chosen_tables(chosen))
    return submit_job(uow, queue, RestoreTables(resolved), now=now)
