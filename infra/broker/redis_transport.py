"""kombu's Redis transport with one fix, so that a worker survives Redis going away.

When Redis stops while the worker waits on a BRPOP (it does whenever a pool process is free),
Celery collects the broken connection: closing the consuming channel first reads the pending
BRPOP reply, which raises, so the channel stays open; then the connection drops its transport's
``client``. Celery then closes the connection once more, the channel's close goes on to push its
unacknowledged messages back, needs a new Redis pool, and kombu reads ``client.hostname`` from
``None``. That ``AttributeError`` is not a connection error, so Celery stops the worker for good
("Unrecoverable error"). The same happens when a task that outlived the connection is acknowledged.

Here such a channel raises Redis' own ``ConnectionError`` instead, which Celery and kombu already
handle everywhere: the close completes, the acknowledgement is logged as not delivered, and the
worker reconnects. A message that could not be pushed back or acknowledged stays in Redis' unacked
set until the visibility timeout (or is gone with a Redis that lost its data); either way the job
it carries is finished or re-queued from our own job table.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

# The import path Celery's ``broker_transport`` setting takes.
TRANSPORT = f"{__name__}:Transport"


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport is None or transport.client is None:
            raise RedisConnectionError("the broker connection this channel belonged to is closed")
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)  # type: ignore[no-untyped-call]
        return params


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    Channel = Channel
