"""Security settings: read once, and a production start refuses anything unsafe with one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.config import load_settings
from domain.errors import ConfigurationError
from tests.conftest import ROOT

STRONG = "k3y-" + "x" * 40


def production(**env: str) -> dict[str, str]:
    return {"APP_ENV": "production", "JWT_SECRET_KEY": STRONG, "ADMIN_PASSWORD": "a-long-admin-password", **env}


def test_a_production_start_with_a_strong_key_and_an_admin_password_is_accepted():
    settings = load_settings(production())

    assert settings.is_production and settings.jwt_secret_key == STRONG
    assert [(user.name, user.role) for user in settings.users] == [("admin", "admin")]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JWT_SECRET_KEY": ""}, "APP_ENV=production needs JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": "short-key"}, "at least 32 characters, got 9"),
        ({"JWT_SECRET_KEY": "change-me-to-a-long-random-value-please"}, "refuses a placeholder JWT_SECRET_KEY"),
        ({"ADMIN_PASSWORD": ""}, "APP_ENV=production needs ADMIN_PASSWORD"),
    ],
)
def test_production_refuses_a_missing_short_or_placeholder_secret_and_a_missing_admin(env, message):
    with pytest.raises(ConfigurationError, match=message):
        load_settings(production(**env))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"APP_ENV": "staging"}, "APP_ENV must be development or production"),
        ({"AUTH_RATE_LIMIT": "lots"}, "AUTH_RATE_LIMIT must read like"),
        ({"CORS_ORIGINS": "example.com"}, "CORS_ORIGINS must list origins"),
        ({"MAX_REQUEST_BYTES": "10"}, "MAX_REQUEST_BYTES must be a whole number of at least 1024"),
        ({"JWT_EXPIRES_MINUTES": "0"}, "JWT_EXPIRES_MINUTES must be a whole number"),
        ({"READER_PASSWORD": "x", "READER_USERNAME": ""}, "READER_PASSWORD is set but READER_USERNAME is not"),
        ({"ADMIN_PASSWORD": "pbkdf2:sha256:1000$salt"}, "ADMIN_PASSWORD looks like a hash but is not one"),
        ({"ADMIN_PASSWORD": "p", "READER_USERNAME": "admin", "READER_PASSWORD": "q"}, "must differ"),
    ],
)
def test_a_wrong_security_setting_fails_at_start(env, message):
    with pytest.raises(ConfigurationError, match=message):
        load_settings(env)


def test_the_web_server_needs_a_signing_key_and_an_admin_even_in_development():
    with pytest.raises(ConfigurationError, match="JWT_SECRET_KEY is not set"):
        load_settings({"ADMIN_PASSWORD": "p"}).require_web_auth()
    with pytest.raises(ConfigurationError, match="ADMIN_PASSWORD is not set"):
        load_settings({"JWT_SECRET_KEY": "k"}).require_web_auth()


def test_cors_is_off_by_default_and_reads_a_comma_separated_list():
    assert load_settings({}).cors_origins == ()
    assert load_settings({"CORS_ORIGINS": "https://a.example, http://b.example:8080/"}).cors_origins == (
        "https://a.example",
        "http://b.example:8080",
    )


def test_serve_in_production_with_a_default_secret_stops_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "APP_ENV": "production", "JWT_SECRET_KEY": "change-me", "ADMIN_PASSWORD": "x"}
    command = [sys.executable, str(ROOT / "main.py"), "serve"]
    completed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        "hireflow: configuration error: APP_ENV=production needs a JWT_SECRET_KEY of at least 32 characters, got 9"
    ]
