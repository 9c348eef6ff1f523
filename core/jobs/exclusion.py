"""A restore never runs beside another job that writes one of its tables.

A restore replaces whole tables in one transaction. An ingest running beside it would lose the rows
it wrote before the replacement while its counts still said "inserted", and the rows it wrote after
would leave the table different from the backup. So a restore is refused while a job that writes one
of its tables (``ingest``, ``ingest_part``, another ``restore``) is pending or running, and an ingest,
or a batch insert, is refused while a restore of one of its tables is. Ingests of one table may run
together: their batches are safe side by side.

Submissions take turns (``admit`` first takes the job repository's turn), so two at the same instant
never both pass. A worker checks again when it starts a job, in case a job was recorded some other way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.background_jobs import RUNNING_STATES, BackgroundJob
from domain.errors import TableBusy

RESTORE = "restore"
# Rows sent to the API: not a job, but a writer all the same.
BATCH = "batch"
WRITER_KINDS = ("ingest", "ingest_part", RESTORE)

Blocks = Callable[[BackgroundJob], bool]


def tables_written(kind: str, params: dict[str, Any]) -> frozenset[str]:
    """The hiring tables a job of ``kind`` with ``params`` writes; read leniently, whatever release recorded it."""
    if kind == "ingest":
        return frozenset(params.get("sources", ()))
    if kind == "ingest_part":
        return frozenset([params["table"]])
    if kind == RESTORE:
        return frozenset(params.get("backups", ()))
    return frozenset()


def _blocks(kind: str, tables: frozenset[str], own_id: str | None = None) -> Blocks:
    def blocks(other: BackgroundJob) -> bool:
        return (
            other.id != own_id
            and RESTORE in (kind, other.kind)
            and not tables.isdisjoint(tables_written(other.kind, other.params))
        )

    return blocks


def refusal(kind: str, tables: Iterable[str], blocker: BackgroundJob) -> TableBusy:
    """The 409 that names the job in the way."""
    shared = sorted(set(tables) & tables_written(blocker.kind, blocker.params))
    names = " and ".join(shared)
    verb = "is" if len(shared) == 1 else "are"
    task = f"task {blocker.id} ({blocker.kind}, {blocker.state.value})"
    if blocker.kind == RESTORE:
        message = f"{names} {verb} being restored by {task}; try again once it has finished"
    else:
        message = f"{names} {verb} being written by {task}; a restore must wait until it has finished"
    details = {"task_id": blocker.id, "kind": blocker.kind, "state": blocker.state.value, "tables": shared}
    return TableBusy(message, details)


def admit(tx: UnitOfWork, job: BackgroundJob) -> None:
    """Record ``job`` in ``tx`` unless a job in its way is pending or running: then ``TableBusy`` names the oldest.

    The first thing ``tx`` does: it takes the submissions' turn, held until ``tx`` ends.
    """
    tx.jobs.take_turn()
    tables = tables_written(job.kind, job.params)
    blocks = _blocks(job.kind, tables, job.id)
    blocker = next((other for other in tx.jobs.unfinished() if blocks(other)), None)
    if blocker is not None:
        raise refusal(job.kind, tables, blocker)
    tx.jobs.add(job)


def check_free(uow: UnitOfWorkFactory, kind: str, tables: Iterable[str]) -> None:
    """Refuse with ``TableBusy`` early, recording nothing: before an upload is stored, or a ``BATCH`` inserted."""
    with uow() as tx:
        refuse_if_busy(tx, kind, tables)


def refuse_if_busy(tx: UnitOfWork, kind: str, tables: Iterable[str]) -> None:
    """``check_free`` in a unit of work of the caller's, before it writes anything: a ``BATCH``'s own."""
    chosen = frozenset(tables)
    blocks = _blocks(kind, chosen)
    for other in tx.jobs.unfinished(WRITER_KINDS if kind == RESTORE else (RESTORE,)):
        if blocks(other):
            raise refusal(kind, chosen, other)


def check_alone(uow: UnitOfWorkFactory, job_id: str, kind: str, params: dict[str, Any]) -> None:
    """For a worker starting a job: ``TableBusy`` (the job fails) if a job in its way was recorded before
    it and is unfinished, or is already running. A job in its way recorded after it and still pending
    will fail this check in turn, so only one of them runs."""
    tables = tables_written(kind, params)
    blocks = _blocks(kind, tables, job_id)
    with uow() as tx:
        unfinished = tx.jobs.unfinished(WRITER_KINDS)
    after_this_one = False
    for other in unfinished:
        if other.id == job_id:
            after_this_one = True
        elif blocks(other) and (not after_this_one or other.state in RUNNING_STATES):
            raise refusal(kind, tables, other)
