"""Sign in (``POST /auth/token``) and the one access policy every request goes through.

The policy is default-deny: a route is public or open to readers only if ``ACCESS_RULES`` says so;
everything else, including any route added later, needs the ``admin`` role.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Any

from apispec import BasePlugin
from flask import Flask, request
from flask_jwt_extended import JWTManager, create_access_token, get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_smorest import Api
from jwt import ExpiredSignatureError, PyJWTError

from api.deps import services
from api.parsing import Blueprint
from api.schemas import ErrorSchema, TokenRequestSchema, TokenSchema
from core.auth import ADMIN, authenticate, credential_fingerprint, find_user, fingerprint_matches
from core.config import Settings
from domain.errors import InvalidToken, NotAllowed, NotAuthenticated, TokenExpired

blp = Blueprint("auth", __name__, description="Sign in: exchange a user name and password for a bearer token")

SECURITY_SCHEME = "bearerAuth"
FINGERPRINT_CLAIM = "cred"
REQUIRED_CLAIMS = ("exp", "iat")
TOKEN_TYPE = "bearer"  # noqa: S105  # nosec B105 - the OAuth 2 token type (RFC 6750), not a password


class Access(enum.Enum):
    PUBLIC = "public"
    READER = "reader or admin"
    ADMIN = "admin"


# (method, Flask route template, access). A template ending in "/*" covers every route below that prefix.
ACCESS_RULES: tuple[tuple[str, str, Access], ...] = (
    ("GET", "/health", Access.PUBLIC),
    ("GET", "/openapi.json", Access.PUBLIC),
    ("GET", "/docs", Access.PUBLIC),
    ("GET", "/docs/*", Access.PUBLIC),
    ("GET", "/", Access.PUBLIC),
    ("GET", "/dashboard/assets/*", Access.PUBLIC),
    ("POST", "/auth/token", Access.PUBLIC),
    ("GET", "/report/*", Access.READER),
    ("GET", "/task-status/*", Access.READER),
    ("GET", "/task-list", Access.READER),
    ("GET", "/backups", Access.READER),
    ("GET", "/departments", Access.READER),
    ("GET", "/departments/*", Access.READER),
    ("GET", "/jobs", Access.READER),
    ("GET", "/jobs/*", Access.READER),
    ("GET", "/hired-employees", Access.READER),
    ("GET", "/hired-employees/*", Access.READER),
)


def access_for(method: str, route: str | None) -> Access:
    """What a request for this method and route template needs; ADMIN unless a rule says otherwise."""
    method = "GET" if method == "HEAD" else method
    for rule_method, template, access in ACCESS_RULES:
        if route is None or rule_method != method:
            continue
        if route == template or (template.endswith("/*") and route.startswith(template[:-1])):
            return access
    return Access.ADMIN


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenRequestSchema, error_status_code=400)
@blp.response(200, TokenSchema, description="Signed in; send `Authorization: Bearer <access_token>`")
@blp.alt_response(401, schema=ErrorSchema, description="The user name or the password is wrong")
@blp.alt_response(413, schema=ErrorSchema, description="The body is larger than MAX_REQUEST_BYTES")
@blp.alt_response(429, schema=ErrorSchema, description="Too many sign-in attempts from this address; retry later")
def issue_token(credentials: dict[str, str]) -> dict[str, Any]:
    """Exchange a user name and password for a bearer token (JWT), valid for `expires_in` seconds."""
    settings = services().settings
    user = authenticate(settings.users, credentials["username"], credentials["password"])
    lifetime = timedelta(minutes=settings.jwt_expires_minutes)
    claims = {"role": user.role, FINGERPRINT_CLAIM: credential_fingerprint(user, settings.jwt_secret_key or "")}
    token = create_access_token(identity=user.name, additional_claims=claims, expires_delta=lifetime)
    return {"access_token": token, "token_type": TOKEN_TYPE, "expires_in": int(lifetime.total_seconds())}


def _verified_claims() -> dict[str, Any]:
    try:
        verify_jwt_in_request()
    except ExpiredSignatureError:
        raise TokenExpired("the token has expired; sign in again at POST /auth/token") from None
    except (JWTExtendedException, PyJWTError) as error:
        if "Authorization" not in request.headers:
            raise NotAuthenticated("this needs a bearer token: sign in at POST /auth/token") from None
        raise InvalidToken("the bearer token is not valid", {"reason": str(error)[:200]}) from None
    claims = get_jwt()
    missing = [name for name in REQUIRED_CLAIMS if name not in claims]
    if missing:
        raise InvalidToken("the bearer token is not valid", {"reason": f"it lacks the claims {', '.join(missing)}"})
    return claims


def enforce_access_policy() -> None:
    """Run before every request: let public routes through, check the token and its role on the others."""
    rule = request.url_rule
    if request.method == "OPTIONS" and rule is not None and rule.provide_automatic_options:
        return  # Flask answers it with the Allow header only; CORS preflights carry no token.
    access = access_for(request.method, rule.rule if rule is not None else None)
    if access is Access.PUBLIC:
        return
    claims = _verified_claims()
    settings = services().settings
    user = find_user(settings.users, str(claims.get("sub", "")))
    if user is None or user.role != claims.get("role"):
        raise InvalidToken("the token's user no longer has this role; sign in again")
    if not fingerprint_matches(user, settings.jwt_secret_key or "", claims.get(FINGERPRINT_CLAIM)):
        raise InvalidToken("the token was issued before the user's password or role changed; sign in again")
    if access is Access.ADMIN and user.role != ADMIN:
        raise NotAllowed(f"this needs the admin role; {user.name!r} is a {user.role}", {"required_role": ADMIN})


def init_auth(app: Flask, api: Api, settings: Settings) -> None:
    settings.require_web_auth()
    api.spec.components.security_scheme(SECURITY_SCHEME, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    app.config.update(
        JWT_SECRET_KEY=settings.jwt_secret_key,
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=settings.jwt_expires_minutes),
    )
    JWTManager(app)
    app.before_request(enforce_access_policy)


class AccessDocPlugin(BasePlugin):  # type: ignore[misc]
    """Documents the policy in OpenAPI: the bearer scheme on every protected operation, with its 401 and 403."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        for method, operation in (operations or {}).items():
            access = access_for(method.upper(), getattr(rule, "rule", None))
            if access is Access.PUBLIC:
                operation["security"] = []
                continue
            operation["security"] = [{SECURITY_SCHEME: []}]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", _error_response("No bearer token, or one that is expired, forged or malformed"))
            if access is Access.ADMIN:
                responses.setdefault("403", _error_response("The token is valid but needs the admin role"))


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
