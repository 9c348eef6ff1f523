from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from core.auth import (
    ADMIN,
    READER,
    User,
    authenticate,
    credential_fingerprint,
    find_user,
    fingerprint_matches,
    is_password_hash,
    password_matches,
)
from domain.errors import InvalidCredentials

USERS = (User("ada", "analytical-engine", ADMIN), User("grace", generate_password_hash("cobol", "scrypt"), READER))


def test_a_user_signs_in_with_a_plain_password_or_a_hashed_one():
    assert authenticate(USERS, "ada", "analytical-engine").role == ADMIN
    assert authenticate(USERS, "grace", "cobol").role == READER


@pytest.mark.parametrize(("name", "password"), [("ada", "analytical"), ("nobody", "cobol"), ("", ""), ("grace", "")])
def test_wrong_names_and_passwords_are_refused_alike(name, password):
    with pytest.raises(InvalidCredentials, match="the user name or the password is wrong"):
        authenticate(USERS, name, password)


@pytest.mark.parametrize("method", ["pbkdf2", "pbkdf2:sha512:2000", "scrypt", "scrypt:4096:8:1"])
def test_werkzeug_hashes_are_verified_without_werkzeug(method):
    hashed = generate_password_hash("correct horse", method=method)

    assert is_password_hash(hashed)
    assert password_matches(hashed, "correct horse")
    assert not password_matches(hashed, "correct horse ")


@pytest.mark.parametrize("text", ["pbkdf2:sha256", "scrypt:1:2$salt", "pbkdf2:nohash:10$s$00", "md5$x$y", "plain"])
def test_anything_else_is_not_a_hash(text):
    assert not is_password_hash(text)


def test_a_users_password_never_shows_in_its_repr():
    assert "analytical" not in repr(USERS[0])


def test_a_user_no_longer_configured_is_not_found():
    assert find_user(USERS, "grace") == USERS[1]
    assert find_user(USERS, "former") is None


KEY = "fingerprint-key-for-tests-0123456789abcdef"


def test_the_credential_fingerprint_is_the_same_in_every_process_for_the_same_settings():
    again = User("ada", "analytical-engine", ADMIN)

    assert credential_fingerprint(USERS[0], KEY) == credential_fingerprint(again, KEY)
    assert fingerprint_matches(again, KEY, credential_fingerprint(USERS[0], KEY))


@pytest.mark.parametrize(
    "changed",
    [
        User("ada", "difference-engine", ADMIN),  # a new password
        User("ada", "analytical-engine", READER),  # a new role
        User("lovelace", "analytical-engine", ADMIN),  # a new name
    ],
    ids=["password", "role", "name"],
)
def test_changing_the_password_role_or_name_changes_the_fingerprint(changed):
    assert not fingerprint_matches(changed, KEY, credential_fingerprint(USERS[0], KEY))


def test_the_fingerprint_depends_on_the_key_and_shows_nothing_of_the_password():
    fingerprint = credential_fingerprint(USERS[0], KEY)

    assert fingerprint != credential_fingerprint(USERS[0], KEY + "x")
    assert "analytical" not in fingerprint and len(fingerprint) == 32
    assert not fingerprint_matches(USERS[0], KEY, None)
    assert not fingerprint_matches(USERS[0], KEY, 42)
