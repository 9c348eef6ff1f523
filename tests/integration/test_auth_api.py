"""Who may call what: tokens from POST /auth/token, every way a token can be wrong, and each role boundary."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from werkzeug.security import generate_password_hash

from api import create_app
from api.auth import ACCESS_RULES, Access, access_for
from bootstrap import bootstrap
from core.auth import User, credential_fingerprint
from core.config import load_settings
from tests.conftest import ADMIN, READER, TEST_AUTH, hireflow_environ, sign_in

KEY = TEST_AUTH["JWT_SECRET_KEY"]
ADMIN_FINGERPRINT = credential_fingerprint(User(ADMIN[0], ADMIN[1], "admin"), KEY)
ADMIN_ONLY = [
    ("POST", "/departments"),
    ("POST", "/jobs"),
    ("POST", "/hired-employees"),
    ("POST", "/upload-files"),
    ("POST", "/upload-hired-employees"),
    ("DELETE", "/task-status/no-such-task"),
    ("POST", "/task-status/no-such-task/cancel"),
]
READABLE = [
    "/task-list",
    "/task-status/no-such-task",
    "/task-status/no-such-task/rejections",
    "/report/hired-by-quarter",
    "/report/hiring-above-average",
]
PUBLIC = ["/health", "/openapi.json", "/docs", "/docs/assets/swagger-ui.css", "/", "/dashboard/assets/main.js"]


def token(key: str = KEY, without: tuple[str, ...] = (), **claims: Any) -> str:
    """A token as the admin signed in would get one, with ``claims`` changed and the ``without`` ones left out."""
    now = int(time.time())
    payload = {"sub": ADMIN[0], "role": "admin", "type": "access", "iat": now, "nbf": now, "exp": now + 600}
    payload.update({"jti": str(uuid.uuid4()), "cred": ADMIN_FINGERPRINT, **claims})
    return jwt.encode({k: v for k, v in payload.items() if k not in without}, key, algorithm="HS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_the_admin_gets_a_bearer_token_valid_for_thirty_minutes(anonymous_client):
    response = anonymous_client.post("/auth/token", json={"username": ADMIN[0], "password": ADMIN[1]})

    body = response.get_json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800
    claims = jwt.decode(body["access_token"], KEY, algorithms=["HS256"])
    assert (claims["sub"], claims["role"]) == (ADMIN[0], "admin")
    assert claims["exp"] - claims["iat"] == 1800


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": ADMIN[0], "password": "wrong"},
        {"username": "nobody", "password": ADMIN[1]},
        {"username": READER[0], "password": ADMIN[1]},
    ],
)
def test_wrong_credentials_get_401_without_saying_which_part_was_wrong(anonymous_client, credentials):
    response = anonymous_client.post("/auth/token", json=credentials)

    assert response.status_code == 401
    assert response.get_json()["error"] == {
        "code": "invalid_credentials",
        "message": "the user name or the password is wrong",
        "details": None,
    }


@pytest.mark.parametrize("body", [{}, {"username": "admin"}, {"username": 1, "password": 2}, []])
def test_a_malformed_sign_in_body_is_a_400_in_our_error_shape(anonymous_client, body):
    response = anonymous_client.post("/auth/token", json=body)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"


def test_a_request_without_a_token_gets_401_and_a_bearer_challenge(anonymous_client):
    response = anonymous_client.get("/task-list")

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="hireflow"'


@pytest.mark.parametrize(
    ("name", "authorization"),
    [
        ("forged with another key", f"Bearer {token(key='another-key-that-is-long-enough-0123456789')}"),
        ("alg none", "Bearer " + jwt.encode({"sub": ADMIN[0], "role": "admin", "type": "access"}, None, "none")),
        ("malformed", "Bearer not.a.jwt"),
        ("garbage", "Bearer %%%"),
        ("wrong scheme", f"Basic {token()}"),
        ("no token after the scheme", "Bearer"),
        ("a refresh token", f"Bearer {token(type='refresh')}"),
        ("a user no longer configured", f"Bearer {token(sub='former-admin')}"),
        ("a reader claiming the admin role", f"Bearer {token(sub=READER[0], role='admin')}"),
        ("no expiry", f"Bearer {token(without=('exp',))}"),
        ("no issue time", f"Bearer {token(without=('iat',))}"),
        ("neither expiry nor issue time", f"Bearer {token(without=('exp', 'iat', 'nbf'))}"),
        ("no credential fingerprint", f"Bearer {token(without=('cred',))}"),
        ("another user's fingerprint", f"Bearer {token(cred=credential_fingerprint(User(*READER, 'reader'), KEY))}"),
    ],
)
def test_a_token_that_cannot_be_trusted_gets_401_invalid_token(anonymous_client, name, authorization):
    response = anonymous_client.get("/task-list", headers={"Authorization": authorization})

    assert response.status_code == 401, name
    assert response.get_json()["error"]["code"] == "invalid_token", name
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_expired_token_gets_401_token_expired(anonymous_client):
    response = anonymous_client.get("/task-list", headers=bearer(token(exp=int(time.time()) - 5)))

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "token_expired"


def test_a_token_signed_with_our_key_works(anonymous_client):
    assert anonymous_client.get("/task-list", headers=bearer(token())).status_code == 200


@pytest.mark.parametrize("path", PUBLIC)
def test_public_pages_need_no_token(anonymous_client, path):
    assert anonymous_client.get(path).status_code == 200


@pytest.mark.parametrize("path", READABLE)
def test_a_reader_may_read_reports_and_tasks(anonymous_client, path):
    reader = sign_in(anonymous_client, READER)

    assert reader.get(path).status_code in (200, 404)  # 404: no task has that id


@pytest.mark.parametrize("path", READABLE)
def test_reading_still_needs_a_token(anonymous_client, path):
    assert anonymous_client.get(path).status_code == 401


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_a_reader_may_not_write_upload_or_cancel(anonymous_client, method, path):
    reader = sign_in(anonymous_client, READER)

    response = reader.open(path, method=method, json=[{"id": 1, "department": "Staff"}])

    assert response.status_code == 403
    assert response.get_json()["error"] == {
        "code": "forbidden",
        "message": f"this needs the admin role; {READER[0]!r} is a reader",
        "details": {"required_role": "admin"},
    }


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_the_admin_may_write_upload_and_cancel(client, method, path):
    assert client.open(path, method=method, json=[{"id": 1, "department": "Staff"}]).status_code not in (401, 403)


def test_backup_and_restore_routes_are_covered_by_the_rules_before_they_exist():
    assert access_for("POST", "/backup") is Access.ADMIN
    assert access_for("POST", "/restore") is Access.ADMIN
    assert access_for("GET", "/backups") is Access.READER
    assert access_for("HEAD", "/backups") is Access.READER
    assert access_for("DELETE", "/backups") is Access.ADMIN
    assert access_for("GET", "/backups/<backup_id>") is Access.ADMIN


def test_a_route_added_later_and_not_in_the_rules_is_admin_only(services):
    app = create_app(services)
    app.add_url_rule("/brand-new-report", "brand_new", lambda: {"ok": True})
    anonymous, reader, admin = app.test_client(), sign_in(app.test_client(), READER), sign_in(app.test_client())

    assert anonymous.get("/brand-new-report").status_code == 401
    assert reader.get("/brand-new-report").status_code == 403
    assert admin.get("/brand-new-report").status_code == 200


def test_an_unknown_path_is_not_revealed_without_a_token(anonymous_client, client):
    assert anonymous_client.get("/no/such/path").status_code == 401
    assert client.get("/no/such/path").status_code == 404


def test_the_rule_table_names_only_public_and_reader_routes():
    assert {access for _method, _route, access in ACCESS_RULES} == {Access.PUBLIC, Access.READER}


def test_openapi_documents_the_bearer_scheme_on_every_protected_operation(anonymous_client):
    spec = anonymous_client.get("/openapi.json").get_json()

    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            if (method, path) in (("get", "/health"), ("post", "/auth/token")):
                assert operation["security"] == []
                continue
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
    assert "403" in spec["paths"]["/departments"]["post"]["responses"]
    assert "403" not in spec["paths"]["/task-list"]["get"]["responses"]


@pytest.mark.parametrize("method", ["pbkdf2:sha256:1000", "scrypt:1024:8:1"])
def test_a_password_given_as_a_werkzeug_hash_is_accepted(tmp_path, method):
    hashed = generate_password_hash("a long passphrase", method=method)
    settings = load_settings(hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'db'}", ADMIN_PASSWORD=hashed))
    services = bootstrap(settings)
    client = create_app(services).test_client()

    right = client.post("/auth/token", json={"username": ADMIN[0], "password": "a long passphrase"})
    wrong = client.post("/auth/token", json={"username": ADMIN[0], "password": hashed})

    assert (right.status_code, wrong.status_code) == (200, 401)
    services.dispose()


def test_the_token_lifetime_follows_jwt_expires_minutes(tmp_path):
    settings = load_settings(hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'db'}", JWT_EXPIRES_MINUTES="5"))
    services = bootstrap(settings)

    body = create_app(services).test_client().post("/auth/token", json={"username": ADMIN[0], "password": ADMIN[1]})

    assert body.get_json()["expires_in"] == 300
    services.dispose()


@pytest.fixture
def app_on(tmp_path):
    """Build the app on one SQLite database, with the test users changed as each call says: a restart
    of the service after its settings were edited."""
    built = []

    def build(**changes: str) -> Any:
        services = bootstrap(load_settings(hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'db'}", **changes)))
        built.append(services)
        return create_app(services).test_client()

    yield build
    for services in built:
        services.dispose()


def signed_in_token(client: Any, user: tuple[str, str]) -> dict[str, str]:
    response = client.post("/auth/token", json={"username": user[0], "password": user[1]})
    assert response.status_code == 200, response.get_json()
    return bearer(response.get_json()["access_token"])


NEW_ADMIN = (ADMIN[0], "a-new-admin-passphrase")
NEW_READER = (READER[0], "a-new-reader-passphrase")


def test_a_token_keeps_working_after_a_restart_with_the_same_settings(app_on):
    admin = signed_in_token(app_on(), ADMIN)

    assert app_on().get("/task-list", headers=admin).status_code == 200


def test_a_token_stops_working_when_its_users_password_changes(app_on):
    admin, reader = signed_in_token(app_on(), ADMIN), signed_in_token(app_on(), READER)
    changed = app_on(**{"ADMIN_PASSWORD": NEW_ADMIN[1], "READER_PASSWORD": NEW_READER[1]})

    refused = changed.get("/task-list", headers=admin)

    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "invalid_token"
    assert "password or role changed" in refused.get_json()["error"]["message"]
    assert changed.get("/task-list", headers=reader).status_code == 401
    assert changed.get("/task-list", headers=signed_in_token(changed, NEW_ADMIN)).status_code == 200


def test_a_token_stops_working_when_the_password_hash_changes_even_for_the_same_password(app_on):
    admin = signed_in_token(app_on(ADMIN_PASSWORD=generate_password_hash(ADMIN[1], "pbkdf2:sha256:1000")), ADMIN)
    rehashed = app_on(ADMIN_PASSWORD=generate_password_hash(ADMIN[1], "pbkdf2:sha256:1000"))

    assert rehashed.get("/task-list", headers=admin).status_code == 401


def test_a_token_stops_working_when_its_users_role_changes_with_the_same_password(app_on):
    admin, reader = signed_in_token(app_on(), ADMIN), signed_in_token(app_on(), READER)
    swapped = app_on(
        ADMIN_USERNAME=READER[0], ADMIN_PASSWORD=READER[1], READER_USERNAME=ADMIN[0], READER_PASSWORD=ADMIN[1]
    )

    assert swapped.get("/task-list", headers=admin).status_code == 401  # the admin is now a reader
    assert swapped.get("/task-list", headers=reader).status_code == 401  # the reader is now the admin
    assert swapped.post("/departments", json=[{"id": 1, "department": "Staff"}], headers=reader).status_code == 401
    assert swapped.get("/task-list", headers=signed_in_token(swapped, ADMIN)).status_code == 200
