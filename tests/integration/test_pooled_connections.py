"""PostgreSQL's pooled connections: one that the server dropped while it sat in the pool is replaced before use."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from infra.db import engine as engine_module
from infra.db.engine import make_engine


def test_a_connection_the_server_dropped_while_it_sat_in_the_pool_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # every connection counts as idle long
    engine = make_engine(postgres_url, pool_size=1)
    other = make_engine(postgres_url)
    with engine.connect() as conn:
        dropped = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with other.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped}).scalar_one()

    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != dropped
    engine.dispose()
    other.dispose()
