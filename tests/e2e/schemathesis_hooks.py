"""Hooks for the contract fuzzing run (tests/e2e/schemathesis.toml)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import schemathesis

# gunicorn refuses a request line over 4094 bytes with its own HTML 414 before the app sees the request;
# that answer is the server's, not the API's, so the fuzzer keeps its query strings well under it.
MAX_QUERY_BYTES = 2048


@schemathesis.hook
def filter_query(_ctx: Any, query: dict[str, Any] | None) -> bool:
    return query is None or len(urlencode(query, doseq=True)) <= MAX_QUERY_BYTES
