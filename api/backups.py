"""Back up tables to Avro and restore them: ``POST /backup``, ``GET /backups``, ``POST /restore``."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from api.deps import services
from api.parsing import Blueprint
from api.schemas import (
    BackupListQuerySchema,
    BackupRequestSchema,
    BackupSchema,
    ErrorSchema,
    RestoreRequestSchema,
    TaskCreatedSchema,
)
from api.uploads import has_body, task_created
from core.backup.catalogue import list_backups
from core.backup.submit import submit_backup, submit_restore
from domain.errors import UnsupportedContentType

blp = Blueprint("backups", __name__, description="Avro backups of each table, and restores that check every file first")

JSON = "application/json"
BAD_REQUEST = "The body is not JSON, has the wrong shape, or a backup id is malformed"


@blp.before_request
def _json_bodies_only() -> None:
    if request.method == "POST" and has_body() and not request.is_json:
        raise UnsupportedContentType(
            f"Content-Type {request.mimetype or '(none)'} is not accepted; send {JSON}", {"accepted": [JSON]}
        )


@blp.route("/backup", methods=["POST"])
@blp.arguments(BackupRequestSchema, location="json", required=False, error_status_code=400)
@blp.response(202, TaskCreatedSchema, description="Queued; poll the Location header")
@blp.alt_response(400, schema=ErrorSchema, description=BAD_REQUEST)
@blp.alt_response(404, schema=ErrorSchema, description="An unknown table")
@blp.alt_response(415, schema=ErrorSchema, description="A body that is not application/json")
@blp.alt_response(503, schema=ErrorSchema, description="The database or the broker is down")
def backup(body: dict[str, Any]) -> Response:
    """Back up tables, each to its own Avro file under `backups/<table>/<id>.avro` in the storage.

    With no body, or `{}`, all three tables are backed up. Answers 202 at once; the task's
    result lists each backup made with its id and row count.
    """
    found = services()
    return task_created(submit_backup(found.database, found.queue, body.get("tables")))


@blp.route("/backups", methods=["GET"])
@blp.arguments(BackupListQuerySchema, location="query", as_kwargs=True, error_status_code=400)
@blp.response(200, BackupSchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="An unknown table")
def backups(table: str | None = None) -> list[dict[str, Any]]:
    """Every complete backup, newest first; `?table=` shows one table's."""
    return [info.as_dict() for info in list_backups(services().storage, table)]


@blp.route("/restore", methods=["POST"])
@blp.arguments(
    RestoreRequestSchema,
    location="json",
    error_status_code=400,
    examples={
        "one table, newest backup": {"value": {"table": "jobs"}},
        "one table, chosen backup": {"value": {"table": "jobs", "backup_id": "20261122T031500123456Z"}},
        "several tables, each newest": {"value": {"tables": ["departments", "jobs", "hired_employees"]}},
        "several tables, chosen backups": {
            "value": {"tables": {"departments": "20261122T031500123456Z", "jobs": "20261122T031500234567Z"}}
        },
    },
)
@blp.response(202, TaskCreatedSchema, description="Queued; poll the Location header")
@blp.alt_response(400, schema=ErrorSchema, description=BAD_REQUEST)
@blp.alt_response(404, schema=ErrorSchema, description="An unknown table, or no such backup")
@blp.alt_response(
    409, schema=ErrorSchema, description="Another task that writes one of the tables is pending or running"
)
@blp.alt_response(415, schema=ErrorSchema, description="A body that is not application/json")
@blp.alt_response(422, schema=ErrorSchema, description="A backup's manifest is unreadable")
@blp.alt_response(503, schema=ErrorSchema, description="The database or the broker is down")
def restore(body: dict[str, Any]) -> Response:
    """Replace tables' contents with backups, in one transaction.

    The backups are chosen now (unknown ones are refused at once) and recorded in the task. The worker
    then checks each file completely (checksum, schema, row count, every row against the insert rules,
    references between tables) before it touches a row; a task that fails leaves every table as it was.
    Restoring `departments` or `jobs` that would orphan employees is refused unless `hired_employees`
    is restored in the same task. While another task that writes one of the tables (an ingest, a part
    of one, another restore) is pending or running, the restore is refused with 409 naming that task.
    """
    chosen = {body["table"]: body.get("backup_id")} if "table" in body else body["tables"]
    found = services()
    return task_created(submit_restore(found.database, found.queue, found.storage, chosen))
