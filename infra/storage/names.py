"""Blob names are relative POSIX paths; anything that could escape the store is refused."""

from __future__ import annotations

from domain.errors import InvalidRequest


def check_blob_name(name: str) -> str:
    if not isinstance(name, str) or not name or len(name) > 1024:
        raise InvalidRequest("a blob name must be 1 to 1024 characters", {"name": str(name)[:100]})
    parts = name.split("/")
    if (
        name.startswith(("/", "\\"))
        or "\\" in name
        or "\x00" in name
        or any(part in ("", ".", "..") for part in parts)
        or (len(name) > 1 and name[1] == ":")
    ):
        raise InvalidRequest(
            "a blob name must be a relative path without '..', '.', empty parts or backslashes",
            {"name": name[:200]},
        )
    return name
