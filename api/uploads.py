"""Queue the migration of CSV files: ``POST /upload-files``, ``/upload-hired-employees``, or a batch path, no body."""

from __future__ import annotations

from typing import IO, Any

from flask import Response, jsonify, request, url_for

from api.deps import services
from api.parsing import Blueprint
from api.schemas import ErrorSchema, RecordWindowQuerySchema, TaskCreatedSchema
from core.ingest.submit import root_sources, submit_ingest, upload_and_submit_ingest
from domain.background_jobs import BackgroundJob
from domain.entities import TABLES
from domain.errors import InvalidRequest, UnsupportedContentType
from domain.loads import RecordWindow

blp = Blueprint("uploads", __name__, description="Migrate CSV files in the background; follow them at /task-status")

MULTIPART = "multipart/form-data"


def has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"


def task_created(job: BackgroundJob) -> Response:
    location = url_for("tasks.task_status", task_id=job.id)
    response = jsonify({"task_id": job.id, "state": job.state.value, "status_url": location})
    response.status_code = 202
    response.headers["Location"] = location
    return response


def record_window(start: int | None = None, limit: int | None = None) -> RecordWindow | None:
    """The window of records ``?start=&limit=`` asks for; ``None`` without either, which loads every record."""
    if start is None and limit is None:
        return None
    return RecordWindow(start or 0, limit)


def enqueue_from_storage(tables: list[str], window: RecordWindow | None = None) -> Response:
    found = services()
    sources = root_sources(tables)
    return task_created(submit_ingest(found.database, found.queue, found.storage, sources, window=window))


def uploaded_files(accepted: list[str]) -> dict[str, IO[bytes]]:
    if request.mimetype != MULTIPART:
        raise UnsupportedContentType(
            f"Content-Type {request.mimetype or '(none)'} is not accepted; send {MULTIPART} with CSV files, or no body",
            {"accepted": [MULTIPART]},
        )
    if request.form:
        raise InvalidRequest(
            f"form field(s) {', '.join(sorted(str(name) for name in request.form))} must be files",
            {"accepted_files": accepted},
        )
    files = {}
    for name in request.files:
        if name not in accepted:
            raise InvalidRequest(f"unknown file field {name!r}", {"accepted_files": accepted})
        if len(request.files.getlist(name)) > 1:
            raise InvalidRequest(f"send one file named {name!r}, not several", {"accepted_files": accepted})
        files[name] = request.files[name].stream
    if not files:
        raise InvalidRequest("the form holds no file", {"accepted_files": accepted})
    return files


def upload_or_enqueue(tables: list[str], window: RecordWindow | None) -> Response:
    if not has_body():
        return enqueue_from_storage(tables, window)
    files = uploaded_files(tables)
    found = services()
    return task_created(upload_and_submit_ingest(found.database, found.queue, found.storage, files, window=window))


def _multipart_doc(tables: list[str]) -> dict[str, Any]:
    return {
        "required": False,
        "content": {
            MULTIPART: {
                "schema": {
                    "type": "object",
                    "properties": {table: {"type": "string", "format": "binary"} for table in tables},
                    "minProperties": 1,
                    "additionalProperties": False,
                }
            }
        },
    }


def _document(view: Any, tables: list[str]) -> Any:
    view = blp.arguments(RecordWindowQuerySchema, location="query", as_kwargs=True, error_status_code=400)(view)
    view = blp.doc(requestBody=_multipart_doc(tables))(view)
    view = blp.response(202, TaskCreatedSchema, description="Queued; poll the Location header")(view)
    for status, text in (
        (400, "A form field that is not one of the files, or `start` / `limit` not a whole number in range"),
        (404, "A CSV file is missing from storage"),
        (409, "A restore of one of the tables is pending or running"),
        (413, "The files are larger than MAX_UPLOAD_BYTES"),
        (415, "Neither multipart/form-data nor an empty body"),
        (503, "The database, the broker or the storage is down, or the storage refused the files"),
        (507, "The storage is full: nothing was saved and no task was created"),
    ):
        view = blp.alt_response(status, schema=ErrorSchema, description=text)(view)
    return view


def upload_files(**window: int) -> Response:
    """Migrate departments, jobs and hired employees.

    With multipart files named `departments`, `jobs` and/or `hired_employees`, they are stored under
    `uploads/<task_id>/` and migrated. With no body, the three CSV files at the root of the storage are
    migrated. Answers 202 at once with the task id; the migration runs on a worker.

    With `start` and/or `limit`, only a window of each file's records is loaded: `start` records are skipped
    (counted from 0, after the header line) and at most `limit` are loaded, as in `?start=1000&limit=1000`.
    """
    return upload_or_enqueue(list(TABLES), record_window(**window))


def upload_hired_employees(**window: int) -> Response:
    """Migrate hired employees: the uploaded `hired_employees` file, or with no body `hired_employees.csv`.

    With `start` and/or `limit`, only a window of the file's records is loaded, as in `?start=1000&limit=1000`.
    """
    return upload_or_enqueue(["hired_employees"], record_window(**window))


blp.route("/upload-files", methods=["POST"], endpoint="upload_files")(_document(upload_files, list(TABLES)))
blp.route("/upload-hired-employees", methods=["POST"], endpoint="upload_hired_employees")(
    _document(upload_hired_employees, ["hired_employees"])
)
