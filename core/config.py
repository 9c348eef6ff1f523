"""Settings, read once from the environment (and ``.env``), validated, then passed in."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from domain.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_INGEST_PART_MIN_BYTES = 32 << 20


@dataclass(frozen=True)
class Settings:
    database_url: str
    storage_url: str
    azure_connection_string: str | None
    broker_url: str | None
    log_level: str
    host: str
    port: int
    broker_dir: Path = VAR_DIR / "broker"
    broker_visibility_timeout: int = 3600
    broker_key_prefix: str = ""
    job_lease_seconds: int = 30
    web_workers: int = 2
    worker_concurrency: int = 2
    backup_schedule: str | None = None
    backup_retention: int = 7
    ingest_parts: int = 1
    ingest_part_min_bytes: int = DEFAULT_INGEST_PART_MIN_BYTES

    @property
    def uses_embedded_broker(self) -> bool:
        return self.broker_url is None


# The fields of a crontab line, in order, with the values each may take.
CRONTAB_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week (0 is Sunday)", 0, 6),
)
_CRONTAB_ITEM = re.compile(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?")
OFF = ("", "off", "none")


def parse_backup_schedule(text: str) -> str | None:
    """A crontab line of five fields (``0 3 * * *``: 03:00 UTC every day), normalised; ``None`` when off."""
    if text.strip().lower() in OFF:
        return None
    fields = text.split()
    if len(fields) != len(CRONTAB_FIELDS):
        raise ValueError(f"it has {len(fields)} fields, not 5")
    for value, (name, low, high) in zip(fields, CRONTAB_FIELDS, strict=True):
        for item in value.split(","):
            match = _CRONTAB_ITEM.fullmatch(item)
            if not match:
                raise ValueError(f"the {name} field {value!r} is not *, a number, a range a-b, a list or a /step")
            start, end, step = match.group(2), match.group(3), match.group(4)
            numbers = [int(n) for n in (start, end) if n is not None]
            if any(not low <= n <= high for n in numbers):
                raise ValueError(f"the {name} field {value!r} must stay within {low} to {high}")
            if end is not None and int(end) < int(start):
                raise ValueError(f"the {name} field {value!r} has a range that runs backwards")
            if step is not None and int(step) < 1:
                raise ValueError(f"the {name} field {value!r} has a step of 0")
    return " ".join(fields)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default: os.environ); raise ``ConfigurationError`` on a bad value."""
    env = dict(os.environ if environ is None else environ)

    def get(name: str, default: str | None = None) -> str | None:
        value = env.get(name, "").strip()
        return value or default

    database_url = get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'hireflow.db'}") or ""
    if "://" not in database_url:
        raise ConfigurationError(
            f"DATABASE_URL must be a SQLAlchemy URL such as sqlite:///var/hireflow.db, got {database_url!r}"
        )

    storage_url = get("STORAGE_URL", (VAR_DIR / "storage").as_uri()) or ""
    scheme = urlparse(storage_url).scheme
    if scheme not in ("file", "azure"):
        raise ConfigurationError(f"STORAGE_URL must start with file:/// or azure://, got {storage_url!r}")
    connection_string = get("AZURE_STORAGE_CONNECTION_STRING")
    if scheme == "azure" and not connection_string:
        raise ConfigurationError("STORAGE_URL is azure://… but AZURE_STORAGE_CONNECTION_STRING is not set")
    if scheme == "azure" and not urlparse(storage_url).netloc:
        raise ConfigurationError("STORAGE_URL must name a container: azure://<container>")

    log_level = (get("LOG_LEVEL", "INFO") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigurationError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}")

    port_text = get("PORT") or get("WEBSITES_PORT") or "8000"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"PORT must be a TCP port number, got {port_text!r}")

    broker_dir = Path(get("BROKER_DIR", str(VAR_DIR / "broker")) or "")

    def whole_number(name: str, default: int, minimum: int = 1) -> int:
        text = get(name, str(default)) or ""
        if not text.isdigit() or int(text) < minimum:
            raise ConfigurationError(f"{name} must be a whole number of at least {minimum}, got {text!r}")
        return int(text)

    schedule_text = get("BACKUP_SCHEDULE", "") or ""
    try:
        backup_schedule = parse_backup_schedule(schedule_text)
    except ValueError as error:
        raise ConfigurationError(
            f"BACKUP_SCHEDULE must be a crontab line in UTC (minute hour day-of-month month day-of-week) "
            f"such as '0 3 * * *', or empty for none; {schedule_text!r} is not: {error}"
        ) from None

    return Settings(
        database_url=database_url,
        storage_url=storage_url,
        azure_connection_string=connection_string,
        broker_url=get("CELERY_BROKER_URL") or get("REDIS_URL"),
        log_level=log_level,
        host=get("HOST", "127.0.0.1") or "127.0.0.1",
        port=int(port_text),
        broker_dir=broker_dir,
        broker_visibility_timeout=whole_number("CELERY_VISIBILITY_TIMEOUT", 3600),
        broker_key_prefix=get("CELERY_KEY_PREFIX", "") or "",
        job_lease_seconds=whole_number("JOB_LEASE_SECONDS", 30, minimum=3),
        web_workers=whole_number("WEB_CONCURRENCY", 2),
        worker_concurrency=whole_number("WORKER_CONCURRENCY", 2),
        backup_schedule=backup_schedule,
        backup_retention=whole_number("BACKUP_RETENTION", 7),
        ingest_parts=whole_number("INGEST_PARTS", 1),
        ingest_part_min_bytes=whole_number("INGEST_PART_MIN_BYTES", DEFAULT_INGEST_PART_MIN_BYTES),
    )
