"""The real composition root, with views through which tests set up and read jobs and rows.

Each call of a view runs in a unit of work of its own that commits, as a test expects of a setup
step or a look at the database; the service itself always opens its own units of work.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bootstrap import Services
from core.unit_of_work import UnitOfWorkFactory
from domain.loads import Checkpoint
from tests.job_fakes import CommittedJobs


class StoreView:
    """What tests read of the hiring database: row counts, checkpoints and rejected rows."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def count_rows(self, table: str) -> int:
        with self._uow() as tx:
            return tx.rows.count(table)

    def load_checkpoint(self, job_id: str, key: str) -> Checkpoint | None:
        with self._uow() as tx:
            return tx.checkpoints.get(job_id, key)

    def rejections(self, job_id: str, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        with self._uow() as tx:
            return tx.rejections.page(job_id, limit, offset)


class ServicesWithViews(Services):
    @property
    def jobs(self) -> CommittedJobs:
        return CommittedJobs(self.database)

    @property
    def store(self) -> StoreView:
        return StoreView(self.database)


def with_views(services: Services) -> ServicesWithViews:
    return ServicesWithViews(**{field.name: getattr(services, field.name) for field in dataclasses.fields(services)})
