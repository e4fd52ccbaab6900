"""The job queue's tables (procrastinate's own schema, applied as one of our migrations).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Straight to the driver: the schema is multi-statement SQL with `%` and `:` that must not be parsed.
    # psycopg sends a query without parameters as-is; it runs inside the migration's transaction.
    op.get_bind().connection.driver_connection.execute(SchemaManager.get_schema())


def downgrade() -> None:
    raise NotImplementedError("the job queue schema cannot be removed by a downgrade; drop procrastinate_* by hand")
