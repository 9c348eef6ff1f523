"""``ensure-local-env``: a first local start gets a random signing key and admin password, once."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest
from dotenv import dotenv_values

from cli.local_env import ensure_local_env
from core.config import load_settings
from domain.errors import ConfigurationError
from tests.conftest import ROOT


def test_a_first_start_writes_a_private_env_with_a_random_key_and_admin_password(tmp_path):
    path = tmp_path / ".env"

    message = ensure_local_env(path, environ={})

    values = dotenv_values(path)
    assert len(values["JWT_SECRET_KEY"]) >= 32 and len(values["ADMIN_PASSWORD"]) >= 16
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f'"password": "{values["ADMIN_PASSWORD"]}"' in message
    assert "curl -s -X POST http://127.0.0.1:8000/auth/token" in message
    settings = load_settings({**values, "APP_ENV": "production"})
    settings.require_web_auth()


def test_a_second_start_changes_nothing_and_does_not_print_the_password(tmp_path):
    path = tmp_path / ".env"
    ensure_local_env(path, environ={})
    before = path.read_text()

    message = ensure_local_env(path, environ={})

    assert path.read_text() == before
    assert "<ADMIN_PASSWORD from .env>" in message and "wrote" not in message


def test_an_existing_env_keeps_its_values_and_only_gains_what_is_missing(tmp_path):
    path = tmp_path / ".env"
    path.write_text("DATABASE_URL=sqlite:///x.db\nADMIN_USERNAME=ops\nADMIN_PASSWORD=mine")

    message = ensure_local_env(path, environ={})

    values = dotenv_values(path)
    assert (values["DATABASE_URL"], values["ADMIN_PASSWORD"]) == ("sqlite:///x.db", "mine")
    assert values["JWT_SECRET_KEY"]
    assert message.startswith(f"wrote JWT_SECRET_KEY to {path}")
    assert '"username": "ops"' in message


def test_secrets_set_in_the_environment_are_not_written(tmp_path):
    path = tmp_path / ".env"

    ensure_local_env(path, environ={"JWT_SECRET_KEY": "from-the-environment", "ADMIN_PASSWORD": "set"})

    assert not path.exists()


def test_production_never_gets_a_generated_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="for local use"):
        ensure_local_env(tmp_path / ".env", environ={"APP_ENV": "production"})


def test_the_command_line_step_prints_the_curl_line(tmp_path):
    path = tmp_path / ".env"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "ensure-local-env", "--path", str(path)],
        env={"PATH": "/usr/bin:/bin", "PORT": "8123"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 0, completed.stderr
    assert "curl -s -X POST http://127.0.0.1:8123/auth/token" in completed.stdout
    assert dotenv_values(path)["ADMIN_PASSWORD"] in completed.stdout
