from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api import create_app
from bootstrap import bootstrap
from core.config import load_settings
from tests.conftest import hireflow_environ

STATIC = Path(__file__).resolve().parents[2] / "api" / "static" / "dashboard"


@pytest.fixture
def client(sqlite_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    services = bootstrap(load_settings(hireflow_environ(tmp_path, sqlite_url)))
    yield create_app(services=services).test_client()
    services.dispose()


def test_the_dashboard_page_is_served_at_the_root_with_a_strict_content_policy(client: FlaskClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert b'id="quarter-chart"' in response.data and b'id="mean-chart"' in response.data


def test_every_asset_the_page_names_is_served_by_the_app(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/dashboard/assets/[^"]+)"', page)

    assert len(assets) == 2
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()


def test_no_asset_reaches_outside_the_app() -> None:
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|fonts\.", text), path.name
