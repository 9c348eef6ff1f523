"""What the log says of a job: a summary line with its figures, a failure at ERROR with its reason, and
(``LOG_FORMAT=json``) one JSON object per line that names the job it was logged for."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest

from bootstrap import log_to_stdout
from core.config import load_settings
from core.jobs.logs import job_fields, job_logging, log_summary
from core.jobs.progress import ProgressReporter
from core.jobs.runner import JobHandler, JobHandlers, run_job
from core.jobs.submit import submit_job
from domain.commands import BackUpTables, IngestSources, RestoreTables
from domain.errors import ConfigurationError, InvalidRequest
from infra.log_format import JsonFormatter
from tests.job_fakes import FakeJobQueue
from tests.unit.fakes import FakeDatabase
from tests.unit.test_split_ingest import fanned_out, parts_of
from tests.unit.test_split_ingest import run as run_split

log = logging.getLogger("hireflow.test")


def record_of(caplog: pytest.LogCaptureFixture, text: str) -> logging.LogRecord:
    found = [record for record in caplog.records if text in record.getMessage()]
    assert len(found) == 1, [r.getMessage() for r in caplog.records]
    return found[0]


def run(database: FakeDatabase, handler: JobHandler, job_id: str) -> None:
    run_job(database, JobHandlers(handler), job_id, worker="worker-a", lease_seconds=30)


def test_a_summary_says_the_counts_the_time_and_the_rate_in_its_text_and_its_fields(caplog):
    caplog.set_level(logging.INFO)
    counts = {"processed": 2000, "inserted": 1900, "already_exists": 30, "rejected": 70}

    log_summary(log, "task t-1 (ingest) hired_employees", counts, 4.0, table="hired_employees")

    record = record_of(caplog, "task t-1")
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "task t-1 (ingest) hired_employees: processed 2000, inserted 1900, already exists 30, rejected 70"
        " in 4.00 s (500 rows/s)"
    )
    fields = {name: getattr(record, name) for name in ("table", "processed", "rejected", "seconds", "rows_per_second")}
    assert fields == {
        "table": "hired_employees",
        "processed": 2000,
        "rejected": 70,
        "seconds": 4.0,
        "rows_per_second": 500.0,
    }


def test_a_job_that_succeeds_ends_with_one_summary_line_of_its_result(caplog):
    caplog.set_level(logging.INFO)
    database = FakeDatabase()
    job = submit_job(database, FakeJobQueue(), IngestSources((("jobs", "jobs.csv"),)))

    def loaded(_command: Any, _progress: ProgressReporter) -> dict[str, Any]:
        return {"processed": 10, "inserted": 8, "already_exists": 0, "rejected": 2}

    run(database, JobHandler(IngestSources, loaded), job.id)

    record = record_of(caplog, f"task {job.id} (ingest) SUCCESS")
    assert "processed 10, inserted 8, already exists 0, rejected 2" in record.getMessage()
    assert (record.state, record.inserted, record.rejected) == ("SUCCESS", 8, 2)


def test_a_backup_summary_counts_its_rows(caplog):
    caplog.set_level(logging.INFO)
    database = FakeDatabase()
    job = submit_job(database, FakeJobQueue(), BackUpTables(("jobs",)))

    run(database, JobHandler(BackUpTables, lambda *_: {"rows": 183}), job.id)

    assert ": 183 rows in " in record_of(caplog, f"task {job.id} (backup) SUCCESS").getMessage()


def test_a_failed_job_is_logged_at_error_with_the_reason_its_readers_see(caplog):
    database = FakeDatabase()
    job = submit_job(database, FakeJobQueue(), RestoreTables(()))

    def damaged(*_: Any) -> dict[str, Any]:
        raise InvalidRequest("jobs backup b-1 does not match its checksum")

    run(database, JobHandler(RestoreTables, damaged), job.id)

    record = record_of(caplog, f"task {job.id} (restore) FAILURE")
    assert record.levelno == logging.ERROR
    assert record.getMessage().endswith(": jobs backup b-1 does not match its checksum")
    assert record.error == "jobs backup b-1 does not match its checksum"


def test_lines_logged_while_a_job_runs_name_it_and_none_after():
    with job_logging("t-7", "restore"):
        assert job_fields() == {"job_id": "t-7", "kind": "restore"}
    assert job_fields() == {}


def test_a_json_line_is_one_object_with_the_job_its_extra_fields_and_its_exception():
    record = logging.LogRecord("hireflow.jobs", logging.ERROR, __file__, 1, "task %s failed", ("t-9",), None)
    record.table = "jobs"
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        record.exc_info = sys.exc_info()
    with job_logging("t-9", "ingest"):
        line = JsonFormatter().format(record)

    assert "\n" not in line
    entry = json.loads(line)
    assert {key: entry[key] for key in ("level", "logger", "message", "job_id", "kind", "table")} == {
        "level": "ERROR",
        "logger": "hireflow.jobs",
        "message": "task t-9 failed",
        "job_id": "t-9",
        "kind": "ingest",
        "table": "jobs",
    }
    assert "ValueError: broken" in entry["exception"] and entry["time"].endswith("+00:00")


def test_log_format_json_makes_every_log_line_a_json_object(capsys):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        log_to_stdout(load_settings({"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}))
        log.debug("rejected %s row %s", "jobs", 3, extra={"table": "jobs", "reasons": ["missing"]})
        printed = capsys.readouterr().out.splitlines()
    finally:
        logging.basicConfig(handlers=handlers, level=level, force=True)
        logging.captureWarnings(False)

    assert [json.loads(line)["reasons"] for line in printed] == [["missing"]]


@pytest.mark.parametrize(("name", "value"), [("LOG_FORMAT", "xml"), ("WORKER_EVENTS", "maybe")])
def test_a_log_format_or_worker_events_value_it_does_not_know_stops_the_start(name, value):
    with pytest.raises(ConfigurationError, match=name):
        load_settings({name: value})


def test_worker_events_and_the_log_format_are_off_and_text_by_default():
    settings = load_settings({})
    assert (settings.worker_events, settings.log_format) == (False, "text")
    assert load_settings({"WORKER_EVENTS": "true"}).worker_events is True


def test_celerys_own_line_on_a_task_is_found_by_the_job_id_too():
    record = logging.LogRecord("celery.app.trace", logging.INFO, __file__, 1, "Task %(name)s[%(id)s] raised", (), None)
    record.data = {"id": "t-3", "name": "hireflow.restore"}

    assert json.loads(JsonFormatter().format(record))["job_id"] == "t-3"


def test_a_split_ingest_ends_with_one_line_for_the_parent_an_error_when_a_part_failed(caplog):
    services, parent = fanned_out(2)
    first, second = parts_of(services, parent)
    run_split(services, first.id)
    del services.storage.blobs["hired_employees.csv"]
    run_split(services, second.id)

    record = record_of(caplog, f"task {parent.id} (ingest) FAILURE after its 2 parts")
    assert record.levelno == logging.ERROR
    assert (record.job_id, record.kind) == (parent.id, "ingest") and record.error.startswith("part 1: ")


def test_a_split_ingest_that_succeeds_sums_its_parts_in_one_summary_line(caplog):
    caplog.set_level(logging.INFO)
    services, parent = fanned_out(2)
    for part in parts_of(services, parent):
        run_split(services, part.id)

    record = record_of(caplog, f"task {parent.id} (ingest) SUCCESS after its 2 parts")
    result = services.jobs.get(parent.id).result
    assert (record.job_id, record.processed, record.rejected) == (parent.id, result["processed"], result["rejected"])
    parts = [r for r in caplog.records if r.getMessage().startswith("task ") and "(ingest_part " in r.getMessage()]
    assert [r.table for r in parts] == ["hired_employees", "hired_employees"]
