"""Blob storage adapters, chosen by ``STORAGE_URL``."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from core.config import Settings
from core.storage import BlobStorage
from domain.errors import ConfigurationError


def storage_from_settings(settings: Settings) -> BlobStorage:
    return storage_from_url(settings.storage_url, settings.azure_connection_string)


def storage_from_url(url: str, azure_connection_string: str | None = None) -> BlobStorage:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        from infra.storage.local import LocalFolderStorage

        return LocalFolderStorage(unquote(parsed.path))
    if parsed.scheme == "azure":
        from infra.storage.azure import AzureBlobStorage

        if not azure_connection_string:
            raise ConfigurationError("azure:// storage needs AZURE_STORAGE_CONNECTION_STRING")
        return AzureBlobStorage(azure_connection_string, parsed.netloc)
    raise ConfigurationError(f"STORAGE_URL must start with file:/// or azure://, got {url!r}")
