"""Merging duplicate accounts: everything moves to the survivor in one transaction."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.models import AuditEntry
from tests.support.graphql import GraphQL
from tests.support.ids import patron_pk
from tests.support.lifecycle import PASSWORD, LifecycleApi, patron_id
from tests.support.photos import image, set_photo

PHOTO = "query($id: ID!) { node(id: $id) { ... on Patron { photo { contentType width height } } } }"


def loans(patron: dict[str, Any]) -> list[tuple[str, bool]]:
    """(item, returned) of a patron's loans, sorted."""
    return sorted(
        (e["node"]["itemBarcode"], e["node"]["returnedAt"] is not None)
        for e in patron["loans"]["edges"]
    )


def attributes(patron: dict[str, Any]) -> dict[str, list[str]]:
    return {a["type"]["code"]: sorted(a["values"]) for a in patron["attributes"]}


async def test_merge_moves_loans_and_everything_the_survivor_lacks(
    api: LifecycleApi, gql: GraphQL, lansing: str, connection: AsyncConnection
) -> None:
    # given: a survivor and two duplicates, with loans (one returned) and a block
    survivor = await api.create(
        lansing,
        surname="Merger",
        givenName="Sam",
        primaryEmail="sam@x.org",
        adminSystemId="S-1",
        contactEmails=[{"address": "mum@x.org", "label": "Mum"}],
    )
    first = await api.create(
        lansing,
        surname="Merger",
        givenName="Samuel",
        phone="555-0100",
        username="sam.m",
        password=PASSWORD,
        barcode="2199001",
        adminSystemId="D-1",
        userGroup="ADULT",
        contactEmails=[{"address": "MUM@x.org"}, {"address": "dad@x.org", "label": "Dad"}],
    )
    second = await api.create(
        lansing, surname="Merger", middleName="Q", preferredName="Sammy", barcode="2199002"
    )
    await api.check_out(lansing, first["id"], "ITEM-1")
    await api.check_out(lansing, first["id"], "ITEM-2")
    await api.check_in(lansing, "ITEM-1")
    await api.check_out(lansing, survivor["id"], "ITEM-3")
    await api.check_out(lansing, second["id"], "ITEM-4")
    await api.block(lansing, first["id"], "CONDUCT", "Shouted")

    # when
    payload = await api.merge(lansing, survivor["id"], [first["id"], second["id"]])

    # then: every loan of the duplicates moved (the returned one too)
    assert payload["errors"] == []
    assert payload["loansMoved"] == 3
    merged = payload["patron"]
    assert loans(merged) == [
        ("ITEM-1", True),
        ("ITEM-2", False),
        ("ITEM-3", False),
        ("ITEM-4", False),
    ]
    # the survivor kept its values and took the blank ones, in the duplicates' order
    assert {
        key: merged[key]
        for key in (
            "id",
            "givenName",
            "surname",
            "primaryEmail",
            "phone",
            "username",
            "barcode",
            "adminSystemId",
            "contactEmails",
            "userGroup",
            "blocks",
            "systemGroups",
            "version",
        )
    } == {
        "id": survivor["id"],
        "givenName": "Sam",
        "surname": "Merger",
        "primaryEmail": "sam@x.org",
        "phone": "555-0100",
        "username": "sam.m",
        "barcode": "2199001",
        "adminSystemId": "S-1",
        "contactEmails": [
            {"address": "mum@x.org", "label": "Mum"},
            {"address": "dad@x.org", "label": "Dad"},
        ],
        "userGroup": {"code": "ADULT"},
        "blocks": [{"type": {"code": "CONDUCT"}, "note": "Shouted", "origin": "LOCAL"}],
        "systemGroups": ["LIBRARY_USERS"],
        "version": survivor["version"] + 1,
    }
    # the duplicates are gone; the first one's login opens the survivor now
    assert await api.read(lansing, first["id"]) is None
    assert await api.read(lansing, second["id"]) is None
    token = await gql.login("sam.m", "LANSING", PASSWORD)
    assert await api.viewer_id(token) == survivor["id"]
    # audited: the survivor's entry, and one per duplicate naming the survivor
    [entry] = [
        e for e in await api.audit(lansing, survivor["id"]) if e["action"] == "merge_patrons"
    ]
    assert entry["changes"]["mergedFrom"] == {
        "before": None,
        "after": [patron_pk(first["id"]), patron_pk(second["id"])],
    }
    assert entry["changes"]["loansMoved"] == {"before": None, "after": 3}
    assert entry["changes"]["username"] == {"before": None, "after": "sam.m"}
    assert entry["changes"]["password"] == {"before": "(hidden)", "after": "(changed)"}
    rows = (
        await connection.execute(
            select(AuditEntry.entity_id, AuditEntry.changes)
            .where(
                AuditEntry.action == "merge_patrons",
                AuditEntry.entity_id.in_([patron_pk(first["id"]), patron_pk(second["id"])]),
            )
            .order_by(AuditEntry.entity_id)
        )
    ).all()
    assert [(entity, changes) for entity, changes in rows] == [
        (
            patron_pk(first["id"]),
            {"mergedInto": {"before": None, "after": patron_pk(survivor["id"])}},
        ),
        (
            patron_pk(second["id"]),
            {"mergedInto": {"before": None, "after": patron_pk(survivor["id"])}},
        ),
    ]


async def test_merge_takes_middle_and_preferred_names_when_blank(
    api: LifecycleApi, lansing: str
) -> None:
    # given
    survivor = await api.create(lansing, surname="Blank")
    duplicate = await api.create(
        lansing, surname="Other", middleName="Q", preferredName="Sammy", givenName="Sam"
    )

    # when
    payload = await api.merge(lansing, survivor["id"], [duplicate["id"]])

    # then
    assert payload["errors"] == []
    assert payload["loansMoved"] == 0
    merged = await gql_names(api, lansing, survivor["id"])
    assert merged == {
        "surname": "Blank",
        "givenName": "Sam",
        "middleName": "Q",
        "preferredName": "Sammy",
    }


async def gql_names(api: LifecycleApi, token: str, patron: str) -> dict[str, Any]:
    data = await api.gql.ok(
        "query($id: ID!) { node(id: $id) { ... on Patron "
        "{ surname givenName middleName preferredName } } }",
        {"id": patron},
        token,
    )
    names: dict[str, Any] = data["node"]
    return names


async def test_merge_keeps_attribute_values_the_merging_session_cannot_see(
    api: LifecycleApi, gql: GraphQL, lansing: str, basehor: str
) -> None:
    # given: a repeatable attribute type, and Kanopy (LANSING) values only LANSING sees
    admin = await gql.login("nekls.admin", "LANSING")
    created = await gql.ok(
        """mutation { createAttributeType(input: {institution: "NEKLS", code: "LANGUAGES",
             label: "Languages", repeatable: true}) { attributeType { code } errors { code } } }""",
        token=admin,
    )
    assert created["createAttributeType"]["errors"] == []
    survivor = await api.create(
        basehor,
        homeLibrary="BASEHOR",
        surname="Visible",
        attributes=[{"type": "LANGUAGES", "values": ["en"]}],
    )
    duplicate = await api.create(
        lansing,
        surname="Hidden",
        attributes=[
            {"type": "KANOPY_LANSING", "values": ["ALLOWED"]},
            {"type": "LANGUAGES", "values": ["fr", "en"]},
        ],
    )
    assert attributes(await api.read(lansing, survivor["id"])) == {"LANGUAGES": ["en"]}  # type: ignore[arg-type]

    # when: merged from BASEHOR, where Kanopy (LANSING) is invisible
    payload = await api.merge(basehor, survivor["id"], [duplicate["id"]])

    # then: BASEHOR sees the union of the repeatable values, LANSING sees Kanopy too
    assert payload["errors"] == []
    assert attributes(payload["patron"]) == {"LANGUAGES": ["en", "fr"]}
    seen_at_lansing = await api.read(lansing, survivor["id"])
    assert seen_at_lansing is not None
    assert attributes(seen_at_lansing) == {"KANOPY_LANSING": ["ALLOWED"], "LANGUAGES": ["en", "fr"]}
    # the survivor's audit entry shows the hidden value to LANSING only
    [at_lansing] = [
        e for e in await api.audit(lansing, survivor["id"]) if e["action"] == "merge_patrons"
    ]
    [at_basehor] = [
        e for e in await api.audit(basehor, survivor["id"]) if e["action"] == "merge_patrons"
    ]
    assert at_lansing["changes"]["attribute:KANOPY_LANSING"] == {
        "before": None,
        "after": ["ALLOWED"],
    }
    assert "attribute:KANOPY_LANSING" not in at_basehor["changes"]


async def test_the_survivors_value_wins_for_a_non_repeatable_type(
    api: LifecycleApi, lansing: str, basehor: str
) -> None:
    # given: LANSING's rule gives a BASEHOR patron NOT_ALLOWED, a LANSING one ALLOWED
    survivor = await api.create(lansing, homeLibrary="BASEHOR", surname="Out")
    duplicate = await api.create(lansing, surname="In")
    assert attributes(survivor) == {"KANOPY_LANSING": ["NOT_ALLOWED"]}
    assert attributes(duplicate) == {"KANOPY_LANSING": ["ALLOWED"]}

    # when
    payload = await api.merge(basehor, survivor["id"], [duplicate["id"]])

    # then
    assert payload["errors"] == []
    merged = await api.read(lansing, survivor["id"])
    assert merged is not None
    assert attributes(merged) == {"KANOPY_LANSING": ["NOT_ALLOWED"]}


async def test_linked_copies_of_a_duplicate_point_at_the_survivor(
    api: LifecycleApi, lansing: str, western: str
) -> None:
    # given: WESTERN linked the duplicate (not the survivor)
    survivor = await api.create(lansing, surname="Stays", givenName="Sue", barcode="2199101")
    duplicate = await api.create(lansing, surname="Goes", givenName="Dee", barcode="2199102")
    copy_id = await api.link(western, "2199102")

    # when
    payload = await api.merge(lansing, survivor["id"], [duplicate["id"]])

    # then: WESTERN's copy is now the survivor's copy (and was refreshed from it)
    assert payload["errors"] == []
    assert payload["patron"]["linkedAccounts"] == [{"institution": {"code": "WESTERN"}}]
    [match] = await api.search(western, "2199101")
    assert match["linkedAccount"] == {"id": copy_id}
    copy = await api.read(western, copy_id)
    assert copy is not None
    assert copy["linkedFrom"] == {
        "institution": {"code": "NEKLS"},
        "ref": match["ref"],
        "status": "ACTIVE",
    }
    assert (copy["givenName"], copy["surname"]) == ("Sue", "Stays")
    assert await api.search(western, "2199102") == []


async def test_copies_of_both_accounts_at_one_member_are_merged_too(
    api: LifecycleApi, lansing: str, western: str
) -> None:
    # given: WESTERN holds copies of both accounts, and lent an item to the duplicate's
    survivor = await api.create(lansing, surname="Stays", barcode="2199201")
    duplicate = await api.create(lansing, surname="Goes", barcode="2199202")
    survivor_copy = await api.link(western, "2199201")
    duplicate_copy = await api.link(western, "2199202")
    await api.check_out(western, duplicate_copy, "W-ITEM-1")

    # when
    payload = await api.merge(lansing, survivor["id"], [duplicate["id"]])

    # then: WESTERN keeps one copy, with the loan (not counted: it is not NEKLS's loan)
    assert payload["errors"] == []
    assert payload["loansMoved"] == 0
    assert payload["patron"]["linkedAccounts"] == [{"institution": {"code": "WESTERN"}}]
    assert await api.read(western, duplicate_copy) is None
    kept = await api.read(western, survivor_copy)
    assert kept is not None
    assert loans(kept) == [("W-ITEM-1", False)]
    [match] = await api.search(western, "2199201")
    assert match["linkedAccount"] == {"id": survivor_copy}


async def state_of(api: LifecycleApi, token: str, ids: list[str]) -> list[Any]:
    return [await api.read(token, i) for i in ids]


async def test_merge_refuses_missing_foreign_and_repeated_accounts(
    api: LifecycleApi, lansing: str, eastern_circ: str
) -> None:
    # given
    survivor = await api.create(lansing, surname="Stays", barcode="2199301")
    duplicate = await api.create(lansing, surname="Goes", barcode="2199302")
    await api.check_out(lansing, duplicate["id"], "ITEM-9")
    foreign = (await api.all_patrons(eastern_circ, "EASTERN"))[0]["id"]
    before = await state_of(api, lansing, [survivor["id"], duplicate["id"]])
    not_found = "There is no such patron."

    def error(code: str, message: str, *field: str) -> dict[str, Any]:
        return {"code": code, "message": message, "field": ["input", *field]}

    cases = [
        # another institution's patron: invisible, so not found
        (survivor["id"], [foreign], [error("NOT_FOUND", not_found, "duplicates", "0")]),
        (foreign, [duplicate["id"]], [error("NOT_FOUND", not_found, "survivor")]),
        (patron_id(999999), [duplicate["id"]], [error("NOT_FOUND", not_found, "survivor")]),
        (
            survivor["id"],
            [duplicate["id"], patron_id(999999), "garbage"],
            [
                error("NOT_FOUND", not_found, "duplicates", "1"),
                error("NOT_FOUND", not_found, "duplicates", "2"),
            ],
        ),
        (
            survivor["id"],
            [survivor["id"], duplicate["id"], duplicate["id"]],
            [
                error(
                    "INVALID_INPUT",
                    "The survivor cannot also be a duplicate.",
                    "duplicates",
                    "0",
                ),
                error("INVALID_INPUT", "This patron is listed twice.", "duplicates", "2"),
            ],
        ),
        (
            survivor["id"],
            [],
            [error("INVALID_INPUT", "Name at least one duplicate.", "duplicates")],
        ),
    ]
    for survivor_id, duplicates, errors in cases:
        # when
        payload = await api.merge(lansing, survivor_id, duplicates)
        # then
        assert payload == {"patron": None, "loansMoved": None, "errors": errors}
    assert await state_of(api, lansing, [survivor["id"], duplicate["id"]]) == before


async def test_merge_refuses_mixing_home_and_linked_accounts(
    api: LifecycleApi, lansing: str, western: str
) -> None:
    # given: two NEKLS patrons linked into WESTERN, and a WESTERN patron
    await api.create(lansing, surname="One", barcode="2199401")
    await api.create(lansing, surname="Two", barcode="2199402")
    first_copy = await api.link(western, "2199401")
    second_copy = await api.link(western, "2199402")
    home = next(
        p["id"]
        for p in await api.all_patrons(western, "WESTERN")
        if p["accountType"] == "HOME" and not p["systemGroups"][1:]
    )
    before = await state_of(api, western, [first_copy, second_copy, home])
    home_only = "The survivor is a HOME account: only HOME accounts can be merged into it."
    same_source = (
        "The survivor is a linked account: only linked accounts of the same source "
        "can be merged into it."
    )

    for survivor_id, duplicate_id, message in (
        (home, first_copy, home_only),
        (first_copy, home, same_source),
        (first_copy, second_copy, same_source),
    ):
        # when
        payload = await api.merge(western, survivor_id, [duplicate_id])
        # then
        assert payload["errors"] == [
            {"code": "INVALID_INPUT", "message": message, "field": ["input", "duplicates", "0"]}
        ]
    assert await state_of(api, western, [first_copy, second_copy, home]) == before


async def test_merge_is_for_librarians_of_the_institution(
    api: LifecycleApi, gql: GraphQL, lansing: str, western: str, eastern_circ: str
) -> None:
    # given
    survivor = await api.create(lansing, surname="Stays")
    duplicate = await api.create(lansing, surname="Goes")
    viewer = await api.viewer_id(lansing)
    others = {p["username"]: p["id"] for p in await api.all_patrons(lansing)}
    eastern = [p["id"] for p in await api.all_patrons(eastern_circ, "EASTERN")][:2]
    generic = await api.create(lansing, surname="Station", isGeneric=True)
    watched = [survivor["id"], duplicate["id"], others["basehor.librarian"], generic["id"]]
    before = await state_of(api, lansing, watched)
    eastern_before = await state_of(api, eastern_circ, eastern)

    # when / then: another institution's librarian does not even see the patrons
    payload = await api.merge(western, survivor["id"], [duplicate["id"]])
    assert payload["errors"] == [
        {"code": "NOT_FOUND", "message": "There is no such patron.", "field": ["input", "survivor"]}
    ]
    # circulation staff see them but may not merge
    payload = await api.merge(eastern_circ, eastern[0], [eastern[1]])
    assert payload["errors"] == [
        {
            "code": "FORBIDDEN",
            "message": "Only librarians of the patron's institution may change it.",
            "field": None,
        }
    ]
    # nobody merges away their own account, or one holding roles they may not grant
    payload = await api.merge(lansing, survivor["id"], [viewer, others["basehor.librarian"]])
    assert payload["errors"] == [
        {
            "code": "FORBIDDEN",
            "message": "You cannot merge away your own account.",
            "field": ["input", "duplicates", "0"],
        },
        {
            "code": "FORBIDDEN",
            "message": "Only someone who may grant LIBRARIAN and its login library (BASEHOR) can remove "
            "this account.",
            "field": ["input", "duplicates", "1"],
        },
    ]
    # generic accounts are not merged
    payload = await api.merge(lansing, survivor["id"], [generic["id"]])
    assert payload["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "Generic accounts hold no personal data and are not merged.",
            "field": ["input", "duplicates", "0"],
        }
    ]
    assert await state_of(api, lansing, watched) == before
    assert await state_of(api, eastern_circ, eastern) == eastern_before
    assert await api.read(lansing, viewer) is not None


async def test_library_group_memberships_move(api: LifecycleApi, gql: GraphQL) -> None:
    # given: at NORTHFIELD, only the duplicate is in the Teachers group
    admin = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    data = await gql.ok(
        '{ institution(code: "NORTHFIELD") { libraryGroups { id name } } }', token=admin
    )
    [teachers] = data["institution"]["libraryGroups"]
    place = {"institution": "NORTHFIELD", "homeLibrary": "NORTHFIELD-MAIN"}
    survivor = await api.create(admin, **place, surname="Teach", adminSystemId="NO-S")
    duplicate = await api.create(
        admin, **place, surname="Teach", adminSystemId="NO-D", libraryGroups=[teachers["id"]]
    )

    # when
    payload = await api.merge(admin, survivor["id"], [duplicate["id"]])

    # then
    assert payload["errors"] == []
    assert payload["patron"]["libraryGroups"] == [{"name": "Teachers"}]
    assert payload["patron"]["adminSystemId"] == "NO-S"
    assert await api.read(admin, duplicate["id"]) is None


async def test_the_duplicates_photo_moves_unless_the_survivor_has_one(
    api: LifecycleApi, gql: GraphQL, lansing: str, client: httpx.AsyncClient
) -> None:
    # given: a survivor without a photo, and two duplicates with photos of different sizes
    survivor = await api.create(lansing, surname="Pictured", barcode="2199101")
    first = await api.create(lansing, surname="Pictured", barcode="2199102")
    second = await api.create(lansing, surname="Pictured", barcode="2199103")
    await set_photo(client, lansing, first["id"], image("PNG", (40, 30)))
    await set_photo(client, lansing, second["id"], image("PNG", (20, 10)))

    # when: merged, the first duplicate's photo becomes the survivor's
    payload = await api.merge(lansing, survivor["id"], [first["id"], second["id"]])
    assert payload["errors"] == []
    photo = (await gql.ok(PHOTO, {"id": survivor["id"]}, lansing))["node"]["photo"]
    assert photo == {"contentType": "image/jpeg", "width": 40, "height": 30}

    # and a survivor that has a photo keeps it
    other = await api.create(lansing, surname="Pictured", barcode="2199104")
    await set_photo(client, lansing, other["id"], image("PNG", (64, 64)))
    payload = await api.merge(lansing, survivor["id"], [other["id"]])
    assert payload["errors"] == []
    photo = (await gql.ok(PHOTO, {"id": survivor["id"]}, lansing))["node"]["photo"]
    assert photo == {"contentType": "image/jpeg", "width": 40, "height": 30}
