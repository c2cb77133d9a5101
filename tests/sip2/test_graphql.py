"""The modern path (`authenticatePatron`) gives SIP2's answers; SIP accounts over GraphQL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.sip2 import PIN, Patrons, SipClient, audit_entries

AUTHENTICATE = """mutation($barcode: String!, $password: String!) {
  authenticatePatron(input: {barcode: $barcode, password: $password}) {
    validPatron validPassword barcode displayName
    homeLibrary { code } userGroup { code } expiryDate
    blocks { privilegesDenied cardReportedLost blocks { code blocksLoans } }
    attributes { attributeType label values valueLabels }
    errors { code message field }
  }
}"""

ACCOUNT_FIELDS = """
  loginId institution { code } library { code } encoding aoMode homeLibraryScreenMessage
  attributeFields { attributeType fieldCode send } allowEmptyPin enabled
"""
CREATE_ACCOUNT = (
    "mutation($input: CreateSipAccountInput!) { createSipAccount(input: $input) {"
    f" account {{ {ACCOUNT_FIELDS} }} errors {{ code message field }} }} }}"
)
UPDATE_ACCOUNT = (
    "mutation($input: UpdateSipAccountInput!) { updateSipAccount(input: $input) {"
    f" account {{ {ACCOUNT_FIELDS} }} errors {{ code message field }} }} }}"
)
LIST_ACCOUNTS = f"query($institution: String!) {{ sipAccounts(institution: $institution) {{ {ACCOUNT_FIELDS} }} }}"

KANOPY_ALLOWED = {
    "attributeType": "KANOPY_LANSING",
    "label": "Kanopy (LANSING)",
    "values": ["ALLOWED"],
    "valueLabels": ["Allowed (Lansing Community Library)"],
}
NO_DETAILS = {
    "barcode": None,
    "displayName": None,
    "homeLibrary": None,
    "userGroup": None,
    "expiryDate": None,
    "blocks": None,
    "attributes": [],
}
KANOPY_FIELD = {"attributeType": "KANOPY_LANSING", "fieldCode": "XK", "send": "CODE"}


async def authenticate(gql: GraphQL, token: str, barcode: str, password: str) -> dict[str, Any]:
    data = await gql.ok(AUTHENTICATE, {"barcode": barcode, "password": password}, token)
    payload: dict[str, Any] = data["authenticatePatron"]
    return payload


async def test_authenticate_patron_gives_the_answers_sip2_gives(
    gql: GraphQL, patrons: Patrons, sip: SipClient
) -> None:
    # Given the Kanopy story's patrons and a vendor client with the Kanopy scope
    await patrons.create("T-LAN-1", preferredName="Kay")
    await patrons.create("T-BAS-1", home_library="BASEHOR")
    blocked = await patrons.create("T-LAN-BLOCKED")
    await patrons.block(blocked, "FINES")
    vendor = await patrons.client_token(["patron_auth", "attribute:KANOPY_LANSING"])
    await sip.login()

    # When both paths verify the LANSING patron
    modern = await authenticate(gql, vendor, "T-LAN-1", PIN)
    sip2 = await sip.patron_information("T-LAN-1")
    # Then they agree: valid, right password, the entitlement
    assert modern == {
        "validPatron": True,
        "validPassword": True,
        "barcode": "T-LAN-1",
        "displayName": "Kay Streamer",
        "homeLibrary": {"code": "LANSING"},
        "userGroup": {"code": "ADULT"},
        "expiryDate": "2099-12-31",
        "blocks": {"privilegesDenied": False, "cardReportedLost": False, "blocks": []},
        "attributes": [KANOPY_ALLOWED],
        "errors": [],
    }
    assert (sip2.get("BL"), sip2.get("CQ"), sip2.get("AE")) == (["Y"], ["Y"], ["Kay Streamer"])
    assert (sip2.get("XK"), sip2.get("PA")) == (["ALLOWED"], ["20991231"])

    # ... the BASEHOR patron: valid, without the entitlement
    modern = await authenticate(gql, vendor, "T-BAS-1", PIN)
    assert (modern["validPatron"], modern["validPassword"]) == (True, True)
    assert modern["homeLibrary"] == {"code": "BASEHOR"}
    assert modern["attributes"] == []
    assert (await sip.patron_information("T-BAS-1")).get("XK") == []

    # ... a wrong or an empty password: nothing about the patron, not even that the card
    # is valid (the same answer as for an unknown card)
    for wrong in ("not-the-pin", ""):
        modern = await authenticate(gql, vendor, "T-LAN-1", wrong)
        assert modern == {"validPatron": False, "validPassword": False, **NO_DETAILS, "errors": []}
    assert (await sip.patron_information("T-LAN-1", pin="not-the-pin")).get("CQ") == ["N"]

    # ... the blocked patron: privileges denied
    modern = await authenticate(gql, vendor, "T-LAN-BLOCKED", PIN)
    assert modern["blocks"] == {
        "privilegesDenied": True,
        "cardReportedLost": False,
        "blocks": [{"code": "FINES", "blocksLoans": True}],
    }
    assert (await sip.patron_information("T-LAN-BLOCKED")).fixed["status"][0] == "Y"

    # ... an unknown card
    modern = await authenticate(gql, vendor, "NO-SUCH-CARD", PIN)
    assert modern == {"validPatron": False, "validPassword": False, **NO_DETAILS, "errors": []}


async def test_entitlements_follow_the_client_scopes(gql: GraphQL, patrons: Patrons) -> None:
    await patrons.create("T-LAN-1")
    without = await patrons.client_token(["patron_auth"])
    reader = await patrons.client_token(["patron_auth", "patron_read"])
    for token in (without, reader):
        payload = await authenticate(gql, token, "T-LAN-1", PIN)
        assert (payload["validPassword"], payload["attributes"]) == (True, [])


async def test_only_clients_with_patron_auth_may_verify(
    gql: GraphQL, patrons: Patrons, connection: AsyncConnection
) -> None:
    await patrons.create("T-LAN-1")
    audited = len(await audit_entries(connection, "verify_patron"))
    forbidden = {
        "validPatron": False,
        "validPassword": False,
        **NO_DETAILS,
        "errors": [
            {
                "code": "FORBIDDEN",
                "message": "Only API clients with the patron_auth scope may verify patrons.",
                "field": None,
            }
        ],
    }
    reader = await patrons.client_token(["patron_read", "attribute:KANOPY_LANSING"])
    assert await authenticate(gql, reader, "T-LAN-1", PIN) == forbidden
    staff = await gql.login("nekls.admin", "LANSING")
    assert await authenticate(gql, staff, "T-LAN-1", PIN) == forbidden
    anonymous = await gql(AUTHENTICATE, {"barcode": "T-LAN-1", "password": PIN})
    assert anonymous["data"] is None
    assert anonymous["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    # Refusals verify nothing
    assert len(await audit_entries(connection, "verify_patron")) == audited


async def test_the_lockout_is_shared_with_sip2_and_audited_without_the_password(
    gql: GraphQL, patrons: Patrons, sip: SipClient, connection: AsyncConnection
) -> None:
    await patrons.create("T-LAN-1")
    vendor = await patrons.client_token(["patron_auth"])
    before = len(await audit_entries(connection, "verify_patron"))
    for _ in range(5):
        assert (await authenticate(gql, vendor, "T-LAN-1", "guess"))["validPassword"] is False
    await sip.login()
    for _ in range(5):
        assert (await sip.patron_information("T-LAN-1", pin="guess")).get("CQ") == ["N"]
    # Ten failures over both paths lock the account on both
    locked = await authenticate(gql, vendor, "T-LAN-1", PIN)
    assert locked["validPassword"] is False
    assert locked["errors"] == [
        {
            "code": "ACCOUNT_LOCKED",
            "message": "This account is locked after too many wrong PINs. Try again later.",
            "field": None,
        }
    ]
    assert (await sip.patron_information("T-LAN-1")).get("CQ") == ["N"]
    entries = (await audit_entries(connection, "verify_patron"))[before:]
    channels = [e["changes"]["verification"]["after"]["channel"] for e in entries]
    assert channels == ["GRAPHQL"] * 5 + ["SIP2"] * 5 + ["GRAPHQL", "SIP2"]
    assert entries[0]["actor"] == "client Kanopy"
    assert PIN not in json.dumps(entries)
    assert "guess" not in json.dumps(entries)


# ---------------------------------------------------------------- SIP accounts


async def test_a_system_admin_at_lansing_creates_a_kanopy_account_that_works(
    gql: GraphQL, patrons: Patrons, sip: SipClient, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        CREATE_ACCOUNT,
        {
            "input": {
                "institution": "NEKLS",
                "loginId": "hoopla-lansing",
                "secret": "hoopla-secret-1",
                "library": "LANSING",
                "attributeFields": [
                    {"attributeType": "kanopy_lansing", "fieldCode": "xk"},
                    {"attributeType": "KANOPY_LANSING", "fieldCode": "XL", "send": "LABEL"},
                ],
            }
        },
        admin,
    )
    assert data["createSipAccount"] == {
        "account": {
            "loginId": "hoopla-lansing",
            "institution": {"code": "NEKLS"},
            "library": {"code": "LANSING"},
            "encoding": "UTF_8",
            "aoMode": "INSTITUTION",
            "homeLibraryScreenMessage": False,
            "attributeFields": [
                KANOPY_FIELD,
                {"attributeType": "KANOPY_LANSING", "fieldCode": "XL", "send": "LABEL"},
            ],
            "allowEmptyPin": False,
            "enabled": True,
        },
        "errors": [],
    }
    # The secret is stored hashed, and the creation audited without it
    stored = (
        await connection.execute(
            text("SELECT secret_hash FROM sip_account WHERE login_id = 'hoopla-lansing'")
        )
    ).scalar_one()
    assert stored.startswith("$argon2")
    entries = await audit_entries(connection, "create_sip_account")
    assert entries[-1]["changes"]["secret"] == {"before": None, "after": "(set)"}
    assert "hoopla-secret-1" not in json.dumps(entries)
    # ... and the vendor logs in with it and gets codes and labels
    await patrons.create("T-LAN-1")
    assert (await sip.login("hoopla-lansing", "hoopla-secret-1")).fixed == {"ok": "1"}
    info = await sip.patron_information("T-LAN-1")
    assert info.get("XK") == ["ALLOWED"]
    assert info.get("XL") == ["Allowed (Lansing Community Library)"]


async def test_kanopy_fields_need_a_lansing_session_and_a_lansing_account(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    before = await _accounts(connection)
    base = {"institution": "NEKLS", "loginId": "kanopy-2", "secret": "kanopy-secret-2"}
    # The admin logged in at BASEHOR may not read Kanopy (LANSING), so may not send it
    at_basehor = await gql.login("nekls.admin", "BASEHOR")
    data = await gql.ok(
        CREATE_ACCOUNT,
        {"input": {**base, "library": "LANSING", "attributeFields": [KANOPY_FIELD]}},
        at_basehor,
    )
    assert data["createSipAccount"] == {
        "account": None,
        "errors": [
            {
                "code": "ATTRIBUTE_FORBIDDEN",
                "message": "Kanopy (LANSING) can only be changed by staff logged in at LANSING.",
                "field": ["input", "attributeFields", "0"],
            }
        ],
    }
    # ... and an account of BASEHOR (or of no library) is never sent it
    at_lansing = await gql.login("nekls.admin", "LANSING")
    for library in ("BASEHOR", None):
        data = await gql.ok(
            CREATE_ACCOUNT,
            {"input": {**base, "library": library, "attributeFields": [KANOPY_FIELD]}},
            at_lansing,
        )
        assert data["createSipAccount"]["errors"] == [
            {
                "code": "ATTRIBUTE_FORBIDDEN",
                "message": "Kanopy (LANSING) can only be sent by SIP accounts of LANSING.",
                "field": ["input", "attributeFields", "0"],
            }
        ]
    # ... nor can the LANSING account be moved to BASEHOR while it sends Kanopy
    data = await gql.ok(
        UPDATE_ACCOUNT, {"input": {"loginId": "kanopy-lansing", "library": "BASEHOR"}}, at_lansing
    )
    assert [e["code"] for e in data["updateSipAccount"]["errors"]] == ["ATTRIBUTE_FORBIDDEN"]
    assert await _accounts(connection) == before


async def test_sip_account_input_is_checked(gql: GraphQL, connection: AsyncConnection) -> None:
    before = await _accounts(connection)
    admin = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        CREATE_ACCOUNT,
        {
            "input": {
                "institution": "NEKLS",
                "loginId": "kanopy-lansing",
                "secret": "short",
                "library": "EASTERN-MAIN",
                "attributeFields": [
                    {"attributeType": "NO_SUCH_TYPE", "fieldCode": "XK"},
                    {"attributeType": "KANOPY_LANSING", "fieldCode": "AE"},
                ],
            }
        },
        admin,
    )
    assert data["createSipAccount"]["errors"] == [
        {
            "code": "PASSWORD_TOO_SHORT",
            "message": "The secret needs at least 8 characters.",
            "field": ["input", "secret"],
        },
        {
            "code": "INVALID_INPUT",
            "message": "'EASTERN-MAIN' is not a library of NEKLS.",
            "field": ["input", "library"],
        },
        {
            "code": "INVALID_INPUT",
            "message": "There is no attribute type 'NO_SUCH_TYPE'.",
            "field": ["input", "attributeFields", "0", "attributeType"],
        },
        {
            "code": "INVALID_INPUT",
            "message": "'AE' cannot carry an attribute: use two capitals or a capital and a "
            "digit that SIP2 does not already use (e.g. XK).",
            "field": ["input", "attributeFields", "1", "fieldCode"],
        },
        {
            "code": "CONFLICT",
            "message": "The login id 'kanopy-lansing' is already taken.",
            "field": ["input", "loginId"],
        },
    ]
    assert await _accounts(connection) == before


async def test_only_system_admins_of_the_institution_manage_sip_accounts(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    before = await _accounts(connection)
    create = {"input": {"institution": "NEKLS", "loginId": "rogue", "secret": "rogue-secret-1"}}
    update = {"input": {"loginId": "kanopy-lansing", "secret": "taken-over-1"}}
    librarian = await gql.login("lansing.librarian", "LANSING")
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    for token in (librarian, eastern):
        created = await gql.ok(CREATE_ACCOUNT, create, token)
        assert [e["code"] for e in created["createSipAccount"]["errors"]] == ["FORBIDDEN"]
        updated = await gql.ok(UPDATE_ACCOUNT, update, token)
        # Another institution's account does not exist for the session
        assert updated["updateSipAccount"]["errors"] == [
            {
                "code": "NOT_FOUND",
                "message": "There is no SIP account 'kanopy-lansing'.",
                "field": ["input", "loginId"],
            }
        ]
        listed = await gql.ok(LIST_ACCOUNTS, {"institution": "NEKLS"}, token)
        assert listed["sipAccounts"] == []
    anonymous = await gql(CREATE_ACCOUNT, create)
    assert anonymous["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert await _accounts(connection) == before


async def test_an_admin_lists_and_updates_accounts(
    gql: GraphQL, sip: SipClient, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    listed = await gql.ok(LIST_ACCOUNTS, {"institution": "NEKLS"}, admin)
    assert [a["loginId"] for a in listed["sipAccounts"]] == ["kanopy-lansing", "nekls-vendor"]
    assert listed["sipAccounts"][1]["aoMode"] == "HOME_LIBRARY"
    assert listed["sipAccounts"][1]["library"] is None
    # When the admin gives the account a new secret and CP850
    data = await gql.ok(
        UPDATE_ACCOUNT,
        {"input": {"loginId": "kanopy-lansing", "secret": "new-secret-1", "encoding": "CP850"}},
        admin,
    )
    account = data["updateSipAccount"]["account"]
    assert (account["encoding"], account["attributeFields"]) == ("CP850", [KANOPY_FIELD])
    entries = await audit_entries(connection, "update_sip_account")
    assert entries[-1]["changes"] == {
        "encoding": {"before": "UTF-8", "after": "CP850"},
        "secret": {"before": "(set)", "after": "(changed)"},
    }
    # Then the old secret fails and the new one works
    assert (await sip.login()).fixed == {"ok": "0"}
    assert (await sip.login(secret="new-secret-1")).fixed == {"ok": "1"}
    # ... and a disabled account cannot log in
    await gql.ok(UPDATE_ACCOUNT, {"input": {"loginId": "kanopy-lansing", "enabled": False}}, admin)
    assert (await sip.login(secret="new-secret-1")).fixed == {"ok": "0"}


async def _accounts(connection: AsyncConnection) -> list[tuple[Any, ...]]:
    rows = await connection.execute(
        text(
            "SELECT login_id, secret_hash, library_id, encoding, attribute_fields, enabled"
            " FROM sip_account ORDER BY login_id"
        )
    )
    return [tuple(str(v) for v in row) for row in rows]
