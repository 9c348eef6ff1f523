"""Security headers on every answer: API, errors, ``/docs``, ``/openapi.json``, sign-in and the dashboard.

Answers are not cached (``no-store``): they carry tokens and hiring data. The only exceptions are the
static assets (Swagger UI and dashboard files), which hold no data and keep the caching rule they were
served with. Nothing may be framed, sniffed as another type, or leak its URL in a ``Referer``.
"""

from __future__ import annotations

from flask import Flask, Response

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
NOT_CACHED = "no-store"
# An answer that is data, not a page, may load nothing and be framed by nobody.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"
# HTML pages without a policy of their own (the Swagger UI runs inline scripts): no framing.
PAGE_POLICY = "frame-ancestors 'none'"


def api_headers() -> dict[str, str]:
    """The headers of an API answer, for servers that answer without Flask (gunicorn's own errors)."""
    return {**SECURITY_HEADERS, "Cache-Control": NOT_CACHED, "Content-Security-Policy": DATA_POLICY}


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", NOT_CACHED)
    policy = PAGE_POLICY if response.mimetype == "text/html" else DATA_POLICY
    response.headers.setdefault("Content-Security-Policy", policy)
    return response


def init_headers(app: Flask) -> None:
    app.after_request(secure)
