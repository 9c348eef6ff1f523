"""Reading rows back over HTTP, on SQLite and PostgreSQL: pages in id order that chain through ``next`` to every
row once, filters that combine, one row by id, a 404 for a missing one, a 400 for a bad value, readers allowed."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api import create_app
from bootstrap import Services, bootstrap
from core.config import load_settings
from tests.conftest import ADMIN, READER, hireflow_environ, sign_in
from tests.integration.test_api_reports import challenge_app
from tests.job_fakes import FakeJobQueue


@pytest.fixture
def loaded(database_url: str, challenge_dir: Path, tmp_path: Path) -> Iterator[Services]:
    _app, services = challenge_app(database_url, challenge_dir, tmp_path)
    yield services
    services.dispose()


@pytest.fixture
def reader(loaded: Services) -> FlaskClient:
    return sign_in(create_app(services=loaded).test_client(), READER)


def stored_employees(challenge_dir: Path) -> dict[int, dict[str, Any]]:
    """The challenge's valid employees, keyed by id, as the API answers them."""
    rows = {}
    with (challenge_dir / "hired_employees.csv").open(newline="", encoding="utf-8") as f:
        for record in csv.reader(f):
            row_id, name, moment, department, job = record
            if all(record):
                hired = datetime.fromisoformat(moment).astimezone(UTC).replace(tzinfo=None)
                rows[int(row_id)] = {
                    "id": int(row_id),
                    "name": name,
                    "datetime": f"{hired.isoformat()}Z",
                    "department_id": int(department),
                    "job_id": int(job),
                }
    return rows


def every_page(client: FlaskClient, first: str) -> list[dict[str, Any]]:
    pages, link = [], first
    while link is not None:
        response = client.get(link)
        assert response.status_code == 200, response.get_json()
        pages.append(response.get_json())
        link = pages[-1]["next"]
    return pages


def test_following_next_from_the_first_page_reads_every_employee_once_in_id_order(reader, challenge_dir):
    pages = every_page(reader, "/hired-employees?limit=500")

    items = [row for page in pages for row in page["items"]]
    assert [len(page["items"]) for page in pages] == [500, 500, 500, 429]
    assert items == sorted(stored_employees(challenge_dir).values(), key=lambda row: row["id"])
    assert pages[0]["next"] == f"/hired-employees?limit=500&after_id={items[499]['id']}"
    assert pages[0]["next_after_id"] == items[499]["id"]
    assert pages[-1]["next"] is None and pages[-1]["next_after_id"] is None


def test_departments_and_jobs_are_read_with_the_default_page_of_100(reader):
    departments = reader.get("/departments").get_json()
    jobs = every_page(reader, "/jobs")

    assert departments["items"][:2] == [{"id": 1, "department": "Product Management"}, {"id": 2, "department": "Sales"}]
    assert len(departments["items"]) == 12 and departments["next"] is None and departments["limit"] == 100
    assert [len(page["items"]) for page in jobs] == [100, 83]
    assert jobs[0]["items"][0] == {"id": 1, "job": "Marketing Assistant"}


def test_filters_combine_and_the_next_link_keeps_them(reader, challenge_dir):
    wanted = [
        row
        for row in stored_employees(challenge_dir).values()
        if row["department_id"] == 8 and "2021-04-01" <= row["datetime"] < "2021-07-01" and 100 <= row["id"] <= 1500
    ]
    query = "department_id=8&hired_from=2021-04-01&hired_before=2021-07-01T00:00:00%2B00:00&min_id=100&max_id=1500"

    pages = every_page(reader, f"/hired-employees?{query}&limit=7")

    assert [row for page in pages for row in page["items"]] == sorted(wanted, key=lambda row: row["id"])
    assert len(pages) > 1
    assert all("department_id=8" in page["next"] and "hired_from=2021-04-01" in page["next"] for page in pages[:-1])


def test_a_job_filter_and_an_id_range_that_hold_nothing_answer_an_empty_last_page(reader):
    body = reader.get("/hired-employees?job_id=1&min_id=5&max_id=4").get_json()

    assert body == {"items": [], "limit": 100, "next_after_id": None, "next": None}


def test_hire_time_bounds_in_any_year_keep_every_row_or_none(reader):
    everyone = reader.get("/hired-employees?limit=1000&hired_from=0001-01-01t00:00:00%2B05:00").get_json()
    nobody = reader.get("/hired-employees?hired_from=9999-12-31T23:59:59-05:00").get_json()

    assert len(everyone["items"]) == 1000 and everyone["next"] is not None
    assert nobody["items"] == []


def test_one_row_is_read_by_its_id_in_each_table(reader, challenge_dir):
    employee = stored_employees(challenge_dir)[1]

    assert reader.get("/hired-employees/1").get_json() == employee
    assert reader.get("/departments/8").get_json() == {"id": 8, "department": "Support"}
    assert reader.get("/jobs/1").get_json() == {"id": 1, "job": "Marketing Assistant"}


@pytest.mark.parametrize("path", ["/departments/13", "/jobs/999999", "/hired-employees/2", "/jobs/99999999999"])
def test_a_missing_row_is_a_404_in_json(reader, path):
    response = reader.get(path)

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] in ("row_not_found", "not_found")


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "after_id=-1",
        "min_id=0",
        "department_id=1.5",
        "hired_from=yesterday",
        "hired_from=2021-01-01T00:00:00",  # no timezone: refused, as on insert
        "hired_before=2021-02-30",
        "page=2",
    ],
)
def test_a_bad_query_value_is_a_400_in_json_that_names_it(reader, query):
    response = reader.get(f"/hired-employees?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.get_data(as_text=True)


def test_employee_filters_are_not_accepted_on_departments(reader):
    response = reader.get("/departments?department_id=1")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "unknown_parameter"


def test_reading_needs_a_token_and_posting_still_needs_the_admin(loaded):
    app = create_app(services=loaded)

    assert app.test_client().get("/departments").status_code == 401
    reader = sign_in(app.test_client(), READER)
    assert reader.post("/departments", json=[{"id": 20, "department": "Legal"}]).status_code == 403
    admin = sign_in(app.test_client(), ADMIN)
    assert admin.post("/departments", json=[{"id": 20, "department": "Legal"}]).get_json()["inserted"] == 1
    assert admin.get("/departments/20").get_json() == {"id": 20, "department": "Legal"}


def test_a_post_without_a_body_still_queues_the_file_from_storage(loaded, challenge_dir):
    loaded.queue = FakeJobQueue()  # type: ignore[misc]
    loaded.storage.write("jobs.csv", (challenge_dir / "jobs.csv").read_bytes())
    admin = sign_in(create_app(services=loaded).test_client(), ADMIN)

    response = admin.post("/jobs")

    assert response.status_code == 202, response.get_json()
    assert loaded.queue.queued == [response.get_json()["task_id"]]


def test_the_spec_documents_the_read_routes_and_their_parameters(loaded):
    spec = create_app(services=loaded).test_client().get("/openapi.json").get_json()

    employees = spec["paths"]["/hired-employees"]
    assert {"get", "post"} <= set(employees)
    names = [p["name"] for p in employees["get"]["parameters"] if p["in"] == "query"]
    assert names == ["after_id", "limit", "min_id", "max_id", "department_id", "job_id", "hired_from", "hired_before"]
    assert set(spec["paths"]["/departments/{row_id}"]["get"]["responses"]) >= {"200", "404"}
    assert {p["name"] for p in spec["paths"]["/jobs"]["get"]["parameters"]} == {"after_id", "limit", "min_id", "max_id"}


def test_an_empty_database_answers_an_empty_page(database_url, tmp_path):
    services = bootstrap(load_settings(hireflow_environ(tmp_path, database_url)))
    try:
        reader = sign_in(create_app(services=services).test_client(), READER)
        assert reader.get("/hired-employees").get_json()["items"] == []
    finally:
        services.dispose()
