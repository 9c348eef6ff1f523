"""The HTTP entry point: ``create_app()`` builds the Flask app around the composition root."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from api import auth, limits
from api.errors import register_error_handlers
from api.headers import init_headers
from api.parsing import MAX_DEPTH, MAX_NUMBER_CHARS, init_parsing
from api.schemas import RESTORE_REQUEST_CONSTRAINTS, ErrorSchema, IngestResultSchema, RestoreRequestSchema
from bootstrap import Services, bootstrap

API_DESCRIPTION = """\
Migrate hiring data (departments, jobs, hired employees) from CSV files in blob storage into SQL,
insert new rows in validated batches of 1 to 1000, back every table up to Avro and restore it,
and report on hiring. Every error answers with `{"error": {"code", "message", "details"}}`.

Sign in with `POST /auth/token` and send `Authorization: Bearer <access_token>`. The `reader` role may read
reports, tasks and the backup list; everything else needs `admin`. `/health`, `/docs` and `/openapi.json`
are public.

Each operation takes only the query parameters it lists: any other one is a 400 `unknown_parameter` that
names it, sent before the operation does anything (after the 401 or 403 of a request without the right token).
""" + (
    "\nJSON bodies must be strict JSON (I-JSON, RFC 7493): UTF-8, no key twice in one object, no `NaN` or "
    f"`Infinity`, no lone surrogate escapes, numbers of at most {MAX_NUMBER_CHARS} characters, at most {MAX_DEPTH} "
    "levels deep. Anything else is a 400 that says what is wrong.\n"
)


class HireflowApi(Api):
    ERROR_SCHEMA = ErrorSchema


def create_app(services: Services | None = None, config: dict[str, Any] | None = None) -> Flask:
    """Build the app. Tests pass their own ``services``; production builds them from the environment."""
    app = Flask(__name__, static_folder=None)
    app.config.update(
        API_TITLE="hireflow",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        API_SPEC_OPTIONS={"info": {"description": API_DESCRIPTION}},
        JSON_SORT_KEYS=False,
    )
    if config:
        app.config.update(config)
    services = services or bootstrap()
    app.extensions["hireflow"] = services

    api = HireflowApi(app, spec_kwargs={"extra_plugins": [auth.AccessDocPlugin()]})
    init_parsing(app, api)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    init_headers(app)
    register_error_handlers(app, api)
    api.spec.components.schema("RestoreRequest", RESTORE_REQUEST_CONSTRAINTS, schema=RestoreRequestSchema)
    api.spec.components.schema("IngestResult", schema=IngestResultSchema)
    auth.init_auth(app, api, services.settings)
    limits.init_limits(app, services.settings)

    from api import backups, batches, dashboard, docs, health, reports, rows, tasks, uploads

    docs.register(app)
    app.register_blueprint(dashboard.blp)
    for blueprint in (health.blp, auth.blp, batches.blp, rows.blp, uploads.blp, tasks.blp, backups.blp, reports.blp):
        api.register_blueprint(blueprint)
    from api.query_parameters import init_query_parameters

    init_query_parameters(app, api)
    return app
