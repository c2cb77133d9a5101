"""job queue: pgqueuer's tables, types and notify trigger (PostgreSQL only)

On SQLite jobs run in-process, so there is nothing to create. The DDL is pgqueuer's own
(its install query, with its default names); a later pgqueuer that changes its schema
says so in its release notes and brings it up with `pgq upgrade` (or a migration here).

Revision ID: a1b2c3d4e5f6
Revises: f7a8b9c0d1e2
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

from alembic import op
from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment
from sqlalchemy.util import await_only

revision: str = "a1b2c3d4e5f6"
down_revision: str | None = "f7a8b9c0d1e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run_script(script: str) -> None:
    """Several statements (and a function body) in one go: asyncpg's simple protocol, on
    the migration's own connection and inside its transaction."""
    driver_connection = op.get_bind().connection.driver_connection
    await_only(driver_connection.execute(script))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _run_script(QueryBuilderEnvironment().build_install_query(create_schema=False))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _run_script(QueryBuilderEnvironment().build_uninstall_query())
