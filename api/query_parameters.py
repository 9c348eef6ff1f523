"""Query parameters: a request may carry only those its operation documents, and any other one is a 400 naming it.

The accepted names are read from the OpenAPI spec the app generates (``@blp.arguments(..., location="query")``
and ``blp.doc(parameters=...)``), so documenting a parameter is all it takes to accept it. Routes outside the
spec (``/docs``, ``/openapi.json``, the dashboard and the static files) accept what ``UNDOCUMENTED_ROUTES``
lists, which is nothing unless a page needs it.

The check runs after the access policy (``api/auth.py``): a request without a valid token gets its 401, or
its 403, whatever its query string holds, as it does for every other fault a request can have.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from flask_smorest import Api
from flask_smorest.spec.plugins import FlaskPlugin

from domain.errors import InvalidRequest

# The dashboard keeps the year it shows in its own address (``/?year=2021``), so that a reload shows it again.
UNDOCUMENTED_ROUTES: dict[str, tuple[str, ...]] = {"/": ("year",)}
OPERATION_KEYS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# The names are the client's own text: echo a bounded amount of it.
SHOWN_NAMES = 20
SHOWN_CHARACTERS = 100

Operations = dict[tuple[str, str], tuple[str, ...]]


class UnknownParameter(InvalidRequest):
    code = "unknown_parameter"


def documented_query_parameters(spec: Mapping[str, Any]) -> Operations:
    """``(OpenAPI path, METHOD)`` -> the query parameters that operation documents, in the spec's order."""
    components = spec.get("components", {}).get("parameters", {})
    found: Operations = {}
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method not in OPERATION_KEYS:
                continue
            parameters = [_resolved(p, components) for p in (*shared, *operation.get("parameters", []))]
            names = (p["name"] for p in parameters if p.get("in") == "query")
            found[(path, method.upper())] = tuple(dict.fromkeys(names))
    return found


def _resolved(parameter: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    reference = parameter.get("$ref", "")
    return components.get(reference.rpartition("/")[2], {}) if reference else parameter


def accepted_names(documented: Operations, route: str, method: str) -> tuple[str, ...]:
    """What a request for this Flask route template and method may carry; HEAD takes what GET documents."""
    method = "GET" if method == "HEAD" else method
    path = FlaskPlugin.flaskpath2openapi(route)
    return documented.get((path, method), UNDOCUMENTED_ROUTES.get(route, ()))


def unknown_parameter(unknown: list[str], accepted: tuple[str, ...]) -> UnknownParameter:
    shown = [name[:SHOWN_CHARACTERS] for name in unknown[:SHOWN_NAMES]]
    listed = ", ".join(repr(name) for name in shown) + (", ..." if len(unknown) > SHOWN_NAMES else "")
    what = "unknown query parameter" if len(unknown) == 1 else "unknown query parameters"
    allowed = f"this operation accepts {', '.join(accepted)}" if accepted else "this operation takes none"
    return UnknownParameter(f"{what} {listed}; {allowed}", {"unknown": shown, "accepted": list(accepted)})


def init_query_parameters(app: Flask, api: Api) -> None:
    """Refuse unknown query parameters on every route. Call it once every blueprint is registered."""
    documented = documented_query_parameters(api.spec.to_dict())

    @app.before_request
    def refuse_unknown_query_parameters() -> None:
        rule = request.url_rule
        if rule is None or not request.args:
            return
        if request.method == "OPTIONS" and rule.provide_automatic_options:
            return  # a CORS preflight carries the query string of the request it asks about
        accepted = accepted_names(documented, rule.rule, request.method)
        unknown = [name for name in request.args if name not in accepted]
        if unknown:
            raise unknown_parameter(unknown, accepted)
