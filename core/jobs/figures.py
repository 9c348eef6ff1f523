"""What a reader of ``/task-status`` learns of a job's pace: how many rows in all, how fast, how long still.

Worked out when the job is read, from what its row records, so every worker and release records the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.background_jobs import RUNNING_STATES, BackgroundJob, JobState
from domain.commands import IngestPart, IngestSources

# These jobs do not know their rows in advance: their ``percent`` is the share of their files' bytes read.
MEASURED_IN_BYTES = frozenset({IngestSources.kind, IngestPart.kind})


@dataclass(frozen=True)
class ProgressFigures:
    """``rows_total``: known (a table's or a backup's row count, or the rows an ingest read once it
    succeeded), or estimated (``rows_total_estimated``) from the rows and the bytes read so far, or None.
    ``rows_per_second``: rows done over the time since the job started (pauses and retries included).
    ``eta_seconds``: while it runs, the time still needed at the pace of its ``percent`` so far."""

    rows_total: int | None
    rows_total_estimated: bool
    rows_per_second: float | None
    eta_seconds: float | None

    def as_dict(self) -> dict[str, int | float | bool | None]:
        return {
            "rows_total": self.rows_total,
            "rows_total_estimated": self.rows_total_estimated,
            "rows_per_second": self.rows_per_second,
            "eta_seconds": self.eta_seconds,
        }


def progress_figures(job: BackgroundJob, now: datetime) -> ProgressFigures:
    progress = job.progress
    running = job.state in RUNNING_STATES
    share = progress.percent / 100.0
    rows_total, estimated = progress.rows_total, False
    if rows_total is None and job.kind in MEASURED_IN_BYTES:
        if job.state is JobState.SUCCESS:
            rows_total = progress.rows_done
        elif running and 0.0 < share < 1.0 and progress.rows_done:
            rows_total, estimated = max(progress.rows_done, round(progress.rows_done / share)), True
    elapsed = _elapsed(job, now)
    rate = round(progress.rows_done / elapsed, 1) if elapsed else None
    eta = round(elapsed * (1.0 - share) / share, 1) if elapsed and running and 0.0 < share < 1.0 else None
    return ProgressFigures(rows_total, estimated, rate, eta)


def _elapsed(job: BackgroundJob, now: datetime) -> float | None:
    """Seconds since the job started, until it finished or until ``now``; None before it started."""
    if job.started_at is None:
        return None
    end = job.finished_at or now
    seconds = (end - job.started_at).total_seconds()
    return seconds if seconds > 0 else None
