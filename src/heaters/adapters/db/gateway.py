"""The base of every gateway: it keeps the unit of work's connection and runs named statements on it."""

from __future__ import annotations

from sqlalchemy import Connection


class Gateway:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
