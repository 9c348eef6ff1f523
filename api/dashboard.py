"""``GET /``: the dashboard page. Every asset is served from ``api/static/dashboard``; nothing comes from a CDN."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory

blp = Blueprint("dashboard", __name__, static_folder="static/dashboard", static_url_path="/dashboard/assets")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


@blp.get("/")
def index() -> Response:
    response = send_from_directory(blp.static_folder or "", "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.after_request
def secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY  # the other headers: api/headers.py
    return response
