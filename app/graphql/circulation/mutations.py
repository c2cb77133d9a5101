"""Check out and check in."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.circulation import models, service
from app.errors import DomainError, ErrorCode
from app.graphql import typed
from app.graphql.circulation.inputs import CheckInInput, CheckOutInput
from app.graphql.circulation.types import Loan, LoanPayload
from app.graphql.context import Context
from app.graphql.core import mutate
from app.graphql.ids import decode_pk
from app.linking import propagation
from app.linking import service as linking
from app.sql import saved_id


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
