"""username prefix index

Username search by prefix as an index lookup, with PostgreSQL's pattern operator class
(LIKE 'x%' under any collation).

Revision ID: 5e1d7a2c9b10
Revises: 9d5531b3eaae
Create Date: 2026-12-03 17:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5e1d7a2c9b10"
down_revision: str | None = "9d5531b3eaae"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patron", schema=None) as batch_op:
        batch_op.create_index(
            "ix_patron_username_prefix",
            ["institution_id", "username_key"],
            unique=False,
            postgresql_ops={"username_key": "varchar_pattern_ops"},
        )


def downgrade() -> None:
    with op.batch_alter_table("patron", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_patron_username_prefix", postgresql_ops={"username_key": "varchar_pattern_ops"}
        )
