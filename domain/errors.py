"""Errors of our own; one place in the API maps them to HTTP status codes."""

from __future__ import annotations


class HireflowError(Exception):
    """Base of every error the service reports to its users."""

    code = "error"

    def __init__(self, message: str, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class UnknownTable(HireflowError):
    code = "unknown_table"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"unknown table {name!r}; expected one of departments, jobs, hired_employees",
            {"table": name},
        )


class InvalidRequest(HireflowError):
    code = "invalid_request"


class UnsupportedContentType(InvalidRequest):
    code = "unsupported_content_type"


class BatchTooLarge(InvalidRequest):
    code = "batch_too_large"


class EmptyBatch(InvalidRequest):
    code = "empty_batch"


class NotFound(HireflowError):
    code = "not_found"


class RowNotFound(NotFound):
    code = "row_not_found"


class SourceNotFound(NotFound):
    code = "source_not_found"


class Unavailable(HireflowError):
    """A backing service (database, broker, storage) cannot be reached."""

    code = "unavailable"


class StorageFull(HireflowError):
    """The storage has no room left: the write was abandoned and nothing of it was kept."""

    code = "storage_full"


class ConfigurationError(HireflowError):
    code = "configuration_error"


class BackupNotFound(NotFound):
    code = "backup_not_found"


class InvalidBackupId(InvalidRequest):
    code = "invalid_backup_id"


class InvalidBackup(HireflowError):
    """The backup file cannot be trusted: wrong checksum, schema, row count, or a row that breaks the rules."""

    code = "invalid_backup"


class RestoreRefused(HireflowError):
    """Restoring would break the data: rows pointing at ids that would no longer exist."""

    code = "restore_refused"


class TableBusy(HireflowError):
    """A restore and another job that writes the same table cannot both be pending or running."""

    code = "table_busy"


class BackupFailed(HireflowError):
    code = "backup_failed"


class JobFinished(HireflowError):
    """The job has already finished; it can no longer be changed."""

    code = "job_finished"


class NotAuthenticated(HireflowError):
    """No valid bearer token: missing, malformed, forged, expired, or for a user no longer configured."""

    code = "not_authenticated"


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class TokenExpired(NotAuthenticated):
    code = "token_expired"


class InvalidToken(NotAuthenticated):
    code = "invalid_token"


class NotAllowed(HireflowError):
    """A valid token whose role may not do this."""

    code = "forbidden"
