"""``GET /health`` is public: it says which component is down, never where it lives or what the driver said."""

from __future__ import annotations

import logging
from pathlib import Path

from api import create_app
from bootstrap import bootstrap
from core.config import load_settings
from tests.conftest import free_port, hireflow_environ
from tests.strict_json import strict_json


def test_the_public_health_answer_names_no_folder_host_or_driver_text_and_the_log_has_them(tmp_path: Path, caplog):
    port = free_port()
    environ = hireflow_environ(tmp_path, f"postgresql+psycopg://hireflow@127.0.0.1:{port}/hiring")
    services = bootstrap(load_settings(environ), create_tables=False)
    storage = tmp_path / "storage"
    storage.rmdir()
    storage.write_bytes(b"a file where the storage folder was")
    client = create_app(services).test_client()

    with caplog.at_level(logging.WARNING, logger="hireflow.api"):
        response = client.get("/health")
    services.dispose()

    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert strict_json(response.data)["components"]["database"] == {
        "status": "down",
        "detail": "the database cannot be reached",
    }
    assert strict_json(response.data)["components"]["storage"] == {
        "status": "down",
        "detail": "the storage cannot be written",
    }
    for internal in (str(tmp_path), "127.0.0.1", str(port), "psycopg", "hireflow@", "Not a directory"):
        assert internal not in body
    assert str(storage) in caplog.text and "Not a directory" in caplog.text
    assert f"port {port}" in caplog.text


def test_a_healthy_service_says_ok_and_leaves_no_probe_behind(client, services):
    response = client.get("/health")

    assert response.status_code == 200
    assert strict_json(response.data)["components"]["storage"] == {"status": "ok", "detail": None}
    assert list(Path(services.storage.root).iterdir()) == []
