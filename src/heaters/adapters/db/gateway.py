"""The base of every gateway: it keeps the unit of work's connection and runs named statements on it.

A statement whose result nobody reads goes through `Gateway.write`: it runs at once, or — inside a unit of work's
`action` — it waits in the unit of work's `DeferredWrites` and travels with the COMMIT, in the same round trip.
A key press then pays one round trip for all of its writes instead of one per statement, and the video's timeline
lock it holds is released that much sooner for the next reviewer.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import ClientCursor
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, TextClause
from sqlalchemy.exc import DBAPIError

# Waits until the WAL is on disk up to this point, which lies after the COMMIT just sent: that commit is then
# durable. PostgreSQL 17+ (`flush`); any role may call it; the message itself is a few bytes nobody decodes.
_WAIT_FOR_DISK = "SELECT pg_logical_emit_message(false, 'heaters', 'durable', true)"
WAIT_FOR_DISK_SINCE = 170000  # server_version_num


class DeferredWrites:
    """The writes of one transaction, held back and sent with its COMMIT (`send_with_commit`): PostgreSQL's simple
    query protocol runs several statements from one message, in order, in the transaction. Their values are bound
    by psycopg's client-side binding (the quoting of `ClientCursor`, which knows the connection's encoding).

    `durable_after_commit()`: the transaction commits without waiting for the disk (its locks are released at
    once) and the same round trip then waits until the commit is on disk — early lock release. Whoever waits for
    one of its locks goes on while the disk flushes, and `send_with_commit` still returns only once the commit is
    durable, so nothing acknowledged can be lost. (Another session may read the change during that flush; a
    later durable commit of its own is written after this one in the WAL, so it can never outlive it.)"""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.active = False
        self._statements: list[str] = []
        self._wait_for_disk = False
        self._read_after: str | None = None
        self.row_after_commit: tuple[Any, ...] | None = None  # the first row of `read_after_commit`'s statement

    def durable_after_commit(self) -> bool:
        """Commit without holding locks through the disk flush, then wait for it (see above); False when the
        server cannot wait that way (before PostgreSQL 17): commit durably as usual then."""
        if self.conn.connection.driver_connection.info.server_version < WAIT_FOR_DISK_SINCE:
            return False
        self._wait_for_disk = True
        return True

    def add(self, statement: TextClause | str, params: dict[str, Any] | None) -> None:
        self._statements.append(self._bound(statement, params))

    def read_after_commit(self, statement: TextClause, params: dict[str, Any]) -> None:
        """Run `statement` right after the COMMIT (and its wait for the disk), in the same round trip, on its own
        (not in the transaction: whatever it locks is not held while the transaction's locks are); its first row is
        `row_after_commit` once `send_with_commit` returns."""
        self._read_after = self._bound(statement, params)

    def _bound(self, statement: TextClause | str, params: dict[str, Any] | None) -> str:
        if isinstance(statement, str):
            if params:
                raise ValueError("a plain SQL string is sent as it is: no parameters")
            return statement
        driver = self.conn.connection.driver_connection
        return ClientCursor(driver).mogrify(_driver_sql(self.conn, statement), params or {})

    def send_with_commit(self) -> None:
        """The held writes and COMMIT, in one round trip (BEGIN first if nothing began the transaction yet, so the
        writes are never run one by one). After it the server has no transaction: the driver's own commit is a
        no-op."""
        statements, self._statements = self._statements, []
        wait_for_disk, self._wait_for_disk = self._wait_for_disk, False
        read_after, self._read_after = self._read_after, None
        batch: list[str] = []
        if in_server_transaction(self.conn) or statements:
            begin = [] if in_server_transaction(self.conn) else ["BEGIN"]
            batch = [*begin, *statements, "COMMIT", *([_WAIT_FOR_DISK] if wait_for_disk else [])]
        if read_after is None:
            if batch:
                _run_plain(self.conn, ";\n".join(batch))
            return
        self.row_after_commit = _last_row(self.conn, ";\n".join([*batch, read_after]))

    def begins_with_next_statement(self) -> bool:
        """Inside an action nothing has begun the transaction on the server yet: the driver is in autocommit and
        sends no BEGIN of its own, so the next statement (the timeline lock) must carry it."""
        return self.active and not in_server_transaction(self.conn)

    def discard(self) -> None:
        self._statements = []
        self._wait_for_disk = False
        self._read_after = None


def _run_plain(conn: Connection, sql: str) -> None:
    """Run SQL text as it is: no parameters, so the driver reads no placeholders in it (a bound value may hold a
    '%'), and the simple query protocol, which runs several statements from one message."""
    conn.exec_driver_sql(sql, execution_options={"no_parameters": True})


def _last_row(conn: Connection, sql: str) -> tuple[Any, ...] | None:
    """Run SQL text of several statements (as `_run_plain`) and return the first row of the last one's result."""
    cursor = conn.connection.cursor()
    try:
        try:
            cursor.execute(sql)
        except psycopg.Error as exc:  # as SQLAlchemy would raise it (the edges map its DataError, for one)
            raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc
        while cursor.nextset():  # the read is the last statement
            pass
        return cursor.fetchone()
    finally:
        cursor.close()


_COMPILED: dict[int, tuple[TextClause, str]] = {}


def _driver_sql(conn: Connection, statement: TextClause) -> str:
    """The statement in the driver's own placeholder style (`%(name)s`), compiled once per statement."""
    found = _COMPILED.get(id(statement))
    if found is None or found[0] is not statement:
        found = _COMPILED[id(statement)] = (statement, str(statement.compile(dialect=conn.dialect)))
    return found[1]


def in_server_transaction(conn: Connection) -> bool:
    """The server has a transaction open on this connection (begun by the driver or by a statement of ours)."""
    return conn.connection.driver_connection.info.transaction_status != TransactionStatus.IDLE


class Gateway:
    def __init__(self, conn: Connection, writes: DeferredWrites | None = None) -> None:
        self.conn = conn
        self._writes = writes

    def write(self, statement: TextClause | str, params: dict[str, Any] | None = None) -> None:
        """Run a statement whose result nobody reads: now, or with the COMMIT of the unit of work's action."""
        if self._writes is not None and self._writes.active:
            self._writes.add(statement, params)
        elif isinstance(statement, str):
            _run_plain(self.conn, statement)
        else:
            self.conn.execute(statement, params or {})
