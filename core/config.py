"""Settings, read once from the environment (and ``.env``), validated, then passed in."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from core.auth import ADMIN, User, configured_users
from core.backup.schedule import parse_backup_schedule
from domain.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_INGEST_PART_MIN_BYTES = 32 << 20
MIB = 1024 * 1024
APP_ENVS = ("development", "production")
MIN_SECRET_LENGTH = 32
# Values that appear in examples and tutorials; a production key must be none of them.
KNOWN_SECRETS = frozenset(
    {"change-me", "changeme", "secret", "super-secret", "jwt-secret", "your-secret-key", "please-change-this-secret"}
)
# Every environment variable hireflow reads; reading any other is a bug (and .env.example lists each of these).
ENVIRONMENT_VARIABLES = (
    "APP_ENV",
    "DATABASE_URL",
    "STORAGE_URL",
    "AZURE_STORAGE_CONNECTION_STRING",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "CELERY_KEY_PREFIX",
    "CELERY_VISIBILITY_TIMEOUT",
    "BROKER_DIR",
    "JOB_LEASE_SECONDS",
    "JOB_SWEEP_SECONDS",
    "JOB_PENDING_REQUEUE_SECONDS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "WORKER_EVENTS",
    "HOST",
    "PORT",
    "WEBSITES_PORT",
    "WEB_CONCURRENCY",
    "WORKER_CONCURRENCY",
    "JWT_SECRET_KEY",
    "JWT_EXPIRES_MINUTES",
    "ADMIN_USERNAME",
    "ADMIN_PASSWORD",
    "READER_USERNAME",
    "READER_PASSWORD",
    "MAX_REQUEST_BYTES",
    "MAX_UPLOAD_BYTES",
    "AUTH_RATE_LIMIT",
    "CORS_ORIGINS",
    "TRUSTED_PROXIES",
    "BACKUP_SCHEDULE",
    "BACKUP_RETENTION",
    "INGEST_PARTS",
    "INGEST_PART_MIN_BYTES",
)
# Celery runs on Redis (rediss:// with TLS, as Azure Cache for Redis wants); anything else is a typo.
BROKER_SCHEMES = ("redis", "rediss")
LOG_FORMATS = ("text", "json")
YES_NO = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
RATE_LIMIT = re.compile(r"^\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?$", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    database_url: str
    storage_url: str
    azure_connection_string: str | None
    broker_url: str | None
    log_level: str
    host: str
    port: int
    log_format: str = "text"
    worker_events: bool = False
    broker_dir: Path = VAR_DIR / "broker"
    broker_visibility_timeout: int = 3600
    broker_key_prefix: str = ""
    job_lease_seconds: int = 30
    job_sweep_seconds: int = 30
    job_pending_requeue_seconds: int = 60
    web_workers: int = 2
    worker_concurrency: int = 2
    backup_schedule: str | None = None
    backup_retention: int = 7
    ingest_parts: int = 1
    ingest_part_min_bytes: int = DEFAULT_INGEST_PART_MIN_BYTES
    app_env: str = "development"
    jwt_secret_key: str | None = None
    jwt_expires_minutes: int = 30
    users: tuple[User, ...] = ()
    max_request_bytes: int = 16 * MIB
    max_upload_bytes: int = 512 * MIB
    auth_rate_limit: str = "10 per minute"
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: int = 0

    @property
    def uses_embedded_broker(self) -> bool:
        return self.broker_url is None

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    def require_web_auth(self) -> None:
        """The web server signs tokens and checks passwords: refuse to serve without a key and an admin."""
        if not self.jwt_secret_key:
            raise ConfigurationError(
                "JWT_SECRET_KEY is not set; run `python main.py ensure-local-env` for a local .env, or set it"
            )
        if not any(user.role == ADMIN for user in self.users):
            raise ConfigurationError(
                "ADMIN_PASSWORD is not set; run `python main.py ensure-local-env` for a local .env, or set it"
            )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default: os.environ); raise ``ConfigurationError`` on a bad value."""
    env = dict(os.environ if environ is None else environ)

    def get(name: str, default: str | None = None) -> str | None:
        if name not in ENVIRONMENT_VARIABLES:
            raise KeyError(f"{name} is not in ENVIRONMENT_VARIABLES")
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

    log_format = (get("LOG_FORMAT", "text") or "text").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigurationError(f"LOG_FORMAT must be text or json, got {log_format!r}")
    worker_events = (get("WORKER_EVENTS", "false") or "false").lower()
    if worker_events not in YES_NO:
        raise ConfigurationError(f"WORKER_EVENTS must be true or false, got {worker_events!r}")

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

    broker_url = get("CELERY_BROKER_URL") or get("REDIS_URL")
    visibility_timeout = whole_number("CELERY_VISIBILITY_TIMEOUT", 3600)
    job_lease_seconds = whole_number("JOB_LEASE_SECONDS", 30, minimum=3)
    job_sweep_seconds = whole_number("JOB_SWEEP_SECONDS", job_lease_seconds)
    if job_sweep_seconds > job_lease_seconds:
        raise ConfigurationError(
            f"JOB_SWEEP_SECONDS ({job_sweep_seconds}) must not exceed JOB_LEASE_SECONDS ({job_lease_seconds}), "
            "or a stalled task waits more than two leases"
        )
    if broker_url and visibility_timeout < 2 * job_lease_seconds:
        raise ConfigurationError(
            f"CELERY_VISIBILITY_TIMEOUT ({visibility_timeout}) must be at least twice JOB_LEASE_SECONDS "
            f"({job_lease_seconds}): a worker holds a task's message for up to a lease while the database is "
            "down, and Redis must not hand it out again meanwhile"
        )

    app_env = (get("APP_ENV", "development") or "").lower()
    if app_env not in APP_ENVS:
        raise ConfigurationError(f"APP_ENV must be development or production, got {app_env!r}")
    users = configured_users(get)
    if app_env == "production":
        _check_production_secrets(get("JWT_SECRET_KEY"), users)

    auth_rate_limit = get("AUTH_RATE_LIMIT", "10 per minute") or ""
    if not RATE_LIMIT.match(auth_rate_limit):
        raise ConfigurationError(
            f"AUTH_RATE_LIMIT must read like '10 per minute' or '5/second', got {auth_rate_limit!r}"
        )
    cors_origins = tuple(
        origin.strip().rstrip("/") for origin in (get("CORS_ORIGINS") or "").split(",") if origin.strip()
    )
    for origin in cors_origins:
        if origin != "*" and urlparse(origin).scheme not in ("http", "https"):
            raise ConfigurationError(f"CORS_ORIGINS must list origins such as https://example.com or *, got {origin!r}")

    broker_url = _broker_url(get)

    return Settings(
        database_url=database_url,
        storage_url=storage_url,
        azure_connection_string=connection_string,
        broker_url=broker_url,
        log_level=log_level,
        log_format=log_format,
        worker_events=YES_NO[worker_events],
        host=get("HOST", "127.0.0.1") or "127.0.0.1",
        port=int(port_text),
        broker_dir=broker_dir,
        broker_visibility_timeout=visibility_timeout,
        broker_key_prefix=get("CELERY_KEY_PREFIX", "") or "",
        job_lease_seconds=job_lease_seconds,
        job_sweep_seconds=job_sweep_seconds,
        job_pending_requeue_seconds=whole_number("JOB_PENDING_REQUEUE_SECONDS", 60),
        web_workers=whole_number("WEB_CONCURRENCY", 2),
        worker_concurrency=whole_number("WORKER_CONCURRENCY", 2),
        backup_schedule=backup_schedule,
        backup_retention=whole_number("BACKUP_RETENTION", 7),
        ingest_parts=whole_number("INGEST_PARTS", 1),
        ingest_part_min_bytes=whole_number("INGEST_PART_MIN_BYTES", DEFAULT_INGEST_PART_MIN_BYTES),
        app_env=app_env,
        jwt_secret_key=get("JWT_SECRET_KEY"),
        jwt_expires_minutes=whole_number("JWT_EXPIRES_MINUTES", 30),
        users=users,
        max_request_bytes=whole_number("MAX_REQUEST_BYTES", 16 * MIB, minimum=1024),
        max_upload_bytes=whole_number("MAX_UPLOAD_BYTES", 512 * MIB, minimum=1024),
        auth_rate_limit=auth_rate_limit,
        cors_origins=cors_origins,
        trusted_proxies=whole_number("TRUSTED_PROXIES", 0, minimum=0),
    )


def _broker_url(get: Callable[..., str | None]) -> str | None:
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        url = get(name)
        if not url:
            continue
        scheme, separator, _rest = url.partition("://")
        if not separator or scheme not in BROKER_SCHEMES:
            shown = re.sub(r"^(.*://)?[^@/]*@", r"\1***@", url)
            raise ConfigurationError(
                f"{name} must be a Redis URL such as redis://host:6379/0 or rediss://:password@host:6380/0, "
                f"got {shown!r}; leave it empty for the embedded transport"
            )
        return url
    return None


def _check_production_secrets(jwt_secret_key: str | None, users: tuple[User, ...]) -> None:
    if not jwt_secret_key:
        raise ConfigurationError("APP_ENV=production needs JWT_SECRET_KEY (at least 32 random characters)")
    if len(jwt_secret_key) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"APP_ENV=production needs a JWT_SECRET_KEY of at least {MIN_SECRET_LENGTH} characters, "
            f"got {len(jwt_secret_key)}"
        )
    if jwt_secret_key.lower() in KNOWN_SECRETS or jwt_secret_key.lower().startswith(("change", "replace", "your-")):
        raise ConfigurationError("APP_ENV=production refuses a placeholder JWT_SECRET_KEY; generate a random one")
    if not any(user.role == ADMIN for user in users):
        raise ConfigurationError("APP_ENV=production needs ADMIN_PASSWORD (a password or a werkzeug hash)")
