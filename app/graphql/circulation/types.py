"""GraphQL types of circulation."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.circulation import models
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import Node, PageInfo
from app.graphql.ids import encode_id
from app.graphql.network.types import Library


@strawberry.type(description="An item lent to a patron.")
class Loan(Node):
    row: strawberry.Private[models.Loan]

    @classmethod
    def of(cls, row: models.Loan) -> Loan:
        return cls(id=strawberry.ID(encode_id("Loan", row.id)), row=row)  # type: ignore[arg-type]

    @strawberry.field
    def item_barcode(self) -> str:
        return self.row.item_barcode

    @typed.field(description="Where the item was lent.")
    async def library(self, info: Info[Context, None]) -> Library:
        return Library.of(await info.context.loaders.library_by_id.load(self.row.library_id))

    @strawberry.field
    def loaned_at(self) -> datetime:
        return self.row.loaned_at

    @typed.field(description="Never after the patron's `until` date.")
    def due_at(self) -> datetime:
        return self.row.due_at

    @strawberry.field
    def returned_at(self) -> datetime | None:
        return self.row.returned_at


@strawberry.type
class LoanEdge:
    cursor: str
    node: Loan


@strawberry.type(description="A page of loans, newest first.")
class LoanConnection:
    edges: list[LoanEdge]
    page_info: PageInfo
    total_count: int
