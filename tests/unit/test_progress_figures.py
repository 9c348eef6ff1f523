"""How many rows in all, how fast and how long still: what ``/task-status`` says of a job from its row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.jobs.figures import progress_figures
from domain.background_jobs import BackgroundJob, JobProgress, JobState

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def job(kind: str, state: JobState, progress: JobProgress, *, after: float | None = 10.0) -> BackgroundJob:
    started = START if after is not None else None
    finished = START + timedelta(seconds=after) if after is not None and state is JobState.SUCCESS else None
    return BackgroundJob("j", kind, {}, state, progress, started_at=started, finished_at=finished, attempts=1)


def test_a_running_ingest_estimates_its_rows_from_the_share_of_bytes_read_and_says_so() -> None:
    running = job("ingest", JobState.PROGRESS, JobProgress(rows_done=1000, percent=25.0))
    figures = progress_figures(running, START + timedelta(seconds=10))
    assert (figures.rows_total, figures.rows_total_estimated) == (4000, True)
    assert figures.rows_per_second == 100.0
    assert figures.eta_seconds == 30.0


def test_a_finished_ingest_knows_its_rows_and_has_no_eta() -> None:
    done = job("ingest", JobState.SUCCESS, JobProgress(rows_done=2194, percent=100.0), after=4.0)
    figures = progress_figures(done, START + timedelta(hours=1))
    assert (figures.rows_total, figures.rows_total_estimated, figures.eta_seconds) == (2194, False, None)
    assert figures.rows_per_second == 548.5


def test_a_backup_reports_the_rows_it_counted_as_known() -> None:
    running = job("backup", JobState.PROGRESS, JobProgress(rows_done=500, rows_total=2124, percent=50.0))
    figures = progress_figures(running, START + timedelta(seconds=5))
    assert (figures.rows_total, figures.rows_total_estimated) == (2124, False)
    assert figures.eta_seconds == 5.0


def test_a_backup_that_has_not_counted_every_table_yet_does_not_guess_its_total() -> None:
    running = job("backup", JobState.PROGRESS, JobProgress(rows_done=12, percent=33.3))
    assert progress_figures(running, START + timedelta(seconds=1)).rows_total is None


def test_a_pending_job_has_no_pace_and_no_total() -> None:
    waiting = job("ingest", JobState.PENDING, JobProgress(), after=None)
    figures = progress_figures(waiting, START)
    assert figures.as_dict() == {
        "rows_total": None,
        "rows_total_estimated": False,
        "rows_per_second": None,
        "eta_seconds": None,
    }


def test_an_ingest_that_has_read_no_bytes_yet_estimates_nothing() -> None:
    started = job("ingest", JobState.STARTED, JobProgress(), after=0.0)
    figures = progress_figures(started, START + timedelta(seconds=2))
    assert (figures.rows_total, figures.rows_total_estimated, figures.eta_seconds) == (None, False, None)
    assert figures.rows_per_second == 0.0
