"""Marshmallow schemas: they document the responses in OpenAPI and shape them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.backup.catalogue import BACKUP_ID
from core.reports.hiring import DEFAULT_YEAR, MEAN_DEFINITION
from core.rows.read import DEFAULT_LIMIT, MAX_LIMIT
from domain.background_jobs import JobState
from domain.commands import JOB_KINDS
from domain.entities import TABLES
from domain.loads import SHOWN_BATCHES
from domain.rules import MAX_ID, MAX_YEAR, MIN_YEAR

STATES = [state.value for state in JobState]
TABLE_NAMES = list(TABLES)
EXAMPLE_BACKUP_ID = "20261122T031500123456Z"
BACKUP_ID_DOC = {
    "type": "string",
    "pattern": f"^{BACKUP_ID.pattern}$",
    "description": "UTC date, T, time to the microsecond, Z",
    "example": EXAMPLE_BACKUP_ID,
}


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw(allow_none=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class ReasonSchema(Schema):
    code = fields.String(required=True, metadata={"example": "missing"})
    field = fields.String(allow_none=True, metadata={"example": "job_id"})
    message = fields.String(required=True)


class RejectedRowSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "0-based position of the row in the request"})
    line = fields.Integer(metadata={"description": "line number, for text/csv requests"})
    record = fields.Raw(required=True, allow_none=True, metadata={"description": "the row as it was sent"})
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)


class BatchResultSchema(Schema):
    table = fields.String(required=True)
    processed = fields.Integer(required=True)
    inserted = fields.Integer(required=True)
    already_exists = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectedRowSchema), required=True)


class ComponentSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    detail = fields.String(allow_none=True)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    components = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentSchema), required=True)


class ReportQuerySchema(Schema):
    year = fields.Integer(
        load_default=DEFAULT_YEAR,
        validate=validate.Range(MIN_YEAR, MAX_YEAR),
        metadata={"description": f"calendar year in UTC, {MIN_YEAR} to {MAX_YEAR}", "example": DEFAULT_YEAR},
    )
    output = fields.String(
        data_key="format",
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "`csv` answers text/csv with a header line instead of JSON"},
    )


class QuarterRowSchema(Schema):
    department = fields.String(required=True, metadata={"example": "Accounting"})
    job = fields.String(required=True, metadata={"example": "Account Representative IV"})
    Q1 = fields.Integer(required=True, metadata={"example": 1})
    Q2 = fields.Integer(required=True, metadata={"example": 0})
    Q3 = fields.Integer(required=True, metadata={"example": 0})
    Q4 = fields.Integer(required=True, metadata={"example": 0})


class HiredByQuarterSchema(Schema):
    year = fields.Integer(required=True, metadata={"example": DEFAULT_YEAR})
    rows = fields.List(fields.Nested(QuarterRowSchema), required=True)


class DepartmentHiresSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 8})
    department = fields.String(required=True, metadata={"example": "Support"})
    hired = fields.Integer(required=True, metadata={"example": 216})


class HiringAboveAverageSchema(Schema):
    year = fields.Integer(required=True, metadata={"example": DEFAULT_YEAR})
    mean = fields.Float(required=True, metadata={"description": MEAN_DEFINITION, "example": 136.91666666666666})
    rows = fields.List(fields.Nested(DepartmentHiresSchema), required=True)


class TaskCreatedSchema(Schema):
    task_id = fields.String(required=True, metadata={"example": "9b2f6c1e-8d0a-4c55-9a57-3c1f0d6e2b11"})
    state = fields.String(required=True, metadata={"example": "PENDING"})
    status_url = fields.String(required=True, metadata={"example": "/task-status/9b2f6c1e-8d0a-4c55-9a57-3c1f0d6e2b11"})


class TableCountsSchema(Schema):
    """One table's counts; which keys appear depends on the kind of task."""

    processed = fields.Integer(metadata={"description": "ingest: rows read"})
    inserted = fields.Integer(metadata={"description": "ingest: rows written"})
    already_exists = fields.Integer(metadata={"description": "ingest: rows whose id was already in the table"})
    rejected = fields.Integer(metadata={"description": "ingest: rows refused, with reasons at /rejections"})
    rows = fields.Integer(metadata={"description": "backup, restore: rows in the table or in its backup"})
    backed_up = fields.Integer(metadata={"description": "backup: rows written to the backup file so far"})
    verified = fields.Integer(metadata={"description": "restore: rows of the backup checked so far"})
    restored = fields.Integer(metadata={"description": "restore: rows written to the table so far"})


# The largest a SQL BIGINT holds: no file has more records, and a larger number is refused with a 400.
MAX_RECORDS = 2**63 - 1


class RecordWindowQuerySchema(Schema):
    """A window of records over the CSV file, as the seed's clients send it: ``?start=1000&limit=1000``."""

    start = fields.Integer(
        validate=validate.Range(min=0, max=MAX_RECORDS),
        metadata={"description": "records to skip, counted from 0, after the header line; default 0", "example": 0},
    )
    limit = fields.Integer(
        validate=validate.Range(min=1, max=MAX_RECORDS),
        metadata={"description": "records to load after those skipped; default: to the end", "example": 1000},
    )


class BatchSummarySchema(Schema):
    """One batch of up to 1000 records, in the shape the original service answered."""

    processed = fields.Integer(required=True)
    inserted = fields.Integer(required=True)
    already_exists = fields.Integer(required=True)
    errors = fields.Integer(required=True, metadata={"description": "rows rejected in this batch"})
    error_ids = fields.List(
        fields.Integer(allow_none=True),
        required=True,
        metadata={"description": "the ids of the rejected rows, in file order; null where a row had no readable id"},
    )


class TableBatchesSchema(Schema):
    total = fields.Integer(required=True, metadata={"description": "how many batches the table's load committed"})
    items = fields.List(
        fields.Nested(BatchSummarySchema),
        required=True,
        metadata={"description": f"the first {SHOWN_BATCHES} batches, in file order"},
    )


class IngestResultSchema(Schema):
    """What a finished ingest returns: the counts per table and in all, and each table's batches."""

    tables = fields.Dict(keys=fields.String(), values=fields.Nested(TableCountsSchema), required=True)
    processed = fields.Integer(required=True, metadata={"description": "rows read, all tables"})
    inserted = fields.Integer(required=True, metadata={"description": "rows written, all tables"})
    already_exists = fields.Integer(required=True, metadata={"description": "rows already stored, all tables"})
    rejected = fields.Integer(required=True, metadata={"description": "rows refused, all tables"})
    batches = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(TableBatchesSchema),
        metadata={"description": "per table, one summary per batch of 1000 records; absent for older jobs"},
    )


INGEST_RESULT = {"$ref": "#/components/schemas/IngestResult"}


class TaskSchema(Schema):
    task_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"example": "ingest"})
    state = fields.String(required=True, metadata={"enum": STATES})
    params = fields.Dict(required=True)
    rows_done = fields.Integer(required=True)
    rows_total = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "rows in all: counted (a backup's tables, a restore's files; an ingest's rows once it "
            "succeeded), or estimated while an ingest runs from the rows and the share of bytes read so far "
            "(then `rows_total_estimated` is true); null while unknown"
        },
    )
    rows_total_estimated = fields.Boolean(
        required=True, metadata={"description": "true when `rows_total` is an estimate from the bytes read so far"}
    )
    percent = fields.Float(required=True, metadata={"description": "share of the work done; an ingest's is by bytes"})
    rows_per_second = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "`rows_done` over the seconds since the task started (until it finished), pauses "
            "and retries included; null before it starts",
            "example": 8412.5,
        },
    )
    eta_seconds = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "while the task runs: the seconds still needed at the pace of its `percent` so far; "
            "null when it is not running or has not reported yet",
            "example": 42.0,
        },
    )
    counts = fields.Dict(
        keys=fields.String(), values=fields.Nested(TableCountsSchema), required=True, metadata={"example": {}}
    )
    result = fields.Dict(
        required=True,
        allow_none=True,
        metadata={
            "description": "null until the task finished; an ingest's is an IngestResult, a backup's or restore's "
            "lists its backups or tables",
            # Each alternative allows null itself: OpenAPI 3.0.3's ``nullable`` does not reach into ``anyOf``.
            "anyOf": [INGEST_RESULT, {"type": "object", "nullable": True}],
        },
    )
    error = fields.String(required=True, allow_none=True)
    cancel_requested = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    started_at = fields.DateTime(required=True, allow_none=True)
    finished_at = fields.DateTime(required=True, allow_none=True)
    worker = fields.String(required=True, allow_none=True)
    attempts = fields.Integer(required=True)


class TaskListSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class TaskListQuerySchema(Schema):
    state = fields.String(
        validate=validate.OneOf(["PENDING", "STARTED", "PROGRESS", "SUCCESS", "FAILURE", "CANCELLED"])
    )
    kind = fields.String(validate=validate.OneOf(JOB_KINDS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class RejectionSchema(Schema):
    table = fields.String(required=True)
    source = fields.String(required=True)
    line = fields.Integer(required=True, metadata={"description": "line number in the CSV file"})
    batch = fields.Integer(required=True, allow_none=True)
    record = fields.String(required=True, metadata={"description": "the line as it was read"})
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)


class RejectionsSchema(Schema):
    task_id = fields.String(required=True)
    items = fields.List(fields.Nested(RejectionSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class RejectionsQuerySchema(Schema):
    output = fields.String(data_key="format", load_default="json", validate=validate.OneOf(["json", "csv"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class BackupRequestSchema(Schema):
    tables = fields.List(
        fields.String(metadata={"enum": TABLE_NAMES}),
        validate=validate.Length(min=1),
        metadata={"description": "the tables to back up; default: all three", "example": TABLE_NAMES},
    )


class BackupListQuerySchema(Schema):
    table = fields.String(
        validate=validate.Length(min=1), metadata={"enum": TABLE_NAMES, "description": "only this table's backups"}
    )


class BackupSchema(Schema):
    table = fields.String(required=True, metadata={"enum": TABLE_NAMES})
    id = fields.String(required=True, metadata={k: v for k, v in BACKUP_ID_DOC.items() if k != "type"})
    created = fields.String(required=True, metadata={"format": "date-time", "example": "2026-11-22T03:15:00.123456Z"})
    rows = fields.Integer(required=True, metadata={"example": 1929})
    bytes = fields.Integer(required=True, metadata={"description": "size of the Avro file", "example": 40213})
    checksum = fields.String(
        required=True, metadata={"description": "of the Avro file", "example": "sha256:65a6729a6beb499b6fe6b..."}
    )
    schema_version = fields.Integer(required=True, metadata={"example": 1})


class TablesToRestore(fields.Field):  # type: ignore[type-arg]
    """A list of table names (each restored from its newest backup), or an object of table name to backup id."""

    default_error_messages = {
        "invalid": "send a list of table names, or an object of table name to backup id (null: the newest)",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, list) and all(isinstance(name, str) for name in value):
            return value
        if isinstance(value, dict) and all(isinstance(v, str) or v is None for v in value.values()):
            return value
        raise self.make_error("invalid")


# OpenAPI 3.0 cannot say "exactly one of two fields" through marshmallow; create_app adds these
# keys to the RestoreRequest component so clients and fuzzers know it.
RESTORE_REQUEST_CONSTRAINTS = {
    "anyOf": [{"required": ["table"]}, {"required": ["tables"]}],
    "not": {"anyOf": [{"required": ["table", "tables"]}, {"required": ["tables", "backup_id"]}]},
}


class RestoreRequestSchema(Schema):
    table = fields.String(metadata={"enum": TABLE_NAMES, "description": "restore this table alone"})
    backup_id = fields.String(
        allow_none=True,
        metadata={**BACKUP_ID_DOC, "description": "with `table`: the backup to use; default: its newest"},
    )
    tables = TablesToRestore(
        metadata={
            "description": "restore several tables together, in one transaction: a list (each from its newest "
            "backup) or an object of table name to backup id",
            "oneOf": [
                {"type": "array", "minItems": 1, "items": {"type": "string", "enum": TABLE_NAMES}},
                {"type": "object", "minProperties": 1, "additionalProperties": {**BACKUP_ID_DOC, "nullable": True}},
            ],
            "example": TABLE_NAMES,
        }
    )

    @validates_schema
    def _one_way_to_choose(self, data: dict[str, Any], **_: Any) -> None:
        if ("table" in data) == ("tables" in data):
            raise ValidationError("send either `table` (with an optional `backup_id`) or `tables`")
        if "backup_id" in data and "table" not in data:
            raise ValidationError("`backup_id` goes with `table`; with `tables`, send an object of table to backup id")


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={"example": "admin"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), metadata={"example": "secret"})


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds until the token expires"})


# Reading rows back: GET /departments, /jobs, /hired-employees and GET /<table>/<id>.

ID_IN_RANGE = validate.Range(1, MAX_ID)
DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


class UtcDateTime(fields.DateTime):
    """A stored hire time (naive UTC) written as ISO 8601 with ``Z``, the form the inserts take."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{value.isoformat()}Z"


class HireTimeBound(fields.String):
    """A date (midnight UTC) or an ISO 8601 / RFC 3339 date-time with a timezone; naive UTC once read.

    A bound may lie in any year: outside the years a hire can have, it simply keeps every row, or none.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        text = super()._deserialize(value, attr, data, **kwargs).strip().upper()  # RFC 3339 allows "t" and "z"
        if DATE_ONLY.fullmatch(text):
            text += "T00:00:00Z"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                "not a date (2021-01-01) or a date-time with a timezone (2021-01-01T00:00:00Z)"
            ) from None
        if moment.tzinfo is None:
            raise ValidationError("a date-time needs a timezone (Z or an offset such as +02:00)")
        try:
            return moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # past year 1 or year 9999 in UTC: before or after every row
            return datetime.min if moment.year == 1 else datetime.max


HIRE_TIME_FORMATS = {"anyOf": [{"format": "date"}, {"format": "date-time"}]}


class RowsQuerySchema(Schema):
    after_id = fields.Integer(
        load_default=0,
        validate=validate.Range(0, MAX_ID),
        metadata={"description": "start after this id: 0 for the first page, then the answer's `next_after_id`"},
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"rows per page, 1 to {MAX_LIMIT}"},
    )
    min_id = fields.Integer(validate=ID_IN_RANGE, metadata={"description": "only ids from this one (inclusive)"})
    max_id = fields.Integer(validate=ID_IN_RANGE, metadata={"description": "only ids up to this one (inclusive)"})


class EmployeeRowsQuerySchema(RowsQuerySchema):
    department_id = fields.Integer(validate=ID_IN_RANGE, metadata={"description": "only this department's hires"})
    job_id = fields.Integer(validate=ID_IN_RANGE, metadata={"description": "only hires for this job"})
    hired_from = HireTimeBound(
        metadata={
            **HIRE_TIME_FORMATS,
            "description": "only hires at or after this time: a date (midnight UTC) or a date-time with a timezone",
            "example": "2021-01-01",
        }
    )
    hired_before = HireTimeBound(
        metadata={
            **HIRE_TIME_FORMATS,
            "description": "only hires before this time (exclusive): a date or a date-time with a timezone",
            "example": "2021-04-01T00:00:00Z",
        }
    )


class DepartmentRowSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 5})
    department = fields.String(required=True, metadata={"example": "Staff"})


class JobRowSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 96})
    job = fields.String(required=True, metadata={"example": "Data Engineer"})


class EmployeeRowSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 2001})
    name = fields.String(required=True, metadata={"example": "Ada Lovelace"})
    datetime = UtcDateTime(
        required=True, metadata={"description": "hire time in UTC", "example": "2021-11-07T02:48:42Z"}
    )
    department_id = fields.Integer(required=True, metadata={"example": 5})
    job_id = fields.Integer(required=True, metadata={"example": 96})


ROW_SCHEMAS: dict[str, type[Schema]] = {
    "departments": DepartmentRowSchema,
    "jobs": JobRowSchema,
    "hired_employees": EmployeeRowSchema,
}


def row_page_schema(table: str) -> type[Schema]:
    """The page of one table's rows, with where the next page starts."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(ROW_SCHEMAS[table]), required=True),
            "limit": fields.Integer(required=True),
            "next_after_id": fields.Integer(
                required=True,
                allow_none=True,
                metadata={"description": "`after_id` of the next page; null on the last"},
            ),
            "next": fields.String(
                required=True,
                allow_none=True,
                metadata={"description": "path and query of the next page, with the same filters; null on the last"},
            ),
        },
        name=f"{ROW_SCHEMAS[table].__name__.removesuffix('RowSchema')}PageSchema",
    )
