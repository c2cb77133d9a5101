"""Check out and check in."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.circulation import models, service
from app.errors import DomainError, ErrorCode
from app.graphql import typed
from app.graphql.circulation.types import Loan
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, UserError, mutate
from app.graphql.ids import decode_pk
from app.graphql.patrons.alerts import PatronAlert, patron_alerts
from app.linking import propagation
from app.linking import service as linking
from app.sql import saved_id


@strawberry.input(
    description="Lend an item: to a patron, or to a walk-in found by networkPatronSearch."
)
class CheckOutInput:
    item_barcode: str = strawberry.field(
        description="Barcode of the item (up to 100 characters); one active loan per item."
    )
    patron_id: strawberry.ID | None = strawberry.field(
        default=None, description="A patron of your institution (or give sourcePatron)."
    )
    source_patron: strawberry.ID | None = strawberry.field(
        default=None,
        description="Walk-in: a NetworkPatron.ref; the patron is linked (or refreshed) first.",
    )
    override_blocks: bool | None = strawberry.field(
        default=None, description="Lend despite blocks (needs OVERRIDE_BLOCKS)."
    )


@strawberry.input(description="An item coming back.")
class CheckInInput:
    item_barcode: str = strawberry.field(
        description="Barcode of the item on loan in your institution."
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


def _loan_payload(row: models.Loan) -> LoanPayload:
    return LoanPayload(loan=Loan.of(row))


@strawberry.type
class CirculationMutations:
    @typed.mutation(description="Lend an item, by the borrowing rules (CIRCULATION).")
    async def check_out(
        self,
        info: Info[Context, None],
        input: Annotated[
            CheckOutInput, strawberry.argument(description="The item and the borrower.")
        ],
    ) -> LoanPayload:
        ctx = info.context

        async def action(session: AsyncSession) -> models.Loan:
            if (input.patron_id is None) == (input.source_patron is None):
                raise DomainError.of(
                    ErrorCode.INVALID_INPUT,
                    "Give either patronId or sourcePatron.",
                    ["patron_id"],
                )
            library_id = None
            patron_id: int | None
            if input.source_patron is not None:
                # A walk-in is linked first: refuse what would fail anyway before linking.
                service.require_circulation(ctx.actor)
                service.item_key(input.item_barcode)
                linked = await linking.link_account(
                    session=session,
                    settings=ctx.settings,
                    actor=ctx.actor,
                    ref=input.source_patron,
                    reason="WALK_IN",
                    commit=False,  # linked and lent together, or neither
                    walk_in_checkout=True,  # the desk may link here, and only here
                )
                patron_id = saved_id(linked.patron)
                library_id = await propagation.resource_sharing_library(session, linked.patron)
            else:
                patron_id = decode_pk(input.patron_id or "", "Patron")
                if patron_id is None:
                    raise DomainError.of(
                        ErrorCode.NOT_FOUND, "There is no such patron.", ["patron_id"]
                    )
            return await service.check_out(
                session=session,
                settings=ctx.settings,
                actor=ctx.actor,
                patron_id=patron_id,
                item_barcode=input.item_barcode,
                override_blocks=bool(input.override_blocks),
                library_id=library_id,
            )

        return await mutate(info, action, _loan_payload, LoanPayload)

    @typed.mutation(description="Return an item (CIRCULATION).")
    async def check_in(
        self,
        info: Info[Context, None],
        input: Annotated[CheckInInput, strawberry.argument(description="The item.")],
    ) -> LoanPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: service.check_in(session=s, actor=ctx.actor, item_barcode=input.item_barcode),
            _loan_payload,
            LoanPayload,
        )
