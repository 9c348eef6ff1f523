"""How a worker (a Celery worker, or ``main.py migrate`` running a job in its own process) tells failures apart and
names itself; nothing here needs the broker, so the command line loads none of Celery to run a job."""

from __future__ import annotations

import os
import socket

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError

from domain.errors import Unavailable

# Failures that a later attempt of the same job can get past: the database away, or lost mid-way.
TRANSIENT = (Unavailable, OperationalError, InterfaceError)


def explain_failure(error: Exception) -> str | None:
    """What a reader of ``/task-status`` may know of a database error: what happened, not its text."""
    if isinstance(error, IntegrityError):
        return "the database refused a write that broke one of its rules (a duplicate key or a missing reference)"
    if isinstance(error, DataError):
        return "the database refused a value it cannot store"
    if isinstance(error, DBAPIError):
        return "the database failed while running the task"
    return None


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
