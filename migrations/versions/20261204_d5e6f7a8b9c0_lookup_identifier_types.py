"""lookup identifier types: the identifier types an institution looks others' patrons up by

Revision ID: d5e6f7a8b9c0
Revises: c4d5e6f7a8b9
Create Date: 2026-12-04 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5e6f7a8b9c0"
down_revision: str | None = "c4d5e6f7a8b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lookup_identifier_type",
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("identifier_type_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["identifier_type_id"],
            ["identifier_type.id"],
            name=op.f("fk_lookup_identifier_type_identifier_type_id_identifier_type"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_lookup_identifier_type_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint(
            "institution_id", "identifier_type_id", name=op.f("pk_lookup_identifier_type")
        ),
    )


def downgrade() -> None:
    op.drop_table("lookup_identifier_type")
