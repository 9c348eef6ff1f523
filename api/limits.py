"""Limits on what a client may send: body sizes, sign-in attempts, and which other origins may call us (CORS)."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from api import auth
from core.config import Settings
from infra import ratelimit

UPLOAD_BLUEPRINTS = frozenset({"uploads"})
CORS_MAX_AGE_SECONDS = 600
RATE_LIMIT_FILE = "rate-limits.sqlite3"


def init_limits(app: Flask, settings: Settings) -> Limiter:
    if settings.trusted_proxies:
        # Behind Azure's front end every client shares its address unless we read X-Forwarded-For.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes

    @app.before_request
    def cap_body_size() -> None:
        upload = request.blueprint in UPLOAD_BLUEPRINTS
        limit = settings.max_upload_bytes if upload else settings.max_request_bytes
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            setting = "MAX_UPLOAD_BYTES" if upload else "MAX_REQUEST_BYTES"
            raise RequestEntityTooLarge(f"the body is larger than {limit} bytes ({setting})")

    if settings.cors_origins:
        _init_cors(app, settings.cors_origins)
    return _init_rate_limit(app, settings)


def read_body() -> bytes:
    """The whole request body; a chunked body longer than the cap is refused (413), not silently cut short."""
    body = request.get_data(cache=False)
    if request.content_length is None and request.stream.read(1):
        raise RequestEntityTooLarge()
    return body


def rate_limit_storage_uri(settings: Settings) -> str:
    """Where every web process counts sign-in attempts: the Redis broker, else a file beside the embedded one."""
    broker = settings.broker_url or ""
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return ratelimit.storage_uri(settings.broker_dir / RATE_LIMIT_FILE)


def _init_rate_limit(app: Flask, settings: Settings) -> Limiter:
    app.config.update(
        RATELIMIT_STORAGE_URI=rate_limit_storage_uri(settings),
        RATELIMIT_KEY_PREFIX=f"{settings.broker_key_prefix}hireflow-ratelimit",
        RATELIMIT_HEADERS_ENABLED=True,
        # A Redis outage (or a locked file) must not lock everyone out of signing in: count in memory until it is back.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
    )
    limiter = Limiter(get_remote_address, app=app)
    limiter.limit(settings.auth_rate_limit)(auth.blp)
    return limiter


def _init_cors(app: Flask, origins: tuple[str, ...]) -> None:
    allow_any = "*" in origins

    @app.after_request
    def allow_listed_origins(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if not origin or not (allow_any or origin.rstrip("/") in origins):
            return response
        response.headers["Access-Control-Allow-Origin"] = "*" if allow_any else origin
        response.vary.add("Origin")
        response.headers["Access-Control-Expose-Headers"] = "Location, Retry-After, Content-Disposition"
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response.headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE_SECONDS)
        return response
