"""GraphQL types of the network structure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from app.attributes.types import is_authorized
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import Node
from app.graphql.ids import encode_id
from app.graphql.registry import provided
from app.linking import policies
from app.linking.models import LookupIdentifierType, SearchableIdentifierType
from app.network import models
from app.sql import saved_id

if TYPE_CHECKING:
    from app.graphql.attributes.types import AttributeType
    from app.graphql.emails.types import InstitutionAlert
    from app.graphql.linking.types import LinkedAccountRule, RestrictedUserGroup, SharedFieldPolicy
    from app.graphql.network.types.choices import PatronValueChoice


LazyRule = Annotated["LinkedAccountRule", strawberry.lazy("app.graphql.linking.types")]
LazyRestricted = Annotated["RestrictedUserGroup", strawberry.lazy("app.graphql.linking.types")]
LazySharedFieldPolicy = Annotated["SharedFieldPolicy", strawberry.lazy("app.graphql.linking.types")]
LazyAttributeType = Annotated["AttributeType", strawberry.lazy("app.graphql.attributes.types")]
LazyInstitutionAlert = Annotated["InstitutionAlert", strawberry.lazy("app.graphql.emails.types")]
LazyValueChoice = Annotated[
    "PatronValueChoice", strawberry.lazy("app.graphql.network.types.choices")
]


async def _visible_attribute_types(info: Info[Context, None], institution_id: int) -> list[Any]:
    attribute_type = provided("AttributeType")
    types = await info.context.loaders.attribute_types_by_institution_id.load(institution_id)
    return [attribute_type(info=t) for t in types if is_authorized(info.context.actor, t)]


async def _listed_types(
    info: Info[Context, None],
    institution: models.Institution,
    model: type[SearchableIdentifierType] | type[LookupIdentifierType],
) -> list[IdentifierType]:
    async with info.context.db.use() as session:
        rows = await policies.listed_types(session, saved_id(institution), model)
    return [IdentifierType(row=r) for r in rows]


@strawberry.type(description="Settings an institution's system administrators control.")
class InstitutionSettings:
    network_search_by_name: bool = strawberry.field(
        description="Other members may search this institution's patrons by name."
    )
    network_search_by_username: bool = strawberry.field(
        default=False,
        description="Other members may find a patron by its username (an SSO subject), "
        "with the identifier of networkPatronSearch.",
    )
    network_search_by_email: bool = strawberry.field(
        default=False,
        description="Other members may find a patron by its primary email, where the "
        "institution shares PRIMARY_EMAIL.",
    )
    email_service_enabled: bool = strawberry.field(
        description="Notices by email are sent for this institution."
    )


@strawberry.type(description="A library (service point); its code is unique in the network.")
class Library(Node):
    row: strawberry.Private[models.Library]

    @classmethod
    def of(cls, row: models.Library) -> Library:
        return cls(id=strawberry.ID(encode_id("Library", row.id)), row=row)  # type: ignore[arg-type]

    @typed.field(description="Network-unique code, e.g. LANSING.")
    def code(self) -> str:
        return self.row.code

    @typed.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @typed.field(description="The institution the library belongs to.")
    async def institution(self, info: Info[Context, None]) -> Institution:
        row = await info.context.loaders.institution_by_id.load(self.row.institution_id)
        return Institution.of(row)


@strawberry.type(description="A patron category of an institution.")
class UserGroup(Node):
    row: strawberry.Private[models.UserGroup]

    @classmethod
    def of(cls, row: models.UserGroup) -> UserGroup:
        return cls(id=strawberry.ID(encode_id("UserGroup", row.id)), row=row)  # type: ignore[arg-type]

    @typed.field(description="Code, unique in the institution, e.g. ADULT.")
    def code(self) -> str:
        return self.row.code

    @typed.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @typed.field(description="Default loan period of the group, in days.")
    def loan_period_days(self) -> int:
        return self.row.loan_period_days


@strawberry.type(description="An institution-defined group of patrons (e.g. Teachers).")
class LibraryGroup(Node):
    row: strawberry.Private[models.LibraryGroup]

    @classmethod
    def of(cls, row: models.LibraryGroup) -> LibraryGroup:
        return cls(id=strawberry.ID(encode_id("LibraryGroup", row.id)), row=row)  # type: ignore[arg-type]

    @typed.field(description="Name, unique in the institution.")
    def name(self) -> str:
        return self.row.name

    @typed.field(description="What the group is for.")
    def description(self) -> str | None:
        return self.row.description


@strawberry.type(description="A network-wide kind of patron identifier.")
class IdentifierType:
    row: strawberry.Private[models.IdentifierType]

    @typed.field(description="Code, e.g. BARCODE, UNIV_ID.")
    def code(self) -> str:
        return self.row.code

    @typed.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @typed.field(description="Values are unique across the whole network (a consortial ID).")
    def network_unique(self) -> bool:
        return self.row.network_unique


@strawberry.type(description="A kind of block an institution puts on patrons.")
class BlockType:
    row: strawberry.Private[models.BlockType]

    @typed.field(description="Code, unique in the institution.")
    def code(self) -> str:
        return self.row.code

    @typed.field(description="What the block means.")
    def description(self) -> str:
        return self.row.description

    @typed.field(description="Copied to linked accounts by rules with copyNetworkBlocks.")
    def network(self) -> bool:
        return self.row.network

    @typed.field(description="Patrons with this block cannot borrow.")
    def blocks_loans(self) -> bool:
        return self.row.blocks_loans


@strawberry.type(description="A member of the network: a library system, a university, a school.")
class Institution(Node):
    row: strawberry.Private[models.Institution]

    @classmethod
    def of(cls, row: models.Institution) -> Institution:
        return cls(id=strawberry.ID(encode_id("Institution", row.id)), row=row)  # type: ignore[arg-type]

    @typed.field(description="Network-unique code, e.g. NEKLS.")
    def code(self) -> str:
        return self.row.code

    @typed.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @typed.field(description="The institution's libraries, by code.")
    async def libraries(self, info: Info[Context, None]) -> list[Library]:
        rows = await info.context.loaders.libraries_by_institution_id.load(saved_id(self.row))
        return [Library.of(r) for r in rows]

    @typed.field(description="The institution's user groups, by code.")
    async def user_groups(self, info: Info[Context, None]) -> list[UserGroup]:
        rows = await info.context.loaders.user_groups_by_institution_id.load(saved_id(self.row))
        return [UserGroup.of(r) for r in rows]

    @typed.field(description="The institution's library groups, by name.")
    async def library_groups(self, info: Info[Context, None]) -> list[LibraryGroup]:
        rows = await info.context.loaders.library_groups_by_institution_id.load(saved_id(self.row))
        return [LibraryGroup.of(r) for r in rows]

    @typed.field(description="The institution's block types, by code.")
    async def block_types(self, info: Info[Context, None]) -> list[BlockType]:
        rows = await info.context.loaders.block_types_by_institution_id.load(saved_id(self.row))
        return [BlockType(row=r) for r in rows]

    @typed.field(
        description="The cohorts patrons of the institution may have, in natural order; "
        "empty: any text."
    )
    async def cohorts(self, info: Info[Context, None]) -> list[LazyValueChoice]:
        return await provided("Institution.cohorts")(info, self.row)  # type: ignore[no-any-return]

    @typed.field(
        description="The form classes patrons of the institution may have, in natural "
        "order; empty: any text."
    )
    async def form_classes(self, info: Info[Context, None]) -> list[LazyValueChoice]:
        return await provided("Institution.formClasses")(info, self.row)  # type: ignore[no-any-return]

    @typed.field(description="Attribute types of the institution that your session may see.")
    async def attribute_types(self, info: Info[Context, None]) -> list[LazyAttributeType]:
        return await _visible_attribute_types(info, self.row.id)  # type: ignore[arg-type]

    @typed.field(
        description="Linked account rules, in evaluation order; the default rule is always last "
        "(shown to the institution's own staff)."
    )
    async def linked_account_rules(self, info: Info[Context, None]) -> list[LazyRule]:
        return await provided("Institution.linkedAccountRules")(info, self.row)  # type: ignore[no-any-return]

    @typed.field(description="User groups whose patrons other members can neither find nor link.")
    async def restricted_user_groups(self, info: Info[Context, None]) -> list[LazyRestricted]:
        return await provided("Institution.restrictedUserGroups")(info, self.row)  # type: ignore[no-any-return]

    @typed.field(description="What the institution shares with linked copies and network search.")
    async def shared_fields(self, info: Info[Context, None]) -> list[LazySharedFieldPolicy]:
        return await provided("Institution.sharedFields")(info, self.row)  # type: ignore[no-any-return]

    @typed.field(description="Empty means every identifier type is searchable across the network.")
    async def searchable_identifier_types(self, info: Info[Context, None]) -> list[IdentifierType]:
        return await _listed_types(info, self.row, SearchableIdentifierType)

    @typed.field(
        description="The identifier types the institution looks up other members' patrons "
        "by, in network search and linking (empty: every type the sources allow)."
    )
    async def lookup_identifier_types(self, info: Info[Context, None]) -> list[IdentifierType]:
        return await _listed_types(info, self.row, LookupIdentifierType)

    @typed.field(
        description="What the institution's system administrators must act on "
        "(empty for everyone else)."
    )
    async def alerts(self, info: Info[Context, None]) -> list[LazyInstitutionAlert]:
        from app.graphql.emails.types import institution_alerts

        return await institution_alerts(info, self.row)

    @typed.field(description="Settings of the institution.")
    def settings(self) -> InstitutionSettings:
        return InstitutionSettings(
            network_search_by_name=self.row.network_search_by_name,
            network_search_by_username=self.row.network_search_by_username,
            network_search_by_email=self.row.network_search_by_email,
            email_service_enabled=self.row.email_service_enabled,
        )


@strawberry.type(description="The network (consortium) this service runs.")
class Network:
    name: str = strawberry.field(description="Name of the network.")
    institution_rows: strawberry.Private[list[Any]]
    identifier_type_rows: strawberry.Private[list[Any]]

    @typed.field(description="Member institutions, by code.")
    def institutions(self) -> list[Institution]:
        return [Institution.of(r) for r in self.institution_rows]

    @typed.field(description="Identifier types of the network, by code.")
    def identifier_types(self) -> list[IdentifierType]:
        return [IdentifierType(row=r) for r in self.identifier_type_rows]

    @typed.field(
        description="Attribute types of your institution that your session may see, by code."
    )
    async def attribute_types(self, info: Info[Context, None]) -> list[LazyAttributeType]:
        actor = info.context.actor
        if actor.institution_id is None:
            return []
        return await _visible_attribute_types(info, actor.institution_id)
