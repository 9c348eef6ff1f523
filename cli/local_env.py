"""``ensure-local-env``: on a laptop, write a ``.env`` with a random signing key and admin password once."""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from core.config import PROJECT_ROOT
from domain.errors import ConfigurationError

LOCAL_ENV = PROJECT_ROOT / ".env"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    local = commands.add_parser(
        "ensure-local-env",
        help="write JWT_SECRET_KEY and ADMIN_PASSWORD to a local .env when they are not set (never overwrites)",
    )
    local.add_argument("--path", type=Path, default=LOCAL_ENV, help="the file to write (default: .env in the checkout)")
    local.set_defaults(handler=lambda args: print(ensure_local_env(args.path)) or 0)


def ensure_local_env(path: Path = LOCAL_ENV, environ: Mapping[str, str] | None = None) -> str:
    """Add the missing secrets to ``path`` (created 0600 if absent) and return how to get a token."""
    environ = os.environ if environ is None else environ
    existing = {k: v for k, v in dotenv_values(path).items() if v} if path.exists() else {}

    def current(name: str) -> str:
        return (environ.get(name) or existing.get(name) or "").strip()

    if current("APP_ENV").lower() == "production":
        raise ConfigurationError("ensure-local-env is for local use; in production set the secrets as app settings")
    added = {}
    if not current("JWT_SECRET_KEY"):
        added["JWT_SECRET_KEY"] = secrets.token_urlsafe(48)
    if not current("ADMIN_PASSWORD"):
        added["ADMIN_PASSWORD"] = secrets.token_urlsafe(18)
    if added:
        _append(path, added)
    username = current("ADMIN_USERNAME") or "admin"
    password = added.get("ADMIN_PASSWORD", "<ADMIN_PASSWORD from .env>")
    host = current("HOST") or "127.0.0.1"
    port = current("PORT") or current("WEBSITES_PORT") or "8000"
    written = f"wrote {', '.join(added)} to {path}\n" if added else ""
    from_file = "ADMIN_PASSWORD" in added or existing.get("ADMIN_PASSWORD") == current("ADMIN_PASSWORD")
    kept_in = str(path) if from_file else "the environment"
    return (
        f"{written}dashboard: http://{host}:{port}/ (sign in as {username}; the password is ADMIN_PASSWORD in "
        f"{kept_in})\n"
        f"get a token (valid {current('JWT_EXPIRES_MINUTES') or 30} minutes), then send "
        "'Authorization: Bearer <access_token>':\n"
        f"  curl -s -X POST http://{host}:{port}/auth/token -H 'Content-Type: application/json' "
        f"""-d '{{"username": "{username}", "password": "{password}"}}'"""
    )


def _append(path: Path, values: dict[str, str]) -> None:
    new = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        if new:
            handle.write("# Written by `python main.py ensure-local-env` for local use only. Never commit this file.\n")
        elif path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            handle.write("\n")
        for name, value in values.items():
            handle.write(f"{name}={value}\n")
