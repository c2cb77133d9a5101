"""deployment secret

A random secret per deployment, made here when the database is migrated, so that what
netzone signs (the refs of network search) cannot be forged from a value in the source.

Revision ID: b3c4d5e6f7a8
Revises: 5e1d7a2c9b10
Create Date: 2026-12-03 17:20:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "b3c4d5e6f7a8"
down_revision: str | None = "5e1d7a2c9b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "deployment_secret",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(table, [{"name": "root", "value": secrets.token_urlsafe(48)}])


def downgrade() -> None:
    op.drop_table("deployment_secret")
