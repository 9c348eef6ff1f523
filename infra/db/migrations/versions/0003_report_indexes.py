"""Covering indexes for the two reports (750ef01).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_hired_employees_department_job_datetime": ["department_id", "job_id", "datetime"],
    "ix_hired_employees_department_datetime": ["department_id", "datetime"],
}


def upgrade() -> None:
    # Until this revision the README told users of an older database to add these by hand.
    present = set() if context.is_offline_mode() else _index_names("hired_employees")
    for name, columns in INDEXES.items():
        if name not in present:
            op.create_index(name, "hired_employees", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="hired_employees")


def _index_names(table: str) -> set[str]:
    return {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table) if index["name"]}
