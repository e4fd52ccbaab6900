"""Reviewer accounts: create, authenticate. Passwords are hashed with Argon2 (argon2-cffi)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from heaters.adapters.db.connection import Database
from heaters.adapters.db.uow import connection, transaction
from heaters.domain.errors import BadInput, Refused

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Reviewer:
    id: int
    name: str


def create_user(database: Database, name: str, password: str) -> Reviewer:
    name = name.strip()
    if not name or len(name) > 100:
        raise BadInput("a user name is 1 to 100 characters")
    if len(password) < 8:
        raise BadInput("a password is at least 8 characters")
    password_hash = _hasher.hash(password)
    with transaction(database) as uow:
        user_id = uow.users.add(name, password_hash)
    if user_id is None:
        raise Refused(f"a user named {name!r} already exists")
    return Reviewer(user_id, name)


def authenticate(database: Database, name: str, password: str) -> Reviewer | None:
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
