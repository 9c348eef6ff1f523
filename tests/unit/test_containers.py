"""The Dockerfile, docker-compose.yml and .env.example agree with the code (Docker itself is not needed)."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml
from dotenv import dotenv_values

from core.config import ENVIRONMENT_VARIABLES, load_settings
from main import build_parser
from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = ROOT / ".env.example"
# Read by docker-compose.yml for the database containers, never by hireflow.
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "MSSQL_SA_PASSWORD", "AZURITE_DEVELOPMENT_KEY"}


def instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def ours() -> dict[str, dict[str, Any]]:
    """The services that run the hireflow image."""
    return {name: s for name, s in SERVICES.items() if str(s.get("image", "")).startswith("hireflow")}


def cli_commands() -> set[str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return set(subparsers.choices)


def test_the_image_is_slim_python_311_and_runs_as_a_user_that_is_not_root():
    base = stages()[0]
    assert base[0] == ("FROM", "python:3.11-slim AS base")
    for stage in stages():
        users = [value for name, value in stage if name == "USER"]
        inherits_base = stage[0][1].startswith("base ")
        assert (users and users[-1] not in ("root", "0")) or inherits_base, stage[0]
    assert stages()[-1][0] == ("FROM", "base AS default")


def test_the_image_serves_with_gunicorn_through_main_py_and_checks_its_health_on_the_configured_port():
    found = dict(instructions())
    assert shlex.split(found["CMD"].replace("[", "").replace("]", "").replace(",", " ")) == [
        "python",
        "main.py",
        "serve",
    ]
    assert "serve" in cli_commands()
    assert found["EXPOSE"] == "8000"
    healthcheck = found["HEALTHCHECK"]
    assert "/health" in healthcheck
    assert "os.environ.get('PORT') or os.environ.get('WEBSITES_PORT') or '8000'" in healthcheck
    assert "ENV" in found and "HOST=0.0.0.0" in found["ENV"] and "PYTHONUNBUFFERED=1" in found["ENV"]


def test_the_image_installs_unixodbc_and_the_pinned_requirements_and_copies_every_package():
    text = " ".join(value for name, value in instructions() if name in ("RUN", "COPY"))
    assert "unixodbc" in text and "pip install -r requirements.txt" in text
    copied = {value.split()[0].rstrip("/") for name, value in instructions() if name == "COPY"}
    for needed in ("domain", "core", "infra", "api", "cli", "requirements.txt"):
        assert needed in copied and (ROOT / needed).exists()
    assert "main.py bootstrap.py celery_worker.py ./" in DOCKERFILE
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def test_compose_has_the_services_and_the_mssql_profile():
    assert {"api", "worker", "beat", "redis", "azurite", "postgres"} <= set(SERVICES)
    assert all("profiles" not in SERVICES[name] for name in ("api", "worker", "beat", "redis", "azurite", "postgres"))
    assert SERVICES["mssql"]["profiles"] == SERVICES["api-mssql"]["profiles"] == ["mssql"]
    assert SERVICES["api-mssql"]["build"]["target"] == "mssql"
    assert "mssql+pyodbc://" in SERVICES["api-mssql"]["environment"]["DATABASE_URL"]
    assert re.search(r"^FROM base AS mssql$", DOCKERFILE, re.MULTILINE)


@pytest.mark.parametrize("name", sorted(ours()))
def test_every_hireflow_service_runs_a_command_main_py_has(name):
    command = SERVICES[name]["command"]

    assert command[:2] == ["python", "main.py"]
    assert command[2] in cli_commands()


@pytest.mark.parametrize("name", sorted(ours()))
def test_every_variable_a_hireflow_service_sets_is_one_the_code_reads(name):
    environment = SERVICES[name]["environment"]

    assert sorted(set(environment) - set(ENVIRONMENT_VARIABLES)) == []
    assert environment["APP_ENV"] == "production"
    assert SERVICES[name]["env_file"] == ".env"


def test_the_published_ports_match_the_port_each_api_listens_on():
    for name in ("api", "api-mssql"):
        service = SERVICES[name]
        published = [mapping.split(":") for mapping in service["ports"]]
        assert [container for _host, container in published] == [service["environment"]["PORT"]]
        assert service["environment"]["HOST"] == "0.0.0.0"
        assert f"127.0.0.1:{service['environment']['PORT']}/health" in " ".join(service["healthcheck"]["test"])
    assert [m.split(":")[0] for m in SERVICES["api"]["ports"] + SERVICES["api-mssql"]["ports"]] == ["8000", "8001"]


def test_every_dependency_waits_for_a_health_check_or_a_finished_one_shot():
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            target = SERVICES[dependency]
            if rule["condition"] == "service_completed_successfully":
                assert "healthcheck" not in target and "restart" not in target, (name, dependency)
            else:
                assert rule["condition"] == "service_healthy", (name, dependency)
                assert target["healthcheck"].get("test") and not target["healthcheck"].get("disable"), dependency


def test_every_long_running_service_has_a_health_check_or_says_why_not():
    compose_text = (ROOT / "docker-compose.yml").read_text()
    for name, service in SERVICES.items():
        if name == "mssql-init":
            continue
        check = service.get("healthcheck", {})
        assert check.get("test") or check.get("disable"), name
    assert "a worker serves none" in compose_text


def test_env_example_lists_every_setting_the_code_reads_and_nothing_else():
    listed = set(dotenv_values(ENV_EXAMPLE))

    assert sorted(set(ENVIRONMENT_VARIABLES) - listed) == []
    assert sorted(listed - set(ENVIRONMENT_VARIABLES) - COMPOSE_ONLY) == []


def test_env_example_holds_safe_values_that_start_the_service():
    values = {k: v or "" for k, v in dotenv_values(ENV_EXAMPLE).items() if k in ENVIRONMENT_VARIABLES}

    settings = load_settings(values)

    assert settings.jwt_secret_key is None and settings.users == ()
    assert settings.cors_origins == () and settings.app_env == "development"


def test_every_variable_compose_interpolates_is_in_env_example():
    wanted = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))

    assert wanted and sorted(wanted - set(dotenv_values(ENV_EXAMPLE))) == []


def test_the_code_reads_no_environment_variable_outside_the_list():
    config = (ROOT / "core" / "config.py").read_text()
    literal = set(re.findall(r'(?:get|whole_number)\("([A-Z][A-Z0-9_]+)"', config))

    assert literal and literal <= set(ENVIRONMENT_VARIABLES)
    reads = [line.strip() for line in config.splitlines() if "os.environ" in line and '"""' not in line]
    assert reads == ["env = dict(os.environ if environ is None else environ)"]
