"""Drop ``hireflow_schema``: ``alembic_version`` now records the schema's version.

Its one row said 1 for every shape the schema had before Alembic, and nothing read it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("hireflow_schema")


def downgrade() -> None:
    op.create_table(
        "hireflow_schema",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.execute(sa.table("hireflow_schema", sa.column("version", sa.Integer())).insert().values(version=1))
