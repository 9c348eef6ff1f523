"""Nothing that looks like a credential is committed."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.secret_scan import PATTERNS, scan_repository, scan_text

# Built at run time so that this file itself holds no credential-shaped text.
FAKE_KEY = "Q" * 30 + "x9" * 20 + "=="


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"DefaultEndpointsProtocol=https;AccountKey={FAKE_KEY}", "azure storage account key"),
        ("-----BEGIN " + "RSA PRIVATE KEY-----", "private key"),
        ("DATABASE_URL=postgresql://hireflow:" + "s3cr3t-Pa55@db.example.com/hireflow", "password in a URL"),
        ("key = 'AKIA" + "ABCDEFGHIJKLMNOP'", "AWS access key"),
        ("JWT_SECRET_KEY=" + "f" * 32, "assigned secret"),
        ("ADMIN_PASSWORD: " + "CorrectHorseBattery1", "assigned secret"),
        ("JWT_SECRET_KEY=" + "k3y.Rand0m-Value.X", "assigned secret"),
    ],
    ids=lambda value: str(value).replace(" ", "-") if value in PATTERNS else "case",
)
def test_the_scan_finds_each_kind_of_secret(text: str, kind: str) -> None:
    assert [f.kind for f in scan_text("x", text)] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test",
        "DATABASE_URL=postgresql://user:password@host:5432/hireflow",
        "JWT_SECRET_KEY=",
        "JWT_SECRET_KEY=change-me",
        "AZURE_STORAGE_CONNECTION_STRING=",
        f'AZURITE_DEVELOPMENT_KEY = "{FAKE_KEY}"',
        "password = os.environ['ADMIN_PASSWORD']",
        "ADMIN_PASSWORD=secretref:admin-password",
        "password = fields.String(required=True, validate=validate.Length(min=1))",
        "JWT_SECRET_KEY=settings.jwt_secret_key,",
        'ADMIN_PASSWORD="$ADMIN_PASSWORD_FROM_THE_SHELL" \\',
    ],
    ids=lambda _text: "line",
)
def test_placeholders_and_the_azurite_development_key_are_not_secrets(text: str) -> None:
    assert scan_text("x", text) == []


def test_no_committed_file_holds_a_secret() -> None:
    assert scan_repository(ROOT) == []
