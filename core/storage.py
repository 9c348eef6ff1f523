"""Blob storage, where CSV sources, uploads and backups live: the one port every capability shares."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import IO


@dataclass(frozen=True)
class BlobInfo:
    name: str
    size: int
    modified: datetime | None = None


class BlobStorage(abc.ABC):
    """A flat namespace of named blobs (``backups/jobs/x.avro``), read and written as streams."""

    @abc.abstractmethod
    def open(self, name: str) -> IO[bytes]:
        """A readable binary stream over the blob; raises ``SourceNotFound`` if there is none."""

    @abc.abstractmethod
    def open_range(self, name: str, start: int, end: int) -> IO[bytes]:
        """A readable binary stream over bytes ``start`` to ``end`` (excluded) of the blob."""

    @abc.abstractmethod
    def write(self, name: str, data: IO[bytes] | bytes) -> int:
        """Store the blob from a stream (read in chunks) or bytes, replacing any old one; return its size.

        All or nothing: a write that fails (``StorageFull``, ``Unavailable``) leaves no part of the blob,
        and an old blob of that name as it was.
        """

    @abc.abstractmethod
    def size(self, name: str) -> int | None:
        """The blob's size in bytes, or None if it does not exist."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[BlobInfo]:
        """Blobs whose names start with ``prefix``, sorted by name."""

    @abc.abstractmethod
    def delete(self, name: str) -> None:
        """Remove the blob; removing a missing blob is not an error."""

    @abc.abstractmethod
    def check(self) -> None:
        """Write and delete a small probe blob; raise ``Unavailable`` (``StorageFull`` if full) when that fails."""

    def exists(self, name: str) -> bool:
        return self.size(name) is not None
