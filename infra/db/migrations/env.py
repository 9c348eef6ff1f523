"""Alembic's entry point, run by ``infra/db/upgrade.py``: never by the ``alembic`` command, which knows no settings.

Online, it works on the connection it is handed, inside the transaction (and lock) its caller holds.
Offline (``--sql``), it prints the DDL for the dialect named in the config, for a DBA to read or run.
"""

from __future__ import annotations

from alembic import context

from infra.db.schema import metadata

config = context.config
options = {
    "target_metadata": config.attributes.get("target_metadata", metadata),
    # Autogenerate writes ALTERs as batch operations, which SQLite needs (it copies the table)
    # and which are plain ALTER TABLE statements on PostgreSQL and SQL Server.
    "render_as_batch": True,
    "compare_type": True,
}

if context.is_offline_mode():
    context.configure(
        dialect_name=config.get_main_option("dialect_name"),
        dialect_opts=config.attributes.get("dialect_opts", {}),
        literal_binds=True,
        **options,
    )
else:
    context.configure(connection=config.attributes["connection"], **options)

with context.begin_transaction():
    context.run_migrations()
