"""Answers the contract fuzzer (schemathesis) once got wrong, kept right here on the Flask test client."""

from __future__ import annotations

import re

import pytest

BOUNDARY = "hireflowboundary"


def multipart(*parts: bytes) -> bytes:
    return (
        b"".join(b"--" + BOUNDARY.encode() + b"\r\n" + part + b"\r\n" for part in parts)
        + f"--{BOUNDARY}--\r\n".encode()
    )


def test_a_form_field_whose_name_cannot_be_read_is_a_400_not_a_500(client):
    body = multipart(b'Content-Disposition: form-data; name="\xf1\x9e\xba"\r\n\r\nnull')

    response = client.post("/upload-files", data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("body", ["\x0c", "\x1c", "\t", " \r\n\r\n", "\ufeff"])
def test_a_csv_body_with_only_blank_lines_is_refused_and_the_spec_says_so(client, body):
    response = client.post("/departments", data=body.encode(), content_type="text/csv")
    spec = client.get("/openapi.json").get_json()
    pattern = spec["paths"]["/departments"]["post"]["requestBody"]["content"]["text/csv"]["schema"]["pattern"]

    assert response.status_code == 400
    assert not re.search(pattern, body.removeprefix("\ufeff"))
    assert re.search(pattern, "1,Staff\n")


def test_an_upload_form_must_hold_a_file_and_the_spec_says_so(client):
    response = client.post("/upload-files", data=multipart(), content_type=f"multipart/form-data; boundary={BOUNDARY}")
    spec = client.get("/openapi.json").get_json()
    schema = spec["paths"]["/upload-files"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]

    assert response.status_code == 400
    assert schema["minProperties"] == 1 and schema["additionalProperties"] is False
