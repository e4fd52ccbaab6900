"""Reviewer accounts: create, authenticate. Passwords are hashed with Argon2 (argon2-cffi)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from heaters.adapters.db.connection import Database
from heaters.adapters.db.models import User
from heaters.adapters.db.sessions import replace_password
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
    with database.sessions.begin() as session:
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise Refused(f"a user named {name!r} already exists")
        user = User(name=name, password_hash=_hasher.hash(password))
        session.add(user)
        session.flush()
        return Reviewer(user.id, user.name)


def authenticate(database: Database, name: str, password: str) -> Reviewer | None:
    if "\x00" in name or len(name) > 200:
        _hasher.hash(password)
        return None
    with database.sessions() as session:
        user = session.scalars(select(User).where(User.name == name.strip())).first()
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


def get_reviewer(database: Database, user_id: int) -> Reviewer | None:
    with database.sessions() as session:
        user = session.get(User, user_id)
        return Reviewer(user.id, user.name) if user else None


def ensure_first_user(database: Database, name: str, password: str | None) -> tuple[Reviewer, str] | None:
    """On first start (no users at all), create one; returns it and its password to show once."""
    with database.sessions() as session:
        if session.scalar(select(User.id).limit(1)) is not None:
            return None
    password = password or secrets.token_urlsafe(12)
    return create_user(database, name, password), password
