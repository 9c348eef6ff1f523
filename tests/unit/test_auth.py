from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from core.auth import ADMIN, READER, User, authenticate, is_password_hash, password_matches, role_of
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


def test_the_role_of_a_user_no_longer_configured_is_none():
    assert role_of(USERS, "grace") == READER
    assert role_of(USERS, "former") is None
