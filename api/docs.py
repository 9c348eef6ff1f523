"""Swagger UI assets served by the app itself, so ``/docs`` works with no internet."""

from __future__ import annotations

from flask import Flask, send_from_directory
from flask.typing import ResponseReturnValue
from swagger_ui_bundle import swagger_ui_path


def register(app: Flask) -> None:
    @app.get("/docs/assets/<path:filename>")
    def swagger_assets(filename: str) -> ResponseReturnValue:
        return send_from_directory(swagger_ui_path, filename, max_age=3600)
