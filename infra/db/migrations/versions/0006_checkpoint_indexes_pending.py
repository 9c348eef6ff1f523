"""``ingest_checkpoints.indexes_pending``: a bulk load records that its table's secondary indexes await a build.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_checkpoints") as batch:
        batch.add_column(sa.Column("indexes_pending", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("ingest_checkpoints") as batch:
        batch.drop_column("indexes_pending")
