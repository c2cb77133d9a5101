"""patron value choices: per-institution lists of allowed cohorts and form classes

Revision ID: f7a8b9c0d1e2
Revises: e6f7a8b9c0d1
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "f7a8b9c0d1e2"
down_revision: str | None = "e6f7a8b9c0d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patron_value_choice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("value_key", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_patron_value_choice_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patron_value_choice")),
        sa.UniqueConstraint(
            "institution_id",
            "kind",
            "value_key",
            name=op.f("uq_patron_value_choice_institution_id_kind_value_key"),
        ),
    )


def downgrade() -> None:
    op.drop_table("patron_value_choice")
