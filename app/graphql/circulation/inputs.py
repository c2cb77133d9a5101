"""Inputs of check out and check in."""

from __future__ import annotations

import strawberry


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
