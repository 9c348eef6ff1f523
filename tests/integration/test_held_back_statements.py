"""A batch's bookkeeping on PostgreSQL waits to travel with the next statement that has an answer
(``infra/db/held_back.py``): whatever reads next in the same unit of work sees it, and a unit of work that does
not commit keeps none of it. On SQLite the same calls run at once; both must answer alike."""

from __future__ import annotations

from typing import Any

from domain.loads import Checkpoint, RejectedRow, TableCounts
from domain.rules import Reason

JOB = "4f0c1a52-0000-4000-8000-0000000000c1"


def rejected(line: int) -> RejectedRow:
    reason = Reason("missing", "name is required and is empty", "name")
    return RejectedRow("departments", "d.csv", line, f'{line},"",\\ \t é', [reason], JOB, batch=1)


def test_what_a_unit_of_work_wrote_is_read_back_in_it_and_only_a_commit_keeps_it(services: Any) -> None:
    checkpoint = Checkpoint(2000, TableCounts(2000, 1998, 0, 2))
    with services.database() as tx:
        tx.rejections.add([rejected(3), rejected(7)])
        tx.checkpoints.save(JOB, "departments", checkpoint)
        assert tx.checkpoints.get(JOB, "departments") == checkpoint
        assert [(r["line"], r["record"]) for r in tx.rejections.page(JOB)] == [
            (3, '3,"",\\ \t é'),
            (7, '7,"",\\ \t é'),
        ]
    assert services.store.load_checkpoint(JOB, "departments") is None
    assert services.store.rejections(JOB) == []

    with services.database() as tx:
        tx.rejections.add([rejected(3)])
        tx.checkpoints.save(JOB, "departments", checkpoint)
        tx.commit()
    assert services.store.load_checkpoint(JOB, "departments") == checkpoint
    assert [r["line"] for r in services.store.rejections(JOB)] == [3]
