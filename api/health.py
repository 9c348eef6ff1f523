"""``GET /health``: is every backing service reachable?"""

from __future__ import annotations

from collections.abc import Callable

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint

from api.deps import services
from api.schemas import HealthSchema
from domain.errors import HireflowError

blp = Blueprint("health", __name__, description="Liveness of the service and its backing services")


def component_checks() -> dict[str, Callable[[], None]]:
    found = services()
    checks: dict[str, Callable[[], None]] = {"database": found.store.check, "storage": found.storage.check}
    broker_check = found.extras.get("broker_check")
    if callable(broker_check):
        checks["broker"] = broker_check
    return checks


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthSchema, description="Every component answers")
@blp.alt_response(503, schema=HealthSchema, description="At least one component is down")
def health() -> ResponseReturnValue:
    components = {}
    for name, check in component_checks().items():
        try:
            check()
            components[name] = {"status": "ok", "detail": None}
        except HireflowError as error:
            components[name] = {"status": "down", "detail": error.message}
        except Exception as error:  # noqa: BLE001 - a health check reports, it never raises
            components[name] = {"status": "down", "detail": type(error).__name__}
    healthy = all(c["status"] == "ok" for c in components.values())
    return jsonify({"status": "ok" if healthy else "down", "components": components}), 200 if healthy else 503
