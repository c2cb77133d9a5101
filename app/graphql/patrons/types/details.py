"""What a patron record carries besides its own fields: identifiers, contact emails, blocks and
the photo."""

from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import Node
from app.graphql.ids import encode_id
from app.graphql.network.types import (
    BlockType,
    IdentifierType,
)
from app.patrons import models
from app.sql import saved_id

if TYPE_CHECKING:
    pass


@strawberry.type(description="A typed identifier value of a patron.")
class Identifier:
    type: IdentifierType = strawberry.field(description="The kind of identifier.")
    value: str = strawberry.field(description="The value as entered.")


@strawberry.type(description="An extra address for notices (a parent, a guardian).")
class ContactEmail:
    address: str = strawberry.field(description="The email address.")
    label: str | None = strawberry.field(description="Whose address it is, e.g. 'Parent'.")


@strawberry.enum(description="LOCAL: put on here. COPIED: copied from the source account.")
class BlockOrigin(Enum):
    LOCAL = strawberry.enum_value(
        "LOCAL", description="Put on at this institution; never touched by a refresh."
    )
    COPIED = strawberry.enum_value(
        "COPIED",
        description="Copied from the source account of a linked account; replaced at each "
        ""
        "refresh by rules that copy network blocks.",
    )


@strawberry.type(description="A block on a patron.")
class PatronBlock(Node):
    row: strawberry.Private[models.PatronBlock]
    block_type: strawberry.Private[Any]

    @classmethod
    def of(cls, row: models.PatronBlock, block_type: Any) -> PatronBlock:
        return cls(
            id=strawberry.ID(encode_id("PatronBlock", saved_id(row))),
            row=row,
            block_type=block_type,
        )

    @typed.field(description="The kind of block.")
    def type(self) -> BlockType:
        return BlockType(row=self.block_type)

    @typed.field(description="Why the block was put on.")
    def note(self) -> str | None:
        return self.row.note

    @typed.field(description="LOCAL or COPIED.")
    def origin(self) -> BlockOrigin:
        return BlockOrigin(self.row.origin)

    @typed.field(description="When the block was put on.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @typed.field(description="When the block lifts by itself, if ever.")
    def expires_at(self) -> datetime | None:
        return self.row.expires_at


@strawberry.type(description="The patron's photo.")
class PatronPhoto:
    patron_id: strawberry.Private[int]
    content_type: str = strawberry.field(description="image/jpeg, image/png or image/webp.")
    width: int = strawberry.field(description="Width in pixels.")
    height: int = strawberry.field(description="Height in pixels.")
    byte_size: int = strawberry.field(description="Size of the file in bytes.")
    updated_at: datetime = strawberry.field(description="When the photo was last set.")

    @typed.field(description="The image as a data: URL, ready for an <img> tag.")
    async def data_url(self, info: Info[Context, None]) -> str:
        data = await info.context.loaders.photo_data_by_patron_id.load(self.patron_id)
        encoded = base64.b64encode(data if isinstance(data, bytes) else data[0]).decode()
        return f"data:{self.content_type};base64,{encoded}"
