"""Reading the Postman collection in docs/postman: its requests as (method, OpenAPI path) pairs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

POSTMAN = ROOT / "docs" / "postman"
COLLECTION = POSTMAN / "hireflow.postman_collection.json"
ENVIRONMENT = POSTMAN / "local.postman_environment.json"
# Only GET requests and the sign-in POST: safe to run against production (docs/deploy-azure.md).
SMOKE_FOLDER = "Smoke (read-only, safe against production)"
# Written against the contract of POST /backup, GET /backups and POST /restore, which another branch adds.


def load(path: Path = COLLECTION) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def requests_in(node: dict[str, Any], folder: str = "") -> Iterator[tuple[str, str, str]]:
    """(folder, method, path) for every request, with ``{{variable}}`` path segments as ``{}``."""
    for item in node.get("item", []):
        if "item" in item:
            yield from requests_in(item, folder or item["name"])
            continue
        request = item["request"]
        segments = request["url"]["path"]
        path = "/" + "/".join("{}" if re.fullmatch(r"\{\{\w+\}\}", segment) else segment for segment in segments)
        yield folder, request["method"], path.rstrip("/") or "/"


def folders(collection: dict[str, Any]) -> list[str]:
    return [item["name"] for item in collection["item"] if "item" in item]


def spec_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return {
        (method.upper(), re.sub(r"\{\w+\}", "{}", path))
        for path, operations in spec["paths"].items()
        for method in operations
        if method in methods
    }
