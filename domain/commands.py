"""What a background job is asked to do: one small frozen command per kind of job.

A job's command is stored as JSON in ``background_jobs.params``. ``to_params`` and ``from_params``
give and take exactly the dicts earlier releases stored, so a job queued by one release runs on the next.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from domain.entities import TABLES
from domain.loads import RecordWindow


class JobCommand(abc.ABC):
    """The parameters of one kind of background job."""

    kind: ClassVar[str]

    @abc.abstractmethod
    def to_params(self) -> dict[str, Any]:
        """The JSON object stored for the job."""

    @classmethod
    @abc.abstractmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        """The command from its stored JSON object; ``KeyError``, ``TypeError`` or ``ValueError`` if it is not one."""


@dataclass(frozen=True)
class IngestSources(JobCommand):
    """Load each table from its CSV blob, in load order: ``(("departments", "departments.csv"), ...)``; with a
    ``window``, only those records of each blob."""

    kind: ClassVar[str] = "ingest"
    sources: tuple[tuple[str, str], ...]
    window: RecordWindow | None = None

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"sources": dict(self.sources)}
        if self.window is not None:
            params["window"] = self.window.as_dict()
        return params

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        sources = tuple((str(table), str(blob)) for table, blob in dict(params["sources"]).items())
        window = params.get("window")
        if window is None:
            return cls(sources)
        limit = window.get("limit")
        return cls(sources, RecordWindow(int(window["start"]), None if limit is None else int(limit)))


@dataclass(frozen=True)
class IngestPart(JobCommand):
    """Load one byte range of the parent's CSV blob, bytes ``start`` to ``end``, which begins on line ``first_line``.

    ``lines`` counts the lines of the whole blob; ``bytes_before`` and ``bytes_total`` place the blob among the
    parent's sources, for the parent's percentage.
    """

    kind: ClassVar[str] = "ingest_part"
    parent: str
    table: str
    blob: str
    start: int
    end: int
    first_line: int
    part: int
    parts: int
    lines: int
    bytes_before: int
    bytes_total: int

    def to_params(self) -> dict[str, Any]:
        return {
            "parent": self.parent,
            "table": self.table,
            "blob": self.blob,
            "start": self.start,
            "end": self.end,
            "first_line": self.first_line,
            "part": self.part,
            "parts": self.parts,
            "lines": self.lines,
            "bytes_before": self.bytes_before,
            "bytes_total": self.bytes_total,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        return cls(
            parent=str(params["parent"]),
            table=str(params["table"]),
            blob=str(params["blob"]),
            **{name: int(params[name]) for name in _PART_NUMBERS},
        )


_PART_NUMBERS = ("start", "end", "first_line", "part", "parts", "lines", "bytes_before", "bytes_total")


@dataclass(frozen=True)
class BackUpTables(JobCommand):
    """Back up the tables, in load order; then, with ``keep``, keep only the newest ``keep`` backups of each."""

    kind: ClassVar[str] = "backup"
    tables: tuple[str, ...] = tuple(TABLES)
    keep: int | None = None

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"tables": list(self.tables)}
        if self.keep is not None:
            params["keep"] = self.keep
        return params

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        tables, keep = params.get("tables"), params.get("keep")
        return cls(tuple(TABLES) if tables is None else tuple(map(str, tables)), None if keep is None else int(keep))


@dataclass(frozen=True)
class RestoreTables(JobCommand):
    """Replace each table with the backup named for it (``None``: its newest), all in one transaction."""

    kind: ClassVar[str] = "restore"
    backups: tuple[tuple[str, str | None], ...]

    def to_params(self) -> dict[str, Any]:
        return {"backups": dict(self.backups)}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        return cls(
            tuple(
                (str(table), None if backup_id is None else str(backup_id))
                for table, backup_id in params["backups"].items()
            )
        )


COMMANDS: dict[str, type[JobCommand]] = {
    command.kind: command for command in (IngestSources, BackUpTables, RestoreTables, IngestPart)
}
# Every kind of background job, in the order the API documents them.
JOB_KINDS = tuple(COMMANDS)
