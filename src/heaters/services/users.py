"""Reviewer accounts: create, authenticate, change a password. Passwords are hashed with Argon2 (argon2-cffi)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from heaters.adapters.db.connection import Database
from heaters.adapters.db.sessions import replace_password
from heaters.adapters.db.uow import connection, transaction
from heaters.domain.errors import BadInput, NotFound, Refused

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Reviewer:
    id: int
    name: str


def _check_credentials(name: str, password: str) -> None:
    if not name or len(name) > 100 or "\x00" in name:
        raise BadInput("a user name is 1 to 100 characters")
    if len(password) < 8:
        raise BadInput("a password is at least 8 characters")


def create_user(database: Database, name: str, password: str) -> Reviewer:
    name = name.strip()
    _check_credentials(name, password)
    password_hash = _hasher.hash(password)
    with transaction(database) as uow:
        user_id = uow.users.add(name, password_hash)
    if user_id is None:
        raise Refused(f"a user named {name!r} already exists")
    return Reviewer(user_id, name)


def authenticate(database: Database, name: str, password: str) -> Reviewer | None:
    if "\x00" in name or len(name) > 200:
        _hasher.hash(password)
        return None
    with connection(database) as uow:
        user = uow.users.by_name(name.strip())
    if user is None:
        _hasher.hash(password)  # same work either way: no timing hint about which names exist
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return Reviewer(user.id, user.name)


def set_password(database: Database, name: str, password: str) -> Reviewer:
    """Change a reviewer's password; every session they had is revoked (signed out everywhere)."""
    name = name.strip()
    _check_credentials(name, password)
    user_id = replace_password(database, name, _hasher.hash(password))
    if user_id is None:
        raise NotFound(f"no user named {name!r}")
    return Reviewer(user_id, name)


def ensure_first_user(database: Database, name: str, password: str | None) -> tuple[Reviewer, str] | None:
    """On first start (no users at all), create one; returns it and its password to show once. Two processes
    starting together on a fresh database: one creates it, the other finds the name taken and returns None."""
    with connection(database) as uow:
        if uow.users.any():
            return None
    password = password or secrets.token_urlsafe(12)
    try:
        return create_user(database, name, password), password
    except Refused:
        return None
