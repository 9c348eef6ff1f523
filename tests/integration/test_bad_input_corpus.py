"""Malformed input, file by file and body by body: a clear 4xx or a per-row rejection with reasons,
never a 500, and every valid row of the same input still lands.

CSV files in ``tests/corpus/csv`` go through ``POST /upload-files`` and the worker's job; a file named
``<table>__<case>.csv`` is uploaded as that table, any other as ``hired_employees``. Each keeps the
valid row ``9001,Ada Lovelace,...`` unless its point is that nothing is readable.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.sample import csv_bytes, departments_rows, jobs_rows
from infra.db.schema import HIRING_TABLES
from tests.crafted_backups import MIB, deflate_bomb
from tests.integration.test_backup_restore import FORGED_ID, store_forged
from tests.integration.test_task_api import run_queued
from tests.strict_json import strict_json

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "csv"
ADA = 9001
ADA_ROW = "9001,Ada Lovelace,2021-11-07T02:48:42Z,5,96"

# file: (ids that land, reason codes the rejected rows carry)
CSV_CASES: dict[str, tuple[set[int], set[str]]] = {
    "empty.csv": (set(), set()),
    "header_only.csv": (set(), set()),
    "header_only_no_final_newline.csv": (set(), set()),
    "wrong_column_count.csv": ({ADA}, {"wrong_column_count"}),
    "trailing_comma.csv": ({ADA}, {"wrong_column_count"}),
    "tab_separated.csv": ({ADA}, {"wrong_column_count"}),
    "binary_junk.csv": ({ADA}, {"wrong_column_count"}),
    "invalid_utf8.csv": ({ADA}, {"invalid_encoding"}),
    "utf16.csv": (set(), {"not_an_integer", "control_characters", "invalid_datetime", "wrong_column_count"}),
    "bom_crlf.csv": ({ADA}, set()),
    "cr_only_line_ends.csv": ({6, ADA}, set()),
    "blank_lines.csv": ({ADA}, set()),
    "sql_in_names.csv": ({7, 8, ADA}, set()),
    "impossible_dates.csv": ({ADA}, {"invalid_datetime", "out_of_range"}),
    "dates_without_timezone.csv": ({ADA}, {"missing_timezone"}),
    "float_and_huge_ids.csv": ({ADA}, {"not_an_integer", "out_of_range"}),
    "duplicate_ids.csv": ({20, 21, ADA}, {"conflict"}),
    "unknown_references.csv": ({ADA}, {"unknown_reference"}),
    "only_commas.csv": ({ADA}, {"missing"}),
    "empty_fields.csv": ({ADA}, {"missing"}),
    "unbalanced_quote.csv": ({ADA}, {"wrong_column_count"}),
    "control_characters.csv": ({ADA}, {"control_characters"}),
    "nul_bytes.csv": ({ADA}, {"control_characters"}),
    "name_too_long.csv": ({ADA}, {"too_long"}),
    "header_in_the_middle.csv": ({ADA}, {"not_an_integer", "invalid_datetime"}),
    "departments__wrong_columns.csv": ({13}, {"wrong_column_count"}),
    "departments__header_uppercase.csv": ({13}, set()),
    "jobs__names_with_quotes_and_commas.csv": ({184}, {"missing"}),
    "year_limits_in_utc.csv": ({32, 33, 34, 35, ADA}, {"out_of_range"}),
    "invisible_spoofed_and_astral_names.csv": (
        {46, 47, ADA},
        {"no_visible_characters", "bidi_control_characters", "too_long"},
    ),
}


def table_of(name: str) -> str:
    return name.split("__")[0] if "__" in name else "hired_employees"


def new_ids(services: Any, table: str) -> set[int]:
    seeded = {"departments": 12, "jobs": 183, "hired_employees": 0}[table]
    column = HIRING_TABLES[table].c.id
    with services.engine.connect() as conn:
        return set(conn.execute(select(column).where(column > seeded)).scalars())


@pytest.fixture
def seeded(client: Any) -> Any:
    assert client.post("/departments", data=csv_bytes(departments_rows()), content_type="text/csv").status_code == 200
    assert client.post("/jobs", data=csv_bytes(jobs_rows()), content_type="text/csv").status_code == 200
    return client


def upload(client: Any, services: Any, table: str, data: bytes) -> tuple[dict[str, Any], set[str]]:
    response = client.post("/upload-files", data={table: (io.BytesIO(data), "file.csv")})
    assert response.status_code == 202, response.json
    run_queued(services)
    status = client.get(response.headers["Location"]).json
    rejections = client.get(response.headers["Location"] + "/rejections?per_page=1000").json["items"]
    assert all(row["reasons"] and all(r["message"] for r in row["reasons"]) for row in rejections)
    return status, {reason["code"] for row in rejections for reason in row["reasons"]}


def test_the_corpus_lists_every_file_it_holds():
    assert {path.name for path in CORPUS.glob("*.csv")} == set(CSV_CASES)


@pytest.mark.parametrize("name", sorted(CSV_CASES))
def test_a_malformed_csv_file_is_migrated_with_reasons_for_each_refused_row(seeded, services, name):
    expected_ids, expected_codes = CSV_CASES[name]
    table = table_of(name)

    status, codes = upload(seeded, services, table, (CORPUS / name).read_bytes())

    assert status["state"] == "SUCCESS", status["error"]
    assert new_ids(services, table) == expected_ids
    assert codes == expected_codes


def test_a_10_mb_single_field_is_refused_as_one_row_and_the_rows_around_it_land(seeded, services):
    data = f"1,{'x' * (10 * 1024 * 1024)},2021-01-01T00:00:00Z,5,96\n{ADA_ROW}\n".encode()

    status, codes = upload(seeded, services, "hired_employees", data)

    assert status["state"] == "SUCCESS"
    assert new_ids(services, "hired_employees") == {ADA}
    assert codes == {"line_too_long"}


ADA_JSON = {"id": ADA, "name": "Ada Lovelace", "datetime": "2021-11-07T02:48:42Z", "department_id": 5, "job_id": 96}


VALID_ROWS = {"departments": {"id": 500, "department": "Valid Row"}, "jobs": {"id": 500, "job": "Valid Row"},
              "hired_employees": ADA_JSON}  # fmt: skip


def employee(**changes: Any) -> dict[str, Any]:
    return {**ADA_JSON, "id": 9100, **changes}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# case: (path, body, content type, status, reason codes of refused rows or the error code)
JSON_CASES: dict[str, tuple[str, Any, str, int, set[str] | str]] = {
    "empty-array": ("/departments", [], "application/json", 400, "empty_batch"),
    "object-not-array": ("/departments", {"id": 1, "department": "Sales"}, "application/json", 400, "invalid_request"),
    "string-not-array": ("/jobs", "departments", "application/json", 400, "invalid_request"),
    "number-not-array": ("/jobs", 42, "application/json", 400, "invalid_request"),
    "null-body": ("/jobs", None, "application/json", 400, "invalid_request"),
    "broken-json": ("/jobs", b'[{"id": 1,', "application/json", 400, "invalid_request"),
    "trailing-garbage": ("/jobs", b'[{"id": 200, "job": "X"}] DROP', "application/json", 400, "invalid_request"),
    "deeply-nested-arrays": ("/jobs", nested(100_000), "application/json", 400, "invalid_request"),
    "1001-rows": (
        "/departments",
        [{"id": i, "department": f"D{i}"} for i in range(100, 1101)],
        "application/json",
        413,
        "batch_too_large",
    ),
    "1001-csv-lines": (
        "/departments",
        "".join(f"{i},D{i}\n" for i in range(100, 1101)).encode(),
        "text/csv",
        413,
        "batch_too_large",
    ),
    "csv-header-only": ("/departments", b"id,department\n", "text/csv", 400, "empty_batch"),
    "text-plain": ("/departments", b"13,Supply Chain", "text/plain", 415, "unsupported_content_type"),
    "form-urlencoded": ("/jobs", b"id=1&job=x", "application/x-www-form-urlencoded", 415, "unsupported_content_type"),
    "xml": ("/jobs", b"<jobs><job id='1'/></jobs>", "application/xml", 415, "unsupported_content_type"),
    "nested-objects": (
        "/departments",
        [{"id": {"$gt": 1}, "department": ["Sales"]}],
        "application/json",
        200,
        {"wrong_type"},
    ),  # fmt: skip
    "nulls": ("/departments", [{"id": None, "department": None}], "application/json", 200, {"missing"}),
    "array-of-non-objects": ("/jobs", [1, "jobs", None, True], "application/json", 200, {"wrong_type"}),
    "float-ids": (
        "/jobs",
        [{"id": 1.5, "job": "A"}, {"id": 2.0, "job": "B"}],
        "application/json",
        200,
        {"not_an_integer"},
    ),  # fmt: skip
    "huge-ids": (
        "/jobs",
        [{"id": 10**30, "job": "A"}, {"id": "99999999999", "job": "B"}],
        "application/json",
        200,
        {"out_of_range"},
    ),  # fmt: skip
    "zero-and-negative-ids": (
        "/jobs",
        [{"id": 0, "job": "A"}, {"id": -3, "job": "B"}],
        "application/json",
        200,
        {"out_of_range"},
    ),  # fmt: skip
    "boolean-id": ("/jobs", [{"id": True, "job": "A"}], "application/json", 200, {"wrong_type"}),
    "nan": ("/jobs", b'[{"id": NaN, "job": "A"}]', "application/json", 400, "invalid_request"),
    "infinity": (
        "/jobs",
        b'[{"id": 1, "job": "A"}, {"id": -Infinity, "job": "B"}]',
        "application/json",
        400,
        "invalid_request",
    ),
    "number-too-large-for-a-float": (
        "/jobs",
        b'[{"id": 1e400, "job": "B"}]',
        "application/json",
        400,
        "invalid_request",
    ),
    "number-with-5000-digits": (
        "/jobs",
        b'[{"id": 1' + b"0" * 5000 + b', "job": "B"}]',
        "application/json",
        400,
        "invalid_request",
    ),
    "lone-surrogate-in-a-key": (
        "/departments",
        b'[{"id": 5000002, "department": "X", "\\ud800": 1}]',
        "application/json",
        400,
        "invalid_request",
    ),
    "lone-surrogate-in-a-value": (
        "/departments",
        b'[{"id": 15, "department": "X\\udfff"}]',
        "application/json",
        400,
        "invalid_request",
    ),
    "surrogate-pair-is-one-character": (
        "/departments",
        b'[{"id": 15, "department": "\\ud83d\\ude00 Team"}]',
        "application/json",
        200,
        set(),
    ),
    "duplicate-keys": (
        "/departments",
        b'[{"id": 16, "department": "A", "id": 17}]',
        "application/json",
        400,
        "invalid_request",
    ),
    "nested-1000-deep-arrays": ("/jobs", nested(1000), "application/json", 400, "invalid_request"),
    "nested-1000-deep-objects": (
        "/jobs",
        b'{"a": ' * 1000 + b"1" + b"}" * 1000,
        "application/json",
        400,
        "invalid_request",
    ),
    "a-field-nested-990-deep": (
        "/jobs",
        b'[{"id": ' + nested(990) + b', "job": "A"}]',
        "application/json",
        400,
        "invalid_request",
    ),
    "json-that-is-not-utf8": (
        "/departments",
        b'[{"id": 16, "department": "Caf\xe9"}]',
        "application/json",
        400,
        "invalid_request",
    ),
    "missing-field": (
        "/hired-employees",
        [{k: v for k, v in employee().items() if k != "job_id"}],
        "application/json",
        200,
        {"missing"},
    ),  # fmt: skip
    "unknown-field": (
        "/departments",
        [{"id": 13, "department": "Supply", "budget": 1}],
        "application/json",
        200,
        {"unknown_field"},
    ),  # fmt: skip
    "sql-in-names": (
        "/departments",
        [{"id": 13, "department": "x'); DROP TABLE departments;--"}],
        "application/json",
        200,
        set(),
    ),  # fmt: skip
    "duplicate-ids-in-one-batch": (
        "/departments",
        [{"id": 14, "department": "A"}, {"id": 14, "department": "B"}],
        "application/json",
        200,
        {"conflict"},
    ),  # fmt: skip
    "impossible-date": (
        "/hired-employees",
        [employee(datetime="2021-02-30T00:00:00Z")],
        "application/json",
        200,
        {"invalid_datetime"},
    ),  # fmt: skip
    "date-without-timezone": (
        "/hired-employees",
        [employee(datetime="2021-07-27T16:02:08")],
        "application/json",
        200,
        {"missing_timezone"},
    ),  # fmt: skip
    "date-as-number": (
        "/hired-employees",
        [employee(datetime=1625097600)],
        "application/json",
        200,
        {"wrong_type"},
    ),  # fmt: skip
    "unknown-foreign-keys": (
        "/hired-employees",
        [employee(department_id=99, job_id=999)],
        "application/json",
        200,
        {"unknown_reference"},
    ),  # fmt: skip
    "control-character-in-name": (
        "/hired-employees",
        [employee(name="Nul\u0000Name")],
        "application/json",
        200,
        {"control_characters"},
    ),  # fmt: skip
    "name-too-long": ("/departments", [{"id": 15, "department": "x" * 101}], "application/json", 200, {"too_long"}),
    "name-too-long-in-utf16-units": (
        "/jobs",
        [{"id": 300, "job": "x" * 99 + "\U0001f600"}],
        "application/json",
        200,
        {"too_long"},
    ),  # fmt: skip
    "invisible-names": (
        "/departments",
        [
            {"id": 15, "department": "\u200b"},
            {"id": 16, "department": "\ufeff\u3164"},
            {"id": 17, "department": "\u2800"},
        ],
        "application/json",
        200,
        {"no_visible_characters"},
    ),  # fmt: skip
    "bidi-override-in-name": (
        "/hired-employees",
        [employee(name="abc\u202edcba")],
        "application/json",
        200,
        {"bidi_control_characters"},
    ),  # fmt: skip
    "hire-time-in-1899-in-utc": (
        "/hired-employees",
        [employee(datetime="1900-01-01T00:00:00+01:00")],
        "application/json",
        200,
        {"out_of_range"},
    ),  # fmt: skip
    "hire-time-in-2101-in-utc": (
        "/hired-employees",
        [employee(datetime="2100-12-31T23:30:00-01:00")],
        "application/json",
        200,
        {"out_of_range"},
    ),  # fmt: skip
    "empty-name": ("/departments", [{"id": 15, "department": "   "}], "application/json", 200, {"missing"}),
    "csv-invalid-utf8": ("/departments", b"16,Caf\xe9\n", "text/csv", 200, {"invalid_encoding"}),
    "csv-wrong-column-count": ("/departments", b"16,Sales,Extra\n17\n", "text/csv", 200, {"wrong_column_count"}),
}


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_a_malformed_batch_gets_a_clear_4xx_or_row_rejections_and_valid_rows_still_land(seeded, services, case):
    path, body, content_type, status, expected = JSON_CASES[case]
    table = {"/departments": "departments", "/jobs": "jobs", "/hired-employees": "hired_employees"}[path]
    valid_row = VALID_ROWS[table] if status == 200 and isinstance(body, list) else None
    if valid_row is not None:
        body = [*body, valid_row]
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    response = seeded.post(path, data=data, content_type=content_type)

    answer = strict_json(response.data)
    assert response.status_code == status, answer
    assert response.mimetype == "application/json"
    if status != 200:
        assert answer["error"]["code"] == expected
        assert answer["error"]["message"]
        return
    codes = {reason["code"] for row in answer["rejected"] for reason in row["reasons"]}
    assert codes == expected
    if valid_row is not None:
        assert valid_row["id"] in new_ids(services, table)


def test_hire_times_at_the_year_limits_are_judged_and_reported_by_their_utc_year(seeded):
    rows = [
        employee(id=9201, datetime="1899-12-31T23:30:00-01:00"),  # 1900-01-01T00:30Z
        employee(id=9202, datetime="2101-01-01T00:30:00+01:00"),  # 2100-12-31T23:30Z
        employee(id=9203, datetime="1900-01-01T00:00:00+01:00"),  # 1899-12-31T23:00Z
        employee(id=9204, datetime="2100-12-31T23:30:00-01:00"),  # 2101-01-01T00:30Z
    ]

    response = seeded.post("/hired-employees", json=rows)

    assert response.status_code == 200
    assert response.json["inserted"] == 2
    assert [(r["index"], [c["code"] for c in r["reasons"]]) for r in response.json["rejected"]] == [
        (2, ["out_of_range"]),
        (3, ["out_of_range"]),
    ]
    for year, quarter in ((1900, "Q1"), (2100, "Q4")):
        report = seeded.get(f"/report/hired-by-quarter?year={year}").json
        assert sum(row[quarter] for row in report["rows"]) == 1, (year, report)


def test_a_name_of_100_characters_counted_in_utf16_units_is_stored_whole_on_every_database(seeded, services):
    names = {9301: "x" * 100, 9302: "x" * 98 + "\U0001f600", 9303: "\U0001f600" * 50}
    rows = [employee(id=row_id, name=name) for row_id, name in names.items()]

    response = seeded.post("/hired-employees", json=rows)

    assert response.status_code == 200 and response.json["inserted"] == 3, response.json
    table = HIRING_TABLES["hired_employees"]
    with services.engine.connect() as conn:
        stored = dict(conn.execute(select(table.c.id, table.c.name).where(table.c.id.in_(names))).all())
    assert stored == names


def test_a_deflate_bomb_given_to_restore_fails_the_job_with_the_reason_and_the_table_is_untouched(seeded, services):
    store_forged(services.storage, "departments", deflate_bomb("departments", inflated_bytes=64 * MIB), rows=1)
    table = HIRING_TABLES["departments"]

    def departments() -> list[Any]:
        with services.engine.connect() as conn:
            return list(conn.execute(select(table).order_by(table.c.id)))

    before = departments()

    response = seeded.post("/restore", json={"table": "departments", "backup_id": FORGED_ID})
    assert response.status_code == 202, response.json
    run_queued(services)
    status = seeded.get(response.headers["Location"]).json

    assert status["state"] == "FAILURE", status
    assert "departments backup is refused before any row is read: block 1 inflates to more than" in status["error"]
    assert departments() == before and len(before) == 12


def test_a_key_repeated_in_one_object_is_refused_with_a_400_that_names_it(client):
    response = client.post(
        "/departments", data=b'[{"id": 16, "department": "A", "department": "B"}]', content_type="application/json"
    )

    assert response.status_code == 400
    assert strict_json(response.data)["error"]["details"] == {"duplicate_key": "department"}
    assert "'department'" in strict_json(response.data)["error"]["message"]


# Bodies every JSON endpoint must refuse with a 400, whatever it expects inside.
BAD_JSON_BODIES = {
    "duplicate-key": b'{"tables": ["jobs"], "tables": ["departments"]}',
    "duplicate-key-in-a-sign-in": b'{"username": "test-admin", "password": "x", "password": "admin-password-"}',
    "nan": b'{"username": NaN, "password": "x"}',
    "infinity": b'{"table": Infinity}',
    "lone-surrogate": b'{"table": "\\udc80"}',
    "lone-surrogate-in-a-key": b'{"\\ud800": 1}',
    "nested-1000-deep": b'{"a": ' * 1000 + b"1" + b"}" * 1000,
    "huge-number": b'{"table": 1' + b"0" * 5000 + b"}",
    "not-utf8": b'{"username": "Jos\xe9", "password": "x"}',
}


HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def json_body_operations(client: Any) -> list[tuple[str, str]]:
    spec = strict_json(client.get("/openapi.json").data)
    return [
        (method, path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in HTTP_METHODS and "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


@pytest.mark.parametrize("case", sorted(BAD_JSON_BODIES))
def test_every_json_body_goes_through_the_same_strict_parser(client, case):
    operations = json_body_operations(client)

    answers = {
        f"{method.upper()} {path}": client.open(
            path, method=method.upper(), data=BAD_JSON_BODIES[case], content_type="application/json"
        )
        for method, path in operations
    }

    assert {"POST /auth/token", "POST /backup", "POST /restore", "POST /departments"} <= set(answers)
    for operation, response in answers.items():
        assert response.status_code == 400, (operation, response.data)
        assert strict_json(response.data)["error"]["code"] == "invalid_request", operation


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


@pytest.mark.parametrize("value", ["%00", "abc%00def", "%0A", "%1F"])
def test_a_control_character_in_any_path_parameter_is_refused_before_the_database_sees_it(client, services, value):
    from sqlalchemy import event

    spec = strict_json(client.get("/openapi.json").data)
    statements_with_nul = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if _holds_nul(parameters):
            statements_with_nul.append(statement)

    event.listen(services.engine, "before_cursor_execute", record)
    try:
        answers = {
            f"{method.upper()} {path}": client.open(re.sub(r"{[^}]+}", value, path), method=method.upper())
            for path, operations in spec["paths"].items()
            if "{" in path
            for method in operations
            if method in HTTP_METHODS
        }
    finally:
        event.remove(services.engine, "before_cursor_execute", record)

    assert {"GET /task-status/{task_id}", "DELETE /task-status/{task_id}"} <= set(answers)
    for operation, response in answers.items():
        assert response.status_code == 404, (operation, response.data)
        assert strict_json(response.data)["error"]["code"] == "not_found"
    assert statements_with_nul == []


def test_the_spec_says_path_parameters_hold_no_control_characters(client):
    spec = strict_json(client.get("/openapi.json").data)

    parameters = [
        parameter
        for path, operations in spec["paths"].items()
        for parameter in operations.get("parameters", [])
        if parameter["in"] == "path"
    ]

    assert parameters
    for parameter in parameters:
        if parameter["schema"]["type"] == "integer":  # a row id: digits only, no room for a control character
            continue
        assert re.fullmatch(parameter["schema"]["pattern"], "9b2f6c1e-8d0a-4c55-9a57-3c1f0d6e2b11")
        assert not re.search(parameter["schema"]["pattern"], "\x00")
