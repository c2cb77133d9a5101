"""The Patron type and a page of patrons."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from app.attributes import service as attribute_access
from app.audit import trail as audit
from app.graphql import typed
from app.graphql.attributes.types import AttributeType, PatronAttribute
from app.graphql.context import Context
from app.graphql.core import AccountType, Node, PageInfo, SystemGroup, later, page_size
from app.graphql.dataloaders import MISSING
from app.graphql.ids import cursors, encode_id
from app.graphql.network.types import (
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    UserGroup,
)
from app.graphql.patrons.types.audit import AuditEntry, AuditEntryConnection, AuditEntryEdge
from app.graphql.patrons.types.details import ContactEmail, Identifier, PatronBlock, PatronPhoto
from app.graphql.registry import provide, provided
from app.network.service import ADMIN_SYSTEM_ID, BARCODE
from app.patrons import models
from app.sql import saved_id

if TYPE_CHECKING:
    from app.graphql.circulation.types import Borrowing, LoanConnection
    from app.graphql.linking.types import LinkedAccountSummary, LinkSource, NetworkPatron
    from app.graphql.patrons.types.alerts import PatronAlert


LazyLoanConnection = Annotated["LoanConnection", strawberry.lazy("app.graphql.circulation.types")]
LazyBorrowing = Annotated["Borrowing", strawberry.lazy("app.graphql.circulation.types")]
LazyNetworkPatron = Annotated["NetworkPatron", strawberry.lazy("app.graphql.linking.types")]
LazyLinkSource = Annotated["LinkSource", strawberry.lazy("app.graphql.linking.types")]
LazyPatronAlert = Annotated["PatronAlert", strawberry.lazy("app.graphql.patrons.types.alerts")]
LazyLinkedAccountSummary = Annotated[
    "LinkedAccountSummary", strawberry.lazy("app.graphql.linking.types")
]


def _value_of(rows: list[Any], code: str) -> str | None:
    """The value of the identifier of this type among a patron's identifier rows."""
    for value, identifier_type, _ in rows:
        if identifier_type.code == code:
            return value  # type: ignore[no-any-return]
    return None


@strawberry.type(description="A patron (or staff member: staff are patrons with roles).")
class Patron(Node):
    row: strawberry.Private[models.Patron]
    # The barcode, when the page that found the patron brought it along (else MISSING).
    known_barcode: strawberry.Private[Any] = MISSING

    @classmethod
    def of(cls, row: models.Patron, *, barcode: Any = MISSING) -> Patron:
        return cls(
            id=strawberry.ID(encode_id("Patron", row.id)),  # type: ignore[arg-type]
            row=row,
            known_barcode=barcode,
        )

    @typed.field(description="The institution the account belongs to.")
    def institution(self, info: Info[Context, None]) -> Institution:
        row = info.context.loaders.reference_now(self.row, "institution")
        if row is MISSING:
            return later(self._institution(info))
        return Institution.of(row)

    async def _institution(self, info: Info[Context, None]) -> Institution:
        return Institution.of(await info.context.loaders.patron_reference(self.row, "institution"))

    @typed.field(description="The patron's home library.")
    def home_library(self, info: Info[Context, None]) -> Library:
        row = info.context.loaders.reference_now(self.row, "home_library")
        if row is MISSING:
            return later(self._home_library(info))
        return Library.of(row)

    async def _home_library(self, info: Info[Context, None]) -> Library:
        return Library.of(await info.context.loaders.patron_reference(self.row, "home_library"))

    @typed.field(description="The patron's user group.")
    def user_group(self, info: Info[Context, None]) -> UserGroup | None:
        row = info.context.loaders.reference_now(self.row, "user_group")
        if row is MISSING:
            return later(self._user_group(info))
        return UserGroup.of(row) if row is not None else None

    async def _user_group(self, info: Info[Context, None]) -> UserGroup | None:
        row = await info.context.loaders.patron_reference(self.row, "user_group")
        return UserGroup.of(row) if row is not None else None

    @typed.field(description="HOME or LINKED.")
    def account_type(self) -> AccountType:
        return AccountType(self.row.account_type)

    @typed.field(description="Login name, unique in the institution (case-insensitive).")
    def username(self) -> str | None:
        return self.row.username

    def _identifier(self, info: Info[Context, None], code: str) -> str | None:
        rows = info.context.loaders.peek("identifiers_by_patron_id", saved_id(self.row))
        if rows is MISSING:
            return later(self._identifier_later(info, code))
        return _value_of(rows, code)

    async def _identifier_later(self, info: Info[Context, None], code: str) -> str | None:
        rows = await info.context.loaders.identifiers_by_patron_id.load(saved_id(self.row))
        return _value_of(rows, code)

    @typed.field(description="Library barcode (identifier of type BARCODE).")
    def barcode(self, info: Info[Context, None]) -> str | None:
        if self.known_barcode is not MISSING:
            return self.known_barcode  # type: ignore[no-any-return]
        return self._identifier(info, BARCODE)

    @typed.field(
        description="Id in the administration system (identifier of type ADMIN_SYSTEM_ID)."
    )
    def admin_system_id(self, info: Info[Context, None]) -> str | None:
        return self._identifier(info, ADMIN_SYSTEM_ID)

    @typed.field(
        description="Every identifier of the patron, barcode and admin system id included."
    )
    def identifiers(self, info: Info[Context, None]) -> list[Identifier]:
        rows = info.context.loaders.peek("identifiers_by_patron_id", saved_id(self.row))
        if rows is MISSING:
            return later(self._identifiers_later(info))
        return [Identifier(type=IdentifierType(row=t), value=value) for value, t, _ in rows]

    async def _identifiers_later(self, info: Info[Context, None]) -> list[Identifier]:
        rows = await info.context.loaders.identifiers_by_patron_id.load(saved_id(self.row))
        return [Identifier(type=IdentifierType(row=t), value=value) for value, t, _ in rows]

    @typed.field(description="Given (first) name.")
    def given_name(self) -> str | None:
        return self.row.given_name

    @typed.field(description="Middle name(s).")
    def middle_name(self) -> str | None:
        return self.row.middle_name

    @typed.field(description="The name the patron goes by, if not the given name.")
    def preferred_name(self) -> str | None:
        return self.row.preferred_name

    @typed.field(
        description="Mandatory on HOME accounts; "
        "blank on a LINKED copy whose source does not share it."
    )
    def surname(self) -> str | None:
        return self.row.surname

    @typed.field(description="The patron's own email address.")
    def primary_email(self) -> str | None:
        return self.row.primary_email

    @typed.field(description="Extra addresses for notices (parents, guardians).")
    async def contact_emails(self, info: Info[Context, None]) -> list[ContactEmail]:
        rows = await info.context.loaders.contact_emails_by_patron_id.load(saved_id(self.row))
        return [ContactEmail(address=r.address, label=r.label) for r in rows]

    @typed.field(description="Phone number, as written.")
    def phone(self) -> str | None:
        return self.row.phone

    @typed.field(description="May log in.")
    def enabled(self) -> bool:
        return self.row.enabled

    @typed.field(description="A teaching or library staff member.")
    def is_staff(self) -> bool:
        return self.row.is_staff

    @typed.field(description="An anonymous account (search station, public widget).")
    def is_generic(self) -> bool:
        return self.row.is_generic

    @typed.field(description="The institution's one public search account.")
    def is_public_search(self) -> bool:
        return self.row.public_search_for is not None

    @typed.field(description="Access ends on this date; loans are never due after it.")
    def until(self) -> date | None:
        return self.row.until

    @typed.field(
        description="Last day the account is valid; after it, it cannot borrow. Null: "
        "never expires."
    )
    def expiry_date(self) -> date | None:
        return self.row.expiry_date

    @typed.field(
        description="Set on LINKED accounts: after this date (and its expiry) the purge "
        "job deletes the copy, unless items are on loan. Null: never purged."
    )
    def purge_date(self) -> date | None:
        return self.row.purge_date

    @typed.field(description="E.g. the graduation year.")
    def cohort(self) -> str | None:
        return self.row.cohort

    @typed.field(description="The student's form class; staff members have none.")
    def form_class(self) -> str | None:
        return self.row.form_class

    @typed.field(description="Library groups the patron belongs to.")
    async def library_groups(self, info: Info[Context, None]) -> list[LibraryGroup]:
        rows = await info.context.loaders.library_groups_by_patron_id.load(saved_id(self.row))
        return [LibraryGroup.of(r) for r, _ in rows]

    @typed.field(description="Roles; LIBRARY_USERS is always present.")
    async def system_groups(self, info: Info[Context, None]) -> list[SystemGroup]:  # type: ignore[valid-type]
        rows = await info.context.loaders.system_groups_by_patron_id.load(saved_id(self.row))
        return [SystemGroup(value) for value, _ in rows]

    @typed.field(
        description="Libraries a staff account may log in at (none: its home library), "
        "or a generic account may search."
    )
    async def libraries(self, info: Info[Context, None]) -> list[Library]:
        rows = await info.context.loaders.libraries_by_patron_id.load(saved_id(self.row))
        return [Library.of(r) for r, _ in rows]

    @typed.field(
        description="Attributes the viewer may see; branch-limited ones are absent elsewhere."
    )
    async def attributes(self, info: Info[Context, None]) -> list[PatronAttribute]:
        loaders = info.context.loaders
        types = await loaders.attribute_types_by_institution_id.load(self.row.institution_id)
        values = await loaders.attribute_values_by_patron_id.load(saved_id(self.row))
        by_type: dict[int, list[str]] = {}
        for type_id, value, _ in values:
            by_type.setdefault(type_id, []).append(value)
        return [
            PatronAttribute(type=AttributeType(info=t), values=by_type[t.id])
            for t in types
            if t.id in by_type and attribute_access.is_authorized(info.context.actor, t)
        ]

    @typed.field(description="What staff must know about the patron, e.g. at checkout.")
    async def alerts(self, info: Info[Context, None]) -> list[LazyPatronAlert]:
        from app.graphql.patrons.types.alerts import patron_alerts

        return await patron_alerts(info, self.row)

    @typed.field(description="Set on LINKED accounts: where the account was copied from.")
    async def linked_from(self, info: Info[Context, None]) -> LazyLinkSource | None:
        from app.graphql.linking.types.links import link_source

        return await link_source(info, self.row)

    @typed.field(
        description="The same person's accounts in other institutions (sharing a consortial id), "
        "as network search shows them; for staff who may search the network."
    )
    async def consortial_accounts(self, info: Info[Context, None]) -> list[LazyNetworkPatron]:
        matches = await info.context.loaders.consortial_accounts_by_patron.load(self.row)
        network_patron = provided("NetworkPatron")
        return [network_patron(match=m) for m in matches]

    @typed.field(description="Copies of this HOME account in other institutions.")
    async def linked_accounts(self, info: Info[Context, None]) -> list[LazyLinkedAccountSummary]:
        from app.graphql.linking.types.links import linked_accounts

        return await linked_accounts(info, self.row)

    @typed.field(description="The patron's loans, newest first.")
    async def loans(
        self,
        info: Info[Context, None],
        first: Annotated[
            int | None, strawberry.argument(description="Page size: default 20, at most 100.")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
        active: Annotated[
            bool | None,
            strawberry.argument(
                description="true: loans not yet checked in; false: returned loans only; omitted: "
                ""
                "all."
            ),
        ] = None,
    ) -> LazyLoanConnection:
        from app.graphql.circulation.types import patron_loans

        return await patron_loans(info, self.row, first=first, after=after, active=active)

    @typed.field(
        description="May the patron borrow now, and if not why: the rules checkOut applies "
        "(enabled, expiry, until, generic, library group or form class, link status, blocks)."
    )
    async def borrowing(self, info: Info[Context, None]) -> LazyBorrowing:
        from app.graphql.circulation.types import patron_borrowing

        return await patron_borrowing(info, self.row)

    @typed.field(description="Blocks on the account, oldest first.")
    def blocks(self, info: Info[Context, None]) -> list[PatronBlock]:
        rows = info.context.loaders.peek("blocks_by_patron_id", saved_id(self.row))
        if rows is MISSING:
            return later(self._blocks_later(info))
        return [PatronBlock.of(block, block_type) for block, block_type in rows]

    async def _blocks_later(self, info: Info[Context, None]) -> list[PatronBlock]:
        rows = await info.context.loaders.blocks_by_patron_id.load(saved_id(self.row))
        return [PatronBlock.of(block, block_type) for block, block_type in rows]

    @typed.field(description="The patron's photo, if one was uploaded.")
    async def photo(self, info: Info[Context, None]) -> PatronPhoto | None:
        row = await info.context.loaders.photo_by_patron_id.load(saved_id(self.row))
        if row is None:
            return None
        patron_id, content_type, width, height, byte_size, updated_at = row
        return PatronPhoto(
            patron_id=patron_id,
            content_type=content_type,
            width=width,
            height=height,
            byte_size=byte_size,
            updated_at=updated_at,
        )

    @typed.field(
        description="The audit trail of this patron, newest first (staff of the institution only)."
    )
    async def audit_log(
        self,
        info: Info[Context, None],
        first: Annotated[
            int | None, strawberry.argument(description="Page size: default 20, at most 100.")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> AuditEntryConnection:
        settings = info.context.settings
        size = page_size(first, 20, settings.max_page_size)
        sealed = await cursors(info, "auditLog", self.row.id)
        found = sealed.position(after, int)
        after_id = int(found[0]) if found else None
        async with info.context.db.use() as session:
            page, has_next = await audit.patron_entries(
                session=session,
                actor=info.context.actor,
                institution_id=self.row.institution_id,
                patron_id=saved_id(self.row),
                first=size,
                after_id=after_id,
            )
        edges = [AuditEntryEdge(cursor=sealed.encode(r.id), node=AuditEntry(row=r)) for r in page]
        return AuditEntryConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=after_id is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @typed.field(description="Optimistic-concurrency token; pass it back as expectedVersion.")
    def version(self) -> int:
        return self.row.version

    @typed.field(description="When the account was created.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @typed.field(description="When the account last changed.")
    def updated_at(self) -> datetime:
        return self.row.updated_at


@strawberry.type(description="A patron in a page of results.")
class PatronEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this patron, for `after`.")
    node: Patron = strawberry.field(description="The patron.")


@strawberry.type(description="A page of patrons.")
class PatronConnection:
    edges: list[PatronEdge] = strawberry.field(description="The patrons of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
    count: strawberry.Private[Any]

    @typed.field(description="How many patrons match in all (counted only when asked for).")
    async def total_count(self) -> int:
        return int(await self.count())


provide("Patron", Patron)
