"""GraphQL types of vendor verification: SIP accounts and `authenticatePatron`."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, Node, UserError, described_enum
from app.graphql.ids import encode_id
from app.graphql.network.types import Institution, Library, UserGroup
from app.sip2 import models
from app.sip2.service import attribute_fields
from app.sip2.verification import Verification
from app.sql import saved_id


class SipEncoding(Enum):
    UTF_8 = "UTF-8"
    CP850 = "CP850"


described_enum(
    SipEncoding,
    name="SipEncoding",
    description="Character encoding of a SIP account's messages.",
    values={
        SipEncoding.UTF_8: "UTF-8.",
        SipEncoding.CP850: "Code page 850 (DOS Latin-1), for older SIP2 clients.",
    },
)


class SipAoMode(Enum):
    INSTITUTION = "INSTITUTION"
    HOME_LIBRARY = "HOME_LIBRARY"


described_enum(
    SipAoMode,
    name="SipAoMode",
    description="What the AO (institution id) field of patron responses carries.",
    values={
        SipAoMode.INSTITUTION: "The code of the account's institution.",
        SipAoMode.HOME_LIBRARY: "The code of the patron's home library.",
    },
)


class SipSendAs(Enum):
    CODE = "CODE"
    LABEL = "LABEL"


described_enum(
    SipSendAs,
    name="SipSendAs",
    description="Whether attribute values are sent as codes or as labels.",
    values={
        SipSendAs.CODE: "The value's code, e.g. ALLOWED.",
        SipSendAs.LABEL: "The value's label, e.g. Allowed.",
    },
)


@strawberry.type(description="An attribute type whose values a SIP account is sent.")
class SipAttributeField:
    attribute_type: str = strawberry.field(description="Attribute type code, e.g. KANOPY_LANSING.")
    field_code: str = strawberry.field(description="SIP2 field code that carries it, e.g. XK.")
    send: SipSendAs = strawberry.field(description="Values as codes or labels.")


def _sip_account_id(root: SipAccount) -> strawberry.ID:
    return strawberry.ID(encode_id("SipAccount", saved_id(root.row)))


@strawberry.type(
    description="A SIP2 login of an institution (a vendor, a self-check), with its field "
    "policy. The secret is stored hashed and never shown."
)
class SipAccount(Node):
    row: strawberry.Private[models.SipAccount]

    # Resolved, not passed in: the type is built from its row alone.
    id: strawberry.ID = strawberry.field(resolver=_sip_account_id, description="Opaque global id.")

    @typed.field(description="The login id (SIP2 field CN).")
    def login_id(self) -> str:
        return self.row.login_id

    @typed.field(description="The institution whose patrons the account verifies.")
    async def institution(self, info: Info[Context, None]) -> Institution:
        row = await info.context.loaders.institution_by_id.load(self.row.institution_id)
        return Institution.of(row)

    @typed.field(
        description="The library the account acts for (null: the whole institution). "
        "Attribute types limited to some libraries are sent only when it is one of them."
    )
    async def library(self, info: Info[Context, None]) -> Library | None:
        if self.row.library_id is None:
            return None
        return Library.of(await info.context.loaders.library_by_id.load(self.row.library_id))

    @typed.field(description="Character encoding of the account's messages.")
    def encoding(self) -> SipEncoding:
        return SipEncoding(self.row.encoding)

    @typed.field(description="What AO carries in patron responses.")
    def ao_mode(self) -> SipAoMode:
        return SipAoMode(self.row.ao_mode)

    @typed.field(description="The patron's home library code is sent as a screen message.")
    def home_library_screen_message(self) -> bool:
        return self.row.home_library_screen_message

    @typed.field(description="Attribute types sent, and in which fields.")
    def attribute_fields(self) -> list[SipAttributeField]:
        return [
            SipAttributeField(
                attribute_type=f.attribute_type,
                field_code=f.field_code,
                send=SipSendAs(f.send.value),
            )
            for f in attribute_fields(self.row)
        ]

    @typed.field(description="A verification without a PIN counts as a valid password.")
    def allow_empty_pin(self) -> bool:
        return self.row.allow_empty_pin

    @typed.field(description="Disabled accounts cannot log in.")
    def enabled(self) -> bool:
        return self.row.enabled

    @typed.field(description="When the account was created.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @typed.field(description="When the account last changed.")
    def updated_at(self) -> datetime:
        return self.row.updated_at


@strawberry.type(description="The SIP account, or what went wrong.")
class SipAccountPayload:
    account: SipAccount | None = strawberry.field(
        default=None, description="The account as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="A block on the verified patron.")
class VerifiedBlock:
    code: str = strawberry.field(description="Block type code, e.g. FINES, LOST.")
    description: str = strawberry.field(description="What the block means.")
    blocks_loans: bool = strawberry.field(description="The block stops loans.")


@strawberry.type(description="What the patron's blocks and account state allow.")
class PatronBlocksSummary:
    privileges_denied: bool = strawberry.field(
        description="Borrowing, renewals, recalls and holds are denied: the account is not "
        "valid or a block stops loans (SIP2's charge privileges denied)."
    )
    card_reported_lost: bool = strawberry.field(description="A LOST block is in force.")
    blocks: list[VerifiedBlock] = strawberry.field(description="Blocks in force.")


@strawberry.type(description="An entitlement attribute the client's scopes name.")
class VerifiedAttribute:
    attribute_type: str = strawberry.field(description="Attribute type code.")
    label: str = strawberry.field(description="Attribute type label.")
    values: list[str] = strawberry.field(description="Value codes, e.g. ALLOWED.")
    value_labels: list[str] = strawberry.field(description="Value labels, in the same order.")


@strawberry.type(
    description="The answer to a patron verification. Without the right password nothing "
    "about the patron is given: validPassword false, validPatron false, no details (a "
    "barcode alone reveals nothing). Empty and wrong passwords count as failed attempts."
)
class AuthenticatePatronPayload:
    valid_patron: bool = strawberry.field(
        default=False,
        description="Enabled, personalised, not expired and within its access period "
        "(false unless the password is right).",
    )
    valid_password: bool = strawberry.field(default=False, description="The password is right.")
    barcode: str | None = strawberry.field(
        default=None, description="The patron's barcode; null unless the password is right."
    )
    display_name: str | None = strawberry.field(
        default=None, description="The preferred name (else the given name) and the surname."
    )
    home_library: Library | None = strawberry.field(
        default=None, description="The patron's home library; null unless the password is right."
    )
    user_group: UserGroup | None = strawberry.field(
        default=None,
        description="The patron's user group; null unless the password is right (or it has none).",
    )
    expiry_date: date | None = strawberry.field(
        default=None,
        description="Last day the account is valid; null when it never expires or the "
        "password is wrong.",
    )
    blocks: PatronBlocksSummary | None = strawberry.field(
        default=None, description="Blocks and what they deny; null unless the password is right."
    )
    attributes: list[VerifiedAttribute] = strawberry.field(
        default_factory=list,
        description="Values of the attribute types named by the client's attribute:<CODE> scopes.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="ACCOUNT_LOCKED or TOO_MANY_ATTEMPTS when throttled, and other "
        "expected failures; a wrong password alone is not an error "
        "(validPassword is false).",
    )

    @classmethod
    def of(cls, result: Verification, errors: list[UserError]) -> AuthenticatePatronPayload:
        if not result.valid_password:
            return cls(errors=errors)
        return cls(
            valid_patron=result.valid_patron,
            valid_password=True,
            barcode=result.barcode,
            display_name=result.display_name,
            home_library=Library.of(result.home_library) if result.home_library else None,
            user_group=UserGroup.of(result.user_group) if result.user_group else None,
            expiry_date=result.expiry_date,
            blocks=PatronBlocksSummary(
                privileges_denied=result.privileges_denied,
                card_reported_lost=result.card_reported_lost,
                blocks=[
                    VerifiedBlock(
                        code=b.code, description=b.description, blocks_loans=b.blocks_loans
                    )
                    for b in result.blocks
                ],
            ),
            attributes=[
                VerifiedAttribute(
                    attribute_type=a.code,
                    label=a.label,
                    values=list(a.values),
                    value_labels=list(a.value_labels),
                )
                for a in result.attributes
            ],
            errors=errors,
        )


@strawberry.type(description="The deleted account, or why not.")
class DeleteSipAccountPayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id the deleted account had."
    )
    deleted_login_id: str | None = strawberry.field(
        default=None, description="Its login id, free for a new account."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )
