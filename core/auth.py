"""Who may sign in: the users from the settings, their roles, and a constant-time password check."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import NamedTuple

from domain.errors import ConfigurationError, InvalidCredentials

ADMIN = "admin"
READER = "reader"
ROLES = (ADMIN, READER)


class User(NamedTuple):
    name: str
    password: str  # plain text, or a werkzeug hash: pbkdf2:sha256:600000$salt$hex or scrypt:32768:8:1$salt$hex
    role: str

    def __repr__(self) -> str:
        return f"User(name={self.name!r}, role={self.role!r})"


def is_password_hash(value: str) -> bool:
    """True for the hashes werkzeug's ``generate_password_hash`` makes (pbkdf2 or scrypt)."""
    try:
        _hash(value, "")
    except ValueError:
        return False
    return True


def _hash(stored: str, password: str) -> tuple[str, str]:
    """The hex digest of ``password`` under the method and salt of ``stored``, and the stored digest."""
    method, salt, digest = stored.split("$", 2)
    name, *args = method.split(":")
    if name == "pbkdf2" and len(args) == 2 and args[1].isdigit():
        hash_name, iterations = args[0], int(args[1])
        if hash_name not in hashlib.algorithms_guaranteed:
            raise ValueError(f"unknown hash {hash_name}")
        return hashlib.pbkdf2_hmac(hash_name, password.encode(), salt.encode(), iterations).hex(), digest
    if name == "scrypt" and len(args) == 3 and all(arg.isdigit() for arg in args):
        n, r, p = (int(arg) for arg in args)
        return hashlib.scrypt(
            password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p
        ).hex(), digest
    raise ValueError(f"unknown password hash method {method!r}")


def password_matches(stored: str, password: str) -> bool:
    """Compare in constant time; ``stored`` is plain text or a werkzeug pbkdf2/scrypt hash."""
    if stored.startswith(("pbkdf2:", "scrypt:")):
        try:
            computed, digest = _hash(stored, password)
        except ValueError:
            return False
        return hmac.compare_digest(computed, digest)
    return hmac.compare_digest(stored.encode(), password.encode())


def authenticate(users: Iterable[User], username: str, password: str) -> User:
    """The user these credentials belong to; ``InvalidCredentials`` otherwise, without saying which part was wrong."""
    known = list(users)
    found = next((user for user in known if hmac.compare_digest(user.name.encode(), username.encode())), None)
    # An unknown name is checked against another user's password, so it costs as long as a wrong password.
    stored = found.password if found else (known[0].password if known else "")
    matches = password_matches(stored, password)
    if found is None or not matches:
        raise InvalidCredentials("the user name or the password is wrong")
    return found


def find_user(users: Iterable[User], username: str) -> User | None:
    """The user configured now under this name, or None when no such user is configured any more."""
    return next((user for user in users if user.name == username), None)


def credential_fingerprint(user: User, key: str) -> str:
    """A short keyed hash of the user's name, role and stored password (or hash).

    A token carries the fingerprint of the user it was issued to; when the password or the role
    changes in the settings, the fingerprint changes and every earlier token stops working. Without
    ``key`` it reveals nothing about the password.
    """
    message = "\0".join(("hireflow credential fingerprint", user.name, user.role, user.password))
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()[:32]


def fingerprint_matches(user: User, key: str, fingerprint: object) -> bool:
    """Whether ``fingerprint`` (from a token) is the user's current one; compared in constant time."""
    if not isinstance(fingerprint, str):
        return False
    return hmac.compare_digest(credential_fingerprint(user, key).encode(), fingerprint.encode())


def configured_users(get: Callable[..., str | None]) -> tuple[User, ...]:
    """The admin and the optional reader from ``ADMIN_*`` and ``READER_*`` settings, read through ``get``."""
    users = []
    for role, prefix, default_name in ((ADMIN, "ADMIN", "admin"), (READER, "READER", None)):
        name = get(f"{prefix}_USERNAME", default_name)
        password = get(f"{prefix}_PASSWORD")
        if password and not name:
            raise ConfigurationError(f"{prefix}_PASSWORD is set but {prefix}_USERNAME is not")
        if password and password.startswith(("pbkdf2:", "scrypt:")) and not is_password_hash(password):
            raise ConfigurationError(
                f"{prefix}_PASSWORD looks like a hash but is not one werkzeug makes (method$salt$hex); "
                "quote it in single quotes in .env"
            )
        if name and password:
            users.append(User(name, password, role))
    if len({user.name for user in users}) < len(users):
        raise ConfigurationError("ADMIN_USERNAME and READER_USERNAME must differ")
    return tuple(users)
