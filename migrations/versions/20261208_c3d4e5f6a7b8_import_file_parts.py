"""import file parts: an uploaded file is kept as numbered parts of at most 1 MiB, so that
no process holds a whole file in memory to store it or to read it back

Revision ID: c3d4e5f6a7b8
Revises: b2c3d4e5f6a7
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3d4e5f6a7b8"
down_revision: str | None = "b2c3d4e5f6a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A file stored before is its own part 0.
    with op.batch_alter_table("import_file") as batch:
        batch.add_column(sa.Column("part", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("pk_import_file", type_="primary")
        batch.create_primary_key("pk_import_file", ["job_id", "part"])
    with op.batch_alter_table("import_file") as batch:
        batch.alter_column("part", server_default=None)


def downgrade() -> None:
    # Parts after the first cannot be kept in one row each: files of waiting jobs that
    # have several go (their jobs then end, as files that are missing do).
    op.execute(
        "DELETE FROM import_file WHERE job_id IN (SELECT job_id FROM import_file WHERE part > 0)"
    )
    with op.batch_alter_table("import_file") as batch:
        batch.drop_constraint("pk_import_file", type_="primary")
        batch.create_primary_key("pk_import_file", ["job_id"])
        batch.drop_column("part")
