"""Errors from below the services that the edges map too: a value the database refuses (an integer out of
range, a NUL byte) is the request's fault, answered 400 — named here so that no edge imports the database
library."""

from __future__ import annotations

from heaters.adapters.db.connection import DataError as DatabaseRefusedValue

__all__ = ["DatabaseRefusedValue"]
