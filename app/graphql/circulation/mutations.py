"""Check out and check in."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.circulation import models, service
from app.errors import DomainError, ErrorCode
from app.graphql.circulation.inputs import CheckInInput, CheckOutInput
from app.graphql.circulation.types import Loan, LoanPayload
from app.graphql.context import Context
from app.graphql.core import mutation
from app.graphql.ids import decode_pk
from app.linking import propagation
from app.linking import service as linking
from app.sql import saved_id


def _loan_payload(row: models.Loan) -> LoanPayload:
    return LoanPayload(loan=Loan.of(row))


async def _check_out(session: AsyncSession, ctx: Context, input: CheckOutInput) -> models.Loan:
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
            raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such patron.", ["patron_id"])
    return await service.check_out(
        session=session,
        settings=ctx.settings,
        actor=ctx.actor,
        patron_id=patron_id,
        item_barcode=input.item_barcode,
        override_blocks=bool(input.override_blocks),
        library_id=library_id,
    )


@strawberry.type
class CirculationMutations:
    check_out = mutation(
        "Lend an item, by the borrowing rules (CIRCULATION).",
        input=(CheckOutInput, "The item and the borrower."),
        run=_check_out,
        answer=_loan_payload,
        payload=LoanPayload,
    )

    check_in = mutation(
        "Return an item (CIRCULATION).",
        input=(CheckInInput, "The item."),
        run=lambda s, ctx, input: service.check_in(
            session=s, actor=ctx.actor, item_barcode=input.item_barcode
        ),
        answer=_loan_payload,
        payload=LoanPayload,
    )
