"""Reviewer accounts: create, authenticate. Passwords are hashed with Argon2 (argon2-cffi)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from heaters.adapters.db.connection import Database
from heaters.adapters.db.models import User
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
    with database.sessions.begin() as session:
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise Refused(f"a user named {name!r} already exists")
        user = User(name=name, password_hash=_hasher.hash(password))
        session.add(user)
        session.flush()
        return Reviewer(user.id, user.name)


def authenticate(database: Database, name: str, password: str) -> Reviewer | None:
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


def get_reviewer(database: Database, user_id: int) -> Reviewer | None:
    with database.sessions() as session:
        user = session.get(User, user_id)
        return Reviewer(user.id, user.name) if user else None


def ensure_first_user(database: Database, name: str, password: str | None) -> tuple[Reviewer, str] | None:
    """On first start (no users at all), create one; returns it and its password to show once.

    Race-free: processes starting together on a fresh database all try, one creates it (ON CONFLICT)."""
    from heaters.adapters.db.ops_store import any_user, insert_user_if_absent

    if any_user(database):
        return None
    name = name.strip()
    password = password or secrets.token_urlsafe(12)
    if not name or len(name) > 100:
        raise BadInput("a user name is 1 to 100 characters")
    if len(password) < 8:
        raise BadInput("a password is at least 8 characters")
    user_id = insert_user_if_absent(database, name, _hasher.hash(password))
    return (Reviewer(user_id, name), password) if user_id is not None else None
