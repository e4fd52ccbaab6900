"""Session changes announced to every web process: NOTIFY heaters_sessions from the tables themselves.

Each web process keeps the sessions it has seen in memory (a review action then costs no sign-in lookup) and
drops them when told. Triggers, not the code that revokes, send the notice, so every way a session ends is
heard — sign-out, a password change, housekeeping, a user deleted or changed by hand in SQL: a session row
updated or deleted names itself (the SHA-256 id); a user row updated or deleted sends "*" (forget them all).
PostgreSQL delivers the notices only if the transaction commits.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION heaters_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('heaters_sessions', OLD.id);
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE FUNCTION heaters_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('heaters_sessions', '*');
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER web_sessions_changed AFTER UPDATE OR DELETE ON web_sessions
        FOR EACH ROW EXECUTE FUNCTION heaters_session_changed()
    """)
    op.execute("""
        CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
        FOR EACH STATEMENT EXECUTE FUNCTION heaters_user_changed()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS users_changed ON users")
    op.execute("DROP TRIGGER IF EXISTS web_sessions_changed ON web_sessions")
    op.execute("DROP FUNCTION IF EXISTS heaters_user_changed()")
    op.execute("DROP FUNCTION IF EXISTS heaters_session_changed()")
