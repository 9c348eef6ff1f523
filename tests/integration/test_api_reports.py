from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from bootstrap import Services, bootstrap
from core.config import load_settings
from core.ingest.loader import ingest_sources
from core.reports.hiring import MEAN_DEFINITION
from domain.entities import TABLES
from infra.storage.local import LocalFolderStorage
from tests import challenge
from tests.conftest import READER, hireflow_environ, sign_in


def challenge_app(database_url: str, challenge_dir: Path, tmp_path: Path) -> tuple[Flask, Services]:
    settings = load_settings(hireflow_environ(tmp_path, database_url))
    services = bootstrap(settings)
    ingest_sources(services.database, LocalFolderStorage(challenge_dir), {t: f"{t}.csv" for t in TABLES})
    return create_app(services=services), services


@pytest.fixture
def client(database_url: str, challenge_dir: Path, tmp_path: Path) -> Iterator[FlaskClient]:
    app, services = challenge_app(database_url, challenge_dir, tmp_path)
    yield sign_in(app.test_client(), READER)
    services.dispose()


def test_hired_by_quarter_defaults_to_2021_and_counts_every_hire(client: FlaskClient, challenge_dir: Path) -> None:
    response = client.get("/report/hired-by-quarter")

    body = response.get_json()
    assert response.status_code == 200
    assert body["year"] == 2021
    assert sum(r["Q1"] + r["Q2"] + r["Q3"] + r["Q4"] for r in body["rows"]) == len(
        challenge.hires_in(challenge_dir, 2021)
    )
    assert list(body["rows"][0]) == ["department", "job", "Q1", "Q2", "Q3", "Q4"]


def test_hiring_above_average_answers_the_mean_and_the_departments_above_it(client: FlaskClient) -> None:
    body = client.get("/report/hiring-above-average?year=2021").get_json()

    assert body["year"] == 2021
    assert body["mean"] == pytest.approx(1643 / 12)
    assert body["rows"][0] == {"id": 8, "department": "Support", "hired": 216}
    assert all(row["hired"] > body["mean"] for row in body["rows"])


def test_another_year_is_reported_when_asked(client: FlaskClient, challenge_dir: Path) -> None:
    body = client.get("/report/hired-by-quarter?year=2022").get_json()

    assert body["year"] == 2022
    assert sum(r["Q1"] + r["Q2"] + r["Q3"] + r["Q4"] for r in body["rows"]) == len(
        challenge.hires_in(challenge_dir, 2022)
    )


@pytest.mark.parametrize("path", ["/report/hired-by-quarter", "/report/hiring-above-average"])
@pytest.mark.parametrize("year", ["abc", "2021.5", "2021.0", "", "1899", "2101", "-2021", "99999999999999999999"])
def test_a_year_that_is_not_a_sensible_whole_number_is_a_400(client: FlaskClient, path: str, year: str) -> None:
    response = client.get(path, query_string={"year": year})

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert "year" in error["details"]["query"]


def test_an_unknown_format_is_a_400(client: FlaskClient) -> None:
    response = client.get("/report/hired-by-quarter?format=xml")

    assert response.status_code == 400
    assert "format" in response.get_json()["error"]["details"]["query"]


def test_hired_by_quarter_as_csv_has_a_header_and_the_same_rows(client: FlaskClient) -> None:
    as_json = client.get("/report/hired-by-quarter").get_json()["rows"]
    response = client.get("/report/hired-by-quarter?format=csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0] == ["department", "job", "Q1", "Q2", "Q3", "Q4"]
    assert lines[1:] == [[r["department"], r["job"], *(str(r[q]) for q in ("Q1", "Q2", "Q3", "Q4"))] for r in as_json]


def test_hiring_above_average_as_csv_has_a_header_and_the_same_rows(client: FlaskClient) -> None:
    as_json = client.get("/report/hiring-above-average").get_json()["rows"]
    response = client.get("/report/hiring-above-average?format=csv&year=2021")

    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("id,department,hired\r\n8,Support,216\r\n")
    assert list(csv.reader(io.StringIO(text)))[1:] == [
        [str(r["id"]), r["department"], str(r["hired"])] for r in as_json
    ]


def test_the_openapi_description_states_the_definition_of_the_mean(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()

    operation = spec["paths"]["/report/hiring-above-average"]["get"]
    assert MEAN_DEFINITION in operation["description"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}


def test_sqlite_and_postgresql_answer_byte_identical_reports(
    sqlite_url: str, postgres_url: str, challenge_dir: Path, tmp_path: Path
) -> None:
    bodies = []
    for name, url in (("sqlite", sqlite_url), ("postgresql", postgres_url)):
        app, services = challenge_app(url, challenge_dir, tmp_path / name)
        client = sign_in(app.test_client(), READER)
        bodies.append(
            [
                client.get(path).get_data()
                for path in (
                    "/report/hired-by-quarter?year=2021",
                    "/report/hiring-above-average?year=2021",
                    "/report/hired-by-quarter?year=2021&format=csv",
                    "/report/hiring-above-average?year=2022&format=csv",
                )
            ]
        )
        services.dispose()

    assert bodies[0] == bodies[1]
