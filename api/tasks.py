"""Follow background jobs: ``/task-status/<id>``, its rejections, cancelling it, and ``/task-list``."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context
from flask_smorest import Blueprint

from api.deps import services
from api.schemas import (
    ErrorSchema,
    RejectionsQuerySchema,
    RejectionsSchema,
    TaskListQuerySchema,
    TaskListSchema,
    TaskSchema,
)
from core.clock import utcnow
from core.ingest.rejections import rejections_csv
from core.jobs.figures import progress_figures
from core.jobs.submit import cancel_job, get_job, list_jobs
from domain.background_jobs import BackgroundJob, JobState

blp = Blueprint("tasks", __name__, description="Progress, outcome and rejected rows of background tasks")

NOT_FOUND = "No task has this id"


def task_body(job: BackgroundJob) -> dict[str, Any]:
    return {
        "task_id": job.id,
        "kind": job.kind,
        "state": job.state.value,
        "params": job.params,
        "rows_done": job.progress.rows_done,
        "percent": job.progress.percent,
        **progress_figures(job, utcnow()).as_dict(),
        "counts": job.progress.counts,
        "result": job.result,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "worker": job.worker,
        "attempts": job.attempts,
    }


@blp.route("/task-status/<task_id>", methods=["GET"])
@blp.response(200, TaskSchema)
@blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
def task_status(task_id: str) -> dict[str, Any]:
    """State and progress of a task: rows done, percent, counts per table, then its result or error."""
    return task_body(get_job(services().database, task_id))


@blp.route("/task-status/<task_id>", methods=["DELETE"])
@blp.response(200, TaskSchema)
@blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="The task already finished")
def delete_task(task_id: str) -> dict[str, Any]:
    """Cancel a task: a pending one at once, a running one between two batches (rows already committed stay)."""
    return task_body(cancel_job(services().database, task_id))


@blp.route("/task-status/<task_id>/cancel", methods=["POST"])
@blp.response(200, TaskSchema)
@blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="The task already finished")
def cancel_task(task_id: str) -> dict[str, Any]:
    """Cancel a task; the same as `DELETE /task-status/<task_id>`."""
    return task_body(cancel_job(services().database, task_id))


@blp.route("/task-list", methods=["GET"])
@blp.arguments(TaskListQuerySchema, location="query", error_status_code=400, as_kwargs=True)
@blp.response(200, TaskListSchema)
def task_list(page: int, per_page: int, state: str | None = None, kind: str | None = None) -> dict[str, Any]:
    """Tasks, newest first; filter by `state` and `kind`, page with `page` and `per_page`."""
    found = list_jobs(
        services().database, state=JobState(state) if state else None, kind=kind, page=page, per_page=per_page
    )
    return {
        "items": [task_body(job) for job in found.items],
        "total": found.total,
        "page": found.page,
        "per_page": found.per_page,
    }


@blp.route("/task-status/<task_id>/rejections", methods=["GET"])
@blp.arguments(RejectionsQuerySchema, location="query", error_status_code=400, as_kwargs=True)
@blp.doc(responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
@blp.response(200, RejectionsSchema)
@blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
def task_rejections(task_id: str, output: str, page: int, per_page: int) -> Any:
    """Rows the task refused, with their reasons, in file order. `?format=csv` downloads them all as CSV.

    In the CSV, a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so that
    a spreadsheet shows it as text instead of running it as a formula; the JSON gives each record as it came.
    """
    database = services().database
    job = get_job(database, task_id)
    total = sum(counts.get("rejected", 0) for counts in job.progress.counts.values())
    if output == "csv":
        response = Response(stream_with_context(rejections_csv(database, task_id)), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="rejections-{task_id}.csv"'
        return response
    with database() as tx:
        items = tx.rejections.page(task_id, limit=per_page, offset=(page - 1) * per_page)
    return {"task_id": task_id, "items": items, "total": total, "page": page, "per_page": per_page}
