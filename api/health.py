"""``GET /health``: is every backing service reachable?"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import jsonify
from flask.typing import ResponseReturnValue

from api.deps import services
from api.parsing import Blueprint
from api.schemas import HealthSchema
from domain.errors import HireflowError

log = logging.getLogger("hireflow.api")

blp = Blueprint("health", __name__, description="Liveness of the service and its backing services")


def component_checks() -> dict[str, Callable[[], None]]:
    found = services()
    return {"database": found.database.check, "storage": found.storage.check, "broker": found.queue.check}


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthSchema, description="Every component answers")
@blp.alt_response(503, schema=HealthSchema, description="At least one component is down")
def health() -> ResponseReturnValue:
    """State of the database, the broker and the storage (which must take a small write); 503 when one is down."""
    components = {name: _component(name, check) for name, check in component_checks().items()}
    healthy = all(c["status"] == "ok" for c in components.values())
    return jsonify({"status": "ok" if healthy else "down", "components": components}), 200 if healthy else 503


def _component(name: str, check: Callable[[], None]) -> dict[str, str | None]:
    try:
        check()
    except HireflowError as error:
        # Our messages are written for the public; their details (hosts, folders, driver text) are for the log.
        log.warning("health: %s is down: %s %s", name, error.message, error.details or "")
        return {"status": "down", "detail": error.message}
    except Exception:  # noqa: BLE001 - a health check reports, it never raises
        log.exception("health: the %s check failed", name)
        return {"status": "down", "detail": f"the {name} check failed; the server log has the reason"}
    return {"status": "ok", "detail": None}
