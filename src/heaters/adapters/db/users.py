"""The users gateway: reviewer accounts (the password hash is computed by the service, never here)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway

_ADD = text("""
    INSERT INTO users (name, password_hash) VALUES (:name, :hash)
    ON CONFLICT (name) DO NOTHING
    RETURNING id
""")
_BY_NAME = text("SELECT id, name, password_hash FROM users WHERE name = :name")
_ANY = text("SELECT EXISTS (SELECT 1 FROM users)")


@dataclass(frozen=True)
class StoredUser:
    id: int
    name: str
    password_hash: str


class Users(Gateway):
    def add(self, name: str, password_hash: str) -> int | None:
        """The new user's id; None when the name is taken (also when another process took it a moment ago)."""
        return self.conn.execute(_ADD, {"name": name, "hash": password_hash}).scalar()

    def by_name(self, name: str) -> StoredUser | None:
        row = self.conn.execute(_BY_NAME, {"name": name}).first()
        return StoredUser(*row) if row is not None else None

    def any(self) -> bool:
        return self.conn.execute(_ANY).scalar_one()
