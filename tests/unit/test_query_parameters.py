"""Documenting a query parameter is all it takes to accept it, however the operation documents it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields

from api.errors import register_error_handlers
from api.query_parameters import documented_query_parameters, init_query_parameters


class PageQuerySchema(Schema):
    start = fields.Integer(load_default=0)


def app_with_documented_parameters() -> Flask:
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    register_error_handlers(app, api)
    api.spec.components.parameter("Cursor", "query", {"schema": {"type": "string"}})
    blp = Blueprint("files", __name__)
    limit = {"in": "query", "name": "limit", "schema": {"type": "integer"}}

    @blp.route("/upload-files", methods=["POST"])
    @blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    def upload(start: int) -> dict[str, Any]:
        return {"start": start}

    @blp.route("/departments", methods=["POST"])
    @blp.doc(parameters=[limit, "Cursor"])
    def departments() -> dict[str, Any]:
        return {}

    @blp.route("/jobs", methods=["POST"], parameters=[limit])
    def jobs() -> dict[str, Any]:
        return {}

    @blp.route("/hired-employees", methods=["POST"])
    @blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    @blp.doc(parameters=[limit])
    def hired_employees(start: int) -> dict[str, Any]:
        return {"start": start}

    api.register_blueprint(blp)
    init_query_parameters(app, api)
    return app


def test_parameters_from_arguments_from_doc_from_a_component_and_from_the_route_are_accepted():
    client = app_with_documented_parameters().test_client()

    assert client.post("/upload-files?start=5").json == {"start": 5}
    assert client.post("/departments?limit=1000&Cursor=abc").status_code == 200
    assert client.post("/jobs?limit=1000").status_code == 200
    refused = client.post("/upload-files?start=0&limit=1000")
    assert refused.status_code == 400
    assert refused.json["error"]["details"] == {"unknown": ["limit"], "accepted": ["start"]}


def test_the_spec_decides_a_doc_listing_parameters_replaces_those_of_the_arguments():
    client = app_with_documented_parameters().test_client()

    refused = client.post("/hired-employees?start=0&limit=1000")

    assert refused.status_code == 400
    assert refused.json["error"]["details"] == {"unknown": ["start"], "accepted": ["limit"]}


def test_query_parameters_shared_by_a_path_count_for_each_of_its_operations_and_others_do_not():
    spec = {
        "paths": {
            "/items/{id}": {
                "parameters": [{"in": "path", "name": "id"}, {"in": "query", "name": "lang"}],
                "get": {"parameters": [{"in": "query", "name": "page"}, {"in": "header", "name": "X-Trace"}]},
                "delete": {},
            }
        }
    }

    assert documented_query_parameters(spec) == {
        ("/items/{id}", "GET"): ("lang", "page"),
        ("/items/{id}", "DELETE"): ("lang",),
    }
