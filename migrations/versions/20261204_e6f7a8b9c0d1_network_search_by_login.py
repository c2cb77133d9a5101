"""network search by username and primary email (opt-in per institution)

Revision ID: e6f7a8b9c0d1
Revises: d5e6f7a8b9c0
Create Date: 2026-12-04 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e6f7a8b9c0d1"
down_revision: str | None = "d5e6f7a8b9c0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("institution") as batch:
        batch.add_column(
            sa.Column(
                "network_search_by_username",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch.add_column(
            sa.Column(
                "network_search_by_email", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_index(
        "ix_patron_email_lookup",
        "patron",
        [sa.text("lower(primary_email)"), "institution_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_patron_email_lookup", table_name="patron")
    with op.batch_alter_table("institution") as batch:
        batch.drop_column("network_search_by_email")
        batch.drop_column("network_search_by_username")
