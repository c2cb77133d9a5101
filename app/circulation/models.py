"""The loan table."""

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Loan(SQLModel, table=True):
    """An item on loan (or returned: the history stays, anonymised if the patron goes)."""

    __tablename__ = "loan"
    __table_args__ = (
        # One active loan per item: the key is set while the loan is active only.
        UniqueConstraint("institution_id", "active_item_key"),
        Index("ix_loan_patron_active", "patron_id", "returned_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    patron_id: int | None = Field(default=None, foreign_key="patron.id", ondelete="SET NULL")
    institution_id: int = Field(foreign_key="institution.id")
    library_id: int = Field(foreign_key="library.id")
    item_barcode: str = Field(max_length=100)
    active_item_key: str | None = Field(default=None, max_length=100)
    loaned_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    returned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
