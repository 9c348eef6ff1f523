"""``AzureBlobStorage``: blobs in one Azure Storage container, streamed in chunks both ways."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, cast
from urllib.parse import urlparse

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient, ExponentialRetry

from core.storage import BlobInfo, BlobStorage
from domain.errors import ConfigurationError, SourceNotFound, Unavailable
from infra.storage.names import check_blob_name

# Download ranges stay small because the SDK gathers each range with list() over a
# generator whose len() is the range size, so it reserves 8 bytes per byte of range.
# 512 KiB ranges and 1 MiB blocks keep a transfer to a few MiB whatever the blob size;
# a 5 GB blob takes about 10,000 GETs or 5,000 blocks (Azure allows 50,000 blocks).
READ_CHUNK = 512 << 10
WRITE_BLOCK = 1 << 20
CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")
PROBE_PREFIX = ".probe/"
UNREACHABLE = "Azure blob storage cannot be reached"
NOT_WRITTEN = "Azure blob storage refused the write; nothing was saved"
NO_CONTAINER = "Azure blob storage refused access to the container"


class AzureBlobStorage(BlobStorage):
    def __init__(
        self,
        connection_string: str,
        container: str,
        *,
        read_chunk: int = READ_CHUNK,
        write_block: int = WRITE_BLOCK,
        connection_timeout: float = 5,
        read_timeout: float = 60,
        retries: int = 3,
    ) -> None:
        if not CONTAINER_NAME.match(container):
            raise ConfigurationError(
                "an Azure container name must be 3 to 63 lowercase letters, digits or single hyphens",
                {"container": container},
            )
        self._container_name = container
        self._container = self._client(
            connection_string,
            connection_timeout=connection_timeout,
            read_timeout=read_timeout,
            retry_policy=ExponentialRetry(
                initial_backoff=1, increment_base=2, retry_total=retries, random_jitter_range=1
            ),
            max_single_get_size=read_chunk,
            max_chunk_get_size=read_chunk,
            max_single_put_size=write_block,
            max_block_size=write_block,
        )
        # The first contact, and /health, ask once and soon: a wrong key or endpoint is reported in seconds.
        self._probe = self._client(
            connection_string,
            connection_timeout=2,
            read_timeout=5,
            retry_policy=ExponentialRetry(retry_total=0),
        )
        self._container_ready = False

    def _client(self, connection_string: str, **options: Any) -> ContainerClient:
        try:
            service = BlobServiceClient.from_connection_string(connection_string, **options)
        except ValueError as error:
            raise ConfigurationError(f"the Azure storage connection string is not valid: {error}") from None
        return service.get_container_client(self._container_name)

    def _ready(self) -> ContainerClient:
        if not self._container_ready:
            # The first contact asks once, through the probe client: a wrong endpoint fails in seconds.
            with self._reachable(), self._refused(NO_CONTAINER):
                _create_if_missing(self._probe)
            self._container_ready = True
        return self._container

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        except (ServiceRequestError, ServiceResponseError) as error:
            raise Unavailable(UNREACHABLE, self._failure(error)) from error

    @contextmanager
    def _refused(self, message: str) -> Iterator[None]:
        """The service answered with an error (container gone, no permission, account full, busy): ``Unavailable``."""
        try:
            yield
        except HttpResponseError as error:
            if isinstance(error, ResourceNotFoundError):
                self._container_ready = False  # deleted under us: create it again on the next call
            raise Unavailable(message, self._failure(error)) from error

    def _failure(self, error: AzureError) -> dict[str, Any]:
        """What the log and the command line get about a failed call; an API client never sees it."""
        return {
            "reason": self._describe(error),
            "url": self._container.url,
            "error": type(error).__name__,
            "status": getattr(error, "status_code", None),
            "error_code": getattr(error, "error_code", None),
        }

    def _describe(self, error: AzureError) -> str:
        """One line: the endpoint, the account, what went wrong and what to check; never the key."""
        url = urlparse(self._probe.url)
        port = url.port or (443 if url.scheme == "https" else 80)
        where = f"Azure Blob Storage at {url.hostname}:{port} (account {self._probe.account_name})"
        if isinstance(error, HttpResponseError) and error.status_code == 403:
            return (
                f"{where} refused the request ({_code(error)}): check AccountName and AccountKey "
                "in AZURE_STORAGE_CONNECTION_STRING, and the storage account's firewall"
            )
        if isinstance(error, HttpResponseError):
            return f"{where} answered {error.status_code} {_code(error)}"
        text = str(error.message or error)
        if re.search(r"resolve|name or service not known|nodename|getaddrinfo", text, re.IGNORECASE):
            what = "its host name does not resolve"
        elif re.search(r"timed out|timeout", text, re.IGNORECASE):
            what = "it did not answer in time"
        elif "refused" in text.lower():
            what = "the connection was refused"
        else:
            what = type(error).__name__
        return (
            f"{where} cannot be reached: {what}; check BlobEndpoint (or AccountName and EndpointSuffix) "
            "in AZURE_STORAGE_CONNECTION_STRING, and that this machine can reach it"
        )

    def _blob(self, name: str) -> BlobClient:
        checked = check_blob_name(name)
        return self._ready().get_blob_client(checked)

    def _not_found(self, name: str) -> SourceNotFound:
        return SourceNotFound(f"no blob named {name!r} in storage", {"name": name})

    def open(self, name: str) -> IO[bytes]:
        blob = self._blob(name)
        with self._reachable():
            try:
                download = blob.download_blob(max_concurrency=1)
            except ResourceNotFoundError:
                raise self._not_found(name) from None
        return io.BufferedReader(_ChunkStream(download.chunks(), self._reachable), 1 << 16)

    def open_range(self, name: str, start: int, end: int) -> IO[bytes]:
        if end <= start:
            return io.BytesIO(b"")
        blob = self._blob(name)
        with self._reachable():
            try:
                download = blob.download_blob(offset=start, length=end - start, max_concurrency=1)
            except ResourceNotFoundError:
                raise self._not_found(name) from None
        return io.BufferedReader(_ChunkStream(download.chunks(), self._reachable), 1 << 16)

    def write(self, name: str, data: IO[bytes] | bytes) -> int:
        blob = self._blob(name)
        # A blob is committed whole or not at all: a refused write leaves nothing behind.
        with self._reachable(), self._refused(NOT_WRITTEN):
            if isinstance(data, (bytes, bytearray, memoryview)):
                payload = bytes(data)
                blob.upload_blob(payload, length=len(payload), overwrite=True, max_concurrency=1)
                return len(payload)
            counted = _CountingStream(data)
            blob.upload_blob(cast(IO[bytes], counted), overwrite=True, max_concurrency=1)
            return counted.count

    def size(self, name: str) -> int | None:
        blob = self._blob(name)
        with self._reachable():
            try:
                return int(blob.get_blob_properties().size)
            except ResourceNotFoundError:
                return None

    def list(self, prefix: str = "") -> list[BlobInfo]:
        container = self._ready()
        with self._reachable():
            found = [
                BlobInfo(blob.name, int(blob.size), blob.last_modified)
                for blob in container.list_blobs(name_starts_with=prefix or None)
                if not blob.name.startswith(PROBE_PREFIX)
            ]
        return sorted(found, key=lambda b: b.name)

    def delete(self, name: str) -> None:
        blob = self._blob(name)
        with self._reachable():
            try:
                blob.delete_blob()
            except ResourceNotFoundError:
                pass

    def check(self) -> None:
        """Write and delete a small probe blob: a container that cannot take a write fails here too."""
        probe = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        try:
            _create_if_missing(self._probe)
            self._container_ready = True
            self._probe.upload_blob(probe, b"probe", overwrite=True)
            self._probe.delete_blob(probe)
        except (ServiceRequestError, ServiceResponseError) as error:
            raise Unavailable(UNREACHABLE, self._failure(error)) from error
        except AzureError as error:
            raise Unavailable("Azure blob storage cannot take a write", self._failure(error)) from error


def _create_if_missing(container: ContainerClient) -> None:
    if container.exists():
        return
    try:
        container.create_container()
    except ResourceExistsError:
        pass


class _ChunkStream(io.RawIOBase):
    """A raw binary stream over an iterator of downloaded chunks; only the current chunk is held."""

    def __init__(self, chunks: Iterator[bytes], reachable: Callable[[], Any]) -> None:
        self._chunks: Iterator[bytes] | None = chunks
        self._reachable = reachable
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._chunks is None:
                return 0
            with self._reachable():
                chunk = next(self._chunks, None)
            if chunk is None:
                self._chunks = None
                return 0
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        self._chunks = None
        self._pending = memoryview(b"")
        super().close()


class _CountingStream:
    """Hands the SDK a forward-only stream, so it uploads in blocks, and counts the bytes it read."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data = self._source.read()
        else:
            parts = []
            wanted = size
            while wanted > 0 and (part := self._source.read(wanted)):
                parts.append(part)
                wanted -= len(part)
            data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.count += len(data)
        return data


def _code(error: HttpResponseError) -> str:
    code = getattr(error, "error_code", None)  # set by the storage SDK on the errors it raises
    return str(getattr(code, "value", code) or error.reason or error.status_code)
