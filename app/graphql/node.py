"""Relay node lookup: the same visibility as every other path."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from app.auth.policy import require_authenticated
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import Node
from app.graphql.ids import decode_id
from app.graphql.network.types import Institution, Library, LibraryGroup, UserGroup
from app.graphql.patrons.types import Patron, PatronBlock
from app.patrons import queries as patron_queries


async def resolve_node(info: Info[Context, None], global_id: str) -> Node | None:
    decoded = decode_id(global_id)
    if decoded is None:
        return None
    type_name, pk = decoded
    loaders = info.context.loaders
    row: Any
    if type_name == "Patron":
        row = await loaders.visible_patron(pk)
        return Patron.of(row) if row is not None else None
    if type_name == "PatronBlock":
        return await _block(info, pk)
    if type_name == "Institution":
        row = await loaders.institution_by_id.load(pk)
        return Institution.of(row) if row is not None else None
    if type_name == "Library":
        row = await loaders.library_by_id.load(pk)
        return Library.of(row) if row is not None else None
    if type_name == "UserGroup":
        row = await loaders.user_group_by_id.load(pk)
        return UserGroup.of(row) if row is not None else None
    if type_name == "LibraryGroup":
        row = await loaders.library_group_by_id.load(pk)
        return LibraryGroup.of(row) if row is not None else None
    if type_name == "LinkedAccountRule":
        return await _rule(info, pk)
    if type_name == "Loan":
        return await _loan(info, pk)
    if type_name == "ImportJob":
        return await _import_job(info, pk)
    if type_name == "AttributeType":
        return await _attribute_type(info, pk)
    if type_name == "SipAccount":
        return await _sip_account(info, pk)
    return None


async def _attribute_type(info: Info[Context, None], type_id: int) -> Node | None:
    """A type is shown to the sessions that may see it, as in attributeTypes."""
    from app.attributes.models import AttributeType as TypeRow
    from app.attributes.types import is_authorized
    from app.graphql.attributes.types import AttributeType

    async with info.context.db.use() as session:
        row = await session.get(TypeRow, type_id)
    if row is None:
        return None
    types = await info.context.loaders.attribute_types_by_institution_id.load(row.institution_id)
    found = next((t for t in types if t.id == type_id), None)
    if found is None or not is_authorized(info.context.actor, found):
        return None
    return AttributeType(info=found)


async def _sip_account(info: Info[Context, None], account_id: int) -> Node | None:
    """SIP accounts are shown to the system administrators of their institution."""
    from app.auth.policy import can_administer_institution
    from app.graphql.sip2.types import SipAccount
    from app.sip2.models import SipAccount as AccountRow

    async with info.context.db.use() as session:
        row = await session.get(AccountRow, account_id)
    if row is None or not can_administer_institution(info.context.actor, row.institution_id):
        return None
    return SipAccount(row=row)


async def _import_job(info: Info[Context, None], job_id: int) -> Node | None:
    """Jobs are shown to librarians of their institution."""
    from app.graphql.imports.types import ImportJob
    from app.imports.queries import visible_job

    async with info.context.db.use() as session:
        row = await visible_job(session, info.context.actor, job_id)
    return ImportJob.of(row) if row is not None else None


async def _loan(info: Info[Context, None], loan_id: int) -> Node | None:
    """A loan is visible with its patron (anonymised history is not)."""
    from app.circulation.models import Loan as LoanRow
    from app.graphql.circulation.types import Loan

    async with info.context.db.use() as session:
        row = await session.get(LoanRow, loan_id)
    if row is None or row.patron_id is None:
        return None
    if await info.context.loaders.visible_patron(row.patron_id) is None:
        return None
    return Loan.of(row)


async def _rule(info: Info[Context, None], rule_id: int) -> Node | None:
    """Rules are shown to the system administrators of their institution."""
    from app.auth.policy import can_administer_institution
    from app.graphql.linking.types import LinkedAccountRule
    from app.linking.models import LinkedAccountRule as RuleRow

    async with info.context.db.use() as session:
        row = await session.get(RuleRow, rule_id)
    if row is None or not can_administer_institution(info.context.actor, row.institution_id):
        return None
    return LinkedAccountRule.of(row)


async def _block(info: Info[Context, None], block_id: int) -> PatronBlock | None:
    async with info.context.db.use() as session:
        row = await patron_queries.block_with_type(session, block_id)
    if row is None:
        return None
    block, block_type = row
    if await info.context.loaders.visible_patron(block.patron_id) is None:
        return None
    return PatronBlock.of(block, block_type)


@strawberry.type
class NodeQueries:
    @typed.field(description="Any object by its global id; null if it does not exist for you.")
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="A global id, as returned in any `id` field."),
        ],
    ) -> Node | None:
        require_authenticated(info.context.actor)
        return await resolve_node(info, id)

    @typed.field(description="Up to 100 objects by global id, in order; null where not visible.")
    async def nodes(
        self,
        info: Info[Context, None],
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Up to 100 global ids.")
        ],
    ) -> list[Node | None]:
        require_authenticated(info.context.actor)
        limit = info.context.settings.max_node_ids
        if len(ids) > limit:
            raise GraphQLError(
                f"Ask for at most {limit} ids at once ({len(ids)} given).",
                extensions={"code": "INVALID_INPUT"},
            )
        return list(await asyncio.gather(*(resolve_node(info, i) for i in ids)))
