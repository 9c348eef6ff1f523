"""The hiring tables, the rejection log, the ingest checkpoints and the old version marker (b50165d).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("department", sa.Unicode(100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("job", sa.Unicode(100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "hired_employees",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Unicode(100), nullable=False),
        sa.Column("datetime", sa.DateTime(timezone=False), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hired_employees_datetime", "hired_employees", ["datetime"])
    op.create_table(
        "rejected_rows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(36), nullable=True),
        sa.Column("batch", sa.Integer(), nullable=True),
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("source", sa.Unicode(400), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("raw_record", sa.UnicodeText(), nullable=False),
        sa.Column("reasons", sa.UnicodeText(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rejected_rows_job_id", "rejected_rows", ["job_id", "id"])
    op.create_table(
        "ingest_checkpoints",
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("processed", sa.BigInteger(), nullable=False),
        sa.Column("inserted", sa.BigInteger(), nullable=False),
        sa.Column("already_exists", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "table_name"),
    )
    op.create_table(
        "hireflow_schema",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.execute(sa.table("hireflow_schema", sa.column("version", sa.Integer())).insert().values(version=1))


def downgrade() -> None:
    for table in ("hireflow_schema", "ingest_checkpoints", "rejected_rows", "hired_employees", "jobs", "departments"):
        op.drop_table(table)
