"""The broker port on real brokers: Redis, and the embedded folder. It says how many messages wait for a worker."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import load_settings
from domain.errors import Unavailable
from infra.broker.celery_app import CeleryJobQueue, make_celery
from infra.broker.redis_transport import TRANSPORT
from tests.conftest import free_port


@pytest.fixture(params=["redis", "embedded"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CeleryJobQueue]:
    environ = {"BROKER_DIR": str(tmp_path / "broker")}
    if request.param == "redis":
        environ |= {
            "CELERY_BROKER_URL": request.getfixturevalue("redis_url"),
            "CELERY_KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}:",
        }
    found = CeleryJobQueue(make_celery(load_settings(environ)))
    yield found
    found.close()


def test_the_queue_counts_the_messages_waiting_for_a_worker(queue):
    assert queue.waiting() == 0

    queue.enqueue(str(uuid.uuid4()))
    queue.enqueue(str(uuid.uuid4()))

    assert queue.waiting() == 2


def test_a_redis_that_is_down_is_reported_unavailable_rather_than_waited_for(tmp_path):
    settings = load_settings({"CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"})
    queue = CeleryJobQueue(make_celery(settings))

    with pytest.raises(Unavailable, match="broker cannot be reached"):
        queue.waiting()
    with pytest.raises(Unavailable, match="the task was not queued"):
        queue.enqueue(str(uuid.uuid4()))
    queue.close()


@pytest.mark.parametrize(
    ("url", "use_ssl"),
    [
        ("redis://cache:6379/0", False),
        ("rediss://:key@cache:6380/0", {"ssl_cert_reqs": ssl.CERT_REQUIRED}),
        ("rediss://:key@cache:6380/0?ssl_cert_reqs=required", False),
    ],
)
def test_redis_brokers_use_the_fixed_transport_and_tls_verifies_certificates(url, use_ssl):
    app = make_celery(load_settings({"CELERY_BROKER_URL": url}))
    connection = app.connection_for_write()

    assert app.conf.broker_transport == TRANSPORT and connection.transport_cls == TRANSPORT
    assert app.conf.broker_use_ssl == use_ssl
    tls = url.startswith("rediss")
    assert connection.ssl == ({"ssl_cert_reqs": ssl.CERT_REQUIRED} if tls else False)
    assert (connection.hostname, connection.port) == ("cache", 6380 if tls else 6379)


def test_the_embedded_broker_keeps_kombus_filesystem_transport(tmp_path):
    app = make_celery(load_settings({"BROKER_DIR": str(tmp_path / "broker")}))

    assert app.conf.broker_transport is None and app.connection_for_write().transport_cls == "filesystem"
