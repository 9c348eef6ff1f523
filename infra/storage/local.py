"""``LocalFolderStorage``: blobs as files under one folder (the embedded default)."""

from __future__ import annotations

import errno
import io
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from core.storage import BlobInfo, BlobStorage
from domain.errors import HireflowError, SourceNotFound, StorageFull, Unavailable
from infra.storage.names import check_blob_name

CHUNK = 1 << 20
# Files being written start with this; they are renamed into place when complete and never listed.
IN_PROGRESS = ".upload-"
NO_ROOM = (errno.ENOSPC, errno.EDQUOT)
NOT_SAVED = "; nothing was saved"


class LocalFolderStorage(BlobStorage):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*check_blob_name(name).split("/"))

    def open(self, name: str) -> IO[bytes]:
        path = self._path(name)
        try:
            return path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise SourceNotFound(f"no blob named {name!r} in storage", {"name": name}) from None

    def open_range(self, name: str, start: int, end: int) -> IO[bytes]:
        stream = self.open(name)
        stream.seek(start)
        return io.BufferedReader(ByteWindow(stream, end - start), CHUNK)

    def write(self, name: str, data: IO[bytes] | bytes) -> int:
        path = self._path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=IN_PROGRESS)
        except OSError as error:
            raise self._write_failed(error, NOT_SAVED) from None
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, CHUNK)
            os.replace(tmp, path)
        except BaseException as error:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise self._write_failed(error, NOT_SAVED) from None
            raise
        return path.stat().st_size

    def size(self, name: str) -> int | None:
        path = self._path(name)
        return path.stat().st_size if path.is_file() else None

    def list(self, prefix: str = "") -> list[BlobInfo]:
        found = []
        for dirpath, _dirs, files in os.walk(self.root):
            for filename in files:
                if filename.startswith(IN_PROGRESS):
                    continue
                full = Path(dirpath) / filename
                name = full.relative_to(self.root).as_posix()
                if name.startswith(prefix):
                    stat = full.stat()
                    modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                    found.append(BlobInfo(name, stat.st_size, modified))
        return sorted(found, key=lambda b: b.name)

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def check(self) -> None:
        """Write and delete a small probe file: a full or read-only disk fails here, not only a missing folder."""
        try:
            fd, probe = tempfile.mkstemp(dir=self.root, prefix=f"{IN_PROGRESS}probe-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(b"probe")
            finally:
                Path(probe).unlink(missing_ok=True)
        except OSError as error:
            raise self._write_failed(error) from None

    def _write_failed(self, error: OSError, consequence: str = "") -> HireflowError:
        # The folder and the system's words go to the log (through details), never to a client.
        details = {"folder": str(self.root), "reason": error.strerror or type(error).__name__}
        if error.errno in NO_ROOM:
            return StorageFull("the storage is full" + consequence, details)
        return Unavailable("the storage cannot be written" + consequence, details)


class ByteWindow(io.RawIOBase):
    """At most ``length`` bytes of ``stream``, from where it stands; closing it closes ``stream``."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        self._stream = stream
        self._left = max(0, length)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        data = self._stream.read(min(len(buffer), self._left))
        count = len(data)
        buffer[:count] = data
        self._left -= count
        return count

    def close(self) -> None:
        self._stream.close()
        super().close()
