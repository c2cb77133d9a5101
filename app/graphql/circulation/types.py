"""GraphQL types of circulation."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from app.circulation import borrowing, models, service
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import (
    PAYLOAD_ERRORS,
    Node,
    PageInfo,
    UserError,
    described_enum,
    page_size,
)
from app.graphql.ids import cursors, encode_id
from app.graphql.network.types import Library
from app.graphql.patrons.types.alerts import PatronAlert, patron_alerts
from app.graphql.registry import provided
from app.patrons.models import Patron as PatronRow

if TYPE_CHECKING:
    from app.graphql.patrons.types import Patron

LazyPatron = Annotated["Patron", strawberry.lazy("app.graphql.patrons.types")]


@strawberry.type(description="An item lent to a patron.")
class Loan(Node):
    row: strawberry.Private[models.Loan]

    @classmethod
    def of(cls, row: models.Loan) -> Loan:
        return cls(id=strawberry.ID(encode_id("Loan", row.id)), row=row)  # type: ignore[arg-type]

    @typed.field(description="Barcode of the item lent, as entered at checkout.")
    def item_barcode(self) -> str:
        return self.row.item_barcode

    @typed.field(description="Where the item was lent.")
    async def library(self, info: Info[Context, None]) -> Library:
        return Library.of(await info.context.loaders.library_by_id.load(self.row.library_id))

    @typed.field(description="When the item was checked out.")
    def loaned_at(self) -> datetime:
        return self.row.loaned_at

    @typed.field(description="Never after the patron's `until` date.")
    def due_at(self) -> datetime:
        return self.row.due_at

    @typed.field(description="When the item was checked in; null while it is on loan.")
    def returned_at(self) -> datetime | None:
        return self.row.returned_at

    @typed.field(description="The borrower.")
    async def patron(self, info: Info[Context, None]) -> LazyPatron | None:
        if self.row.patron_id is None:
            return None  # the borrower was deleted since
        row = await info.context.loaders.patron_by_id.load(self.row.patron_id)
        return provided("Patron").of(row) if row is not None else None


@strawberry.type(description="A loan in a page of results.")
class LoanEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this loan, for `after`.")
    node: Loan = strawberry.field(description="The loan.")


@strawberry.type(description="A page of loans, newest first.")
class LoanConnection:
    edges: list[LoanEdge] = strawberry.field(description="The loans of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
    total_count: int = strawberry.field(description="How many loans match in all.")


class BorrowingReasonCode(Enum):
    GENERIC_ACCOUNT = borrowing.GENERIC_ACCOUNT
    DISABLED = borrowing.DISABLED
    EXPIRED = borrowing.EXPIRED
    ACCESS_ENDED = borrowing.ACCESS_ENDED
    HOME_ACCOUNT_UNAVAILABLE = borrowing.HOME_ACCOUNT_UNAVAILABLE
    NO_LIBRARY_GROUP = borrowing.NO_LIBRARY_GROUP
    BLOCKED = borrowing.BLOCKED


described_enum(
    BorrowingReasonCode,
    name="BorrowingReasonCode",
    description="Why a patron may not borrow.",
    values={
        BorrowingReasonCode.GENERIC_ACCOUNT: "Generic (anonymous) accounts cannot borrow.",
        BorrowingReasonCode.DISABLED: "The account is disabled.",
        BorrowingReasonCode.EXPIRED: "The account is past its expiry date.",
        BorrowingReasonCode.ACCESS_ENDED: "The account is past its `until` date.",
        BorrowingReasonCode.HOME_ACCOUNT_UNAVAILABLE: (
            "A linked account whose source is restricted, disabled, expired or deleted."
        ),
        BorrowingReasonCode.NO_LIBRARY_GROUP: (
            "A non-student (no form class) in no library group, where the institution"
            " uses library groups."
        ),
        BorrowingReasonCode.BLOCKED: (
            "A block on loans; staff with OVERRIDE_BLOCKS may override it at checkout."
        ),
    },
)


@strawberry.type(description="One reason a patron may not borrow.")
class BorrowingReason:
    code: BorrowingReasonCode = strawberry.field(description="The reason, for programs.")
    message: str = strawberry.field(
        description="The reason, for people (for BLOCKED: the block's description)."
    )


@strawberry.type(
    description="Whether the patron may borrow now, by the rules checkOut applies: "
    "BLOCKED reasons can be overridden at checkout by staff with OVERRIDE_BLOCKS, "
    "the others not."
)
class Borrowing:
    allowed: bool = strawberry.field(description="True when there is no reason at all.")
    reasons: list[BorrowingReason] = strawberry.field(
        description="Every reason the patron may not borrow now, in the order checked; "
        "empty when allowed."
    )


async def patron_borrowing(info: Info[Context, None], patron: PatronRow) -> Borrowing:
    reasons = await info.context.loaders.borrowing_by_patron.load(patron)
    return Borrowing(
        allowed=not reasons,
        reasons=[
            BorrowingReason(code=BorrowingReasonCode(r.code), message=r.message) for r in reasons
        ],
    )


@strawberry.type(description="The loan, or what went wrong.")
class LoanPayload:
    loan: Loan | None = strawberry.field(
        default=None, description="The loan as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )

    @typed.field(
        description="The borrower's alerts (e.g. a blacklisted email), to show at the desk."
    )
    async def alerts(self, info: Info[Context, None]) -> list[PatronAlert]:
        if self.loan is None or self.loan.row.patron_id is None:
            return []
        patron = await info.context.loaders.patron_by_id.load(self.loan.row.patron_id)
        return await patron_alerts(info, patron) if patron is not None else []


async def patron_loans(
    info: Info[Context, None],
    patron: PatronRow,
    *,
    first: int | None,
    after: str | None,
    active: bool | None,
) -> LoanConnection:
    ctx = info.context
    size = page_size(first, 20, ctx.settings.max_page_size)
    sealed = await cursors(info, "loans", patron.id, active)
    found = sealed.position(after, int)
    after_id = int(found[0]) if found else None
    async with ctx.db.use() as session:
        rows, has_next, total = await service.loans_page(
            session=session,
            actor=ctx.actor,
            patron=patron,
            active=active,
            first=size,
            after_id=after_id,
        )
    edges = [LoanEdge(cursor=sealed.encode(r.id), node=Loan.of(r)) for r in rows]
    return LoanConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after_id is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )
