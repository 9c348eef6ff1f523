"""A web process freezes the heap it holds once its app is built, so the garbage collector's full collections,
set off by the allocations of large requests, no longer walk it (cli/serve.py, ``freeze_heap``)."""

from __future__ import annotations

import gc
from pathlib import Path

from core.config import load_settings
from tests.conftest import hireflow_environ


def test_loading_the_web_app_leaves_what_it_built_out_of_the_collections(tmp_path: Path) -> None:
    from bootstrap import bootstrap
    from cli.serve import WebServer

    settings = load_settings(hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}"))
    bootstrap(settings).dispose()  # the schema, as ``serve`` makes it before gunicorn forks
    gc.unfreeze()
    try:
        app = WebServer(settings).load()
        assert gc.get_freeze_count() > 0
        # Tracked, but in the permanent generation, which no collection walks (nor lists).
        assert gc.is_tracked(app)
        assert not any(obj is app for obj in gc.get_objects())
    finally:
        gc.unfreeze()
