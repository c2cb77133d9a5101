"""Copies and refreshes: shared fields only, live propagation of source changes (or not, in
ON_INTERACTION mode), deleted and unavailable sources, copied and local blocks."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import text

from tests.support.ids import pk_of
from tests.support.imports import Importer, counts, to_csv
from tests.support.linking import Net, day, eastern_only

NOT_SHARED = ("cohort", "formClass", "contactEmails")


async def on_interaction(net: Net) -> None:
    """The network setting that turns live propagation off."""
    await net.connection.execute(text("UPDATE network SET propagation_mode = 'ON_INTERACTION'"))


def data_of(patron: dict[str, Any]) -> dict[str, Any]:
    """The copied part of a patron."""
    keys = (
        "givenName",
        "middleName",
        "preferredName",
        "surname",
        "primaryEmail",
        "contactEmails",
        "phone",
        "cohort",
        "formClass",
    )
    return {k: patron[k] for k in keys}


async def test_a_copy_holds_the_shared_fields_only(net: Net) -> None:
    # Given an EASTERN patron with every field set and a consortial ID
    source = await net.eastern_source(
        1,
        identifiers=[
            {"type": "UNIV_ID", "value": "TEST-EU0001"},
            {"type": "CONSORTIAL_ID", "value": "TEST-KLN-1"},
        ],
    )
    # When WESTERN links it
    payload = await net.link(
        "western.librarian", (await net.find("western.librarian", "TEST-EU0001"))["ref"]
    )
    # Then the new LINKED account has the shared fields; the rest arrive blank
    assert payload["created"] is True
    copy = payload["linkedAccount"]
    assert {k: v for k, v in copy.items() if k not in ("id", "linkedFrom", "userGroup")} == {
        "institution": {"code": "WESTERN"},
        "homeLibrary": {"code": "WESTERN-MAIN"},
        "accountType": "LINKED",
        "barcode": None,
        # Only network-unique identifiers travel: the copy is the same person.
        "identifiers": [{"type": {"code": "CONSORTIAL_ID"}, "value": "TEST-KLN-1"}],
        "givenName": "Erika",
        "middleName": "May",
        "preferredName": "Rika",
        "surname": "Sourcefield1",
        "primaryEmail": "erika1@east.example.org",
        "contactEmails": [],
        "phone": "555-0100",
        "cohort": None,
        "formClass": None,
        "enabled": True,
        "expiryDate": None,
        "purgeDate": None,
        "blocks": [],
        "version": 1,
    }
    assert copy["linkedFrom"] == {
        "institution": {"code": "EASTERN"},
        "ref": (await net.find("western.librarian", "TEST-EU0001"))["ref"],
        "rule": {"name": "Default rule"},
        "status": "ACTIVE",
    }
    # And the source lists the copy among its linked accounts
    query = "query($id: ID!) { node(id: $id) { ... on Patron { linkedAccounts { institution { code } } } } }"
    data = await net.gql.ok(query, {"id": source["id"]}, await net.token("eastern.admin"))
    assert data["node"]["linkedAccounts"] == [{"institution": {"code": "WESTERN"}}]
    # And the copy is in WESTERN's patron list as LINKED
    assert (await net.read("western.librarian", copy["id"])) == copy


async def test_linking_again_refreshes_the_one_linked_account(net: Net) -> None:
    # Given a linked account
    await net.eastern_source(2)
    copy = await net.find_and_link("western.librarian", "TEST-EU0002")
    # When it is linked again (from a new search, or with its own linkedFrom.ref)
    again = await net.link(
        "western.librarian", (await net.find("western.librarian", "TEST-EU0002"))["ref"]
    )
    third = await net.link("western.librarian", copy["linkedFrom"]["ref"], "MANUAL")
    # Then the same account is returned, refreshed, never a second one
    assert (again["created"], third["created"]) == (False, False)
    assert again["linkedAccount"]["id"] == third["linkedAccount"]["id"] == copy["id"]
    assert [a["target"] for a in await net.linked_accounts()] == ["WESTERN"]
    assert [
        (e["action"], e["actor_name"]) for e in await net.audit("link_account", "relink_account")
    ] == [
        ("link_account", "western.librarian"),
        ("relink_account", "western.librarian"),
        ("relink_account", "western.librarian"),
    ]


@pytest.mark.parametrize("live", [True, False])
async def test_turning_a_field_off_blanks_it_in_copies(net: Net, live: bool) -> None:
    # Given a copy of an EASTERN patron
    if not live:
        await on_interaction(net)
    await net.eastern_source(3)
    copy = await net.find_and_link("western.librarian", "TEST-EU0003")
    assert (copy["phone"], copy["cohort"], copy["contactEmails"]) == ("555-0100", None, [])
    # When EASTERN stops sharing phone and given name, and starts sharing cohort and contacts
    await net.set_shared(
        "eastern.admin", "EASTERN", PHONE=False, GIVEN_NAME=False, COHORT=True, CONTACT_EMAILS=True
    )
    expected = {
        **data_of(copy),
        "givenName": None,
        "phone": None,
        "cohort": "2027",
        "contactEmails": [{"address": "home3@east.example.org", "label": "Home"}],
    }
    # Then live propagation changes the copy at once; otherwise it waits for the next refresh
    read = await net.read("western.librarian", copy["id"])
    assert read is not None
    assert data_of(read) == (expected if live else data_of(copy))
    refreshed = await net.refresh("western.librarian", copy["id"])
    assert data_of(refreshed) == expected


async def test_a_copy_without_a_shared_surname_can_still_be_edited(net: Net) -> None:
    # Given EASTERN shares no surname, so its copies have none
    await net.set_shared("eastern.admin", "EASTERN", SURNAME=False)
    await net.eastern_source(4)
    copy = await net.find_and_link("western.librarian", "TEST-EU0004")
    assert copy["surname"] is None
    # When WESTERN's librarian changes the copy's expiry
    payload = await net.update_payload(
        "western.librarian", id=copy["id"], expectedVersion=copy["version"], expiryDate=day(10)
    )
    # Then the surname is not demanded (it is mandatory for HOME accounts only)
    assert payload["errors"] == []
    assert (payload["patron"]["surname"], payload["patron"]["expiryDate"]) == (None, day(10))


async def test_source_edits_reach_every_copy_at_once(net: Net) -> None:
    # Given an EASTERN patron linked by WESTERN and by NEKLS
    source = await net.eastern_source(5)
    west = await net.find_and_link("western.librarian", "TEST-EU0005")
    nekls = await net.find_and_link("lansing.librarian", "TEST-EU0005")
    # When EASTERN's librarian changes shared fields and a field it does not share
    await net.update("eastern.admin", source, givenName="Erica", phone="555-0199", cohort="2030")
    # Then both copies show the shared changes without anyone re-linking
    for username, copy in (("western.librarian", west), ("lansing.librarian", nekls)):
        read = await net.read(username, copy["id"])
        assert read is not None
        assert data_of(read) == {**data_of(copy), "givenName": "Erica", "phone": "555-0199"}
        assert read["version"] == copy["version"] + 1
        assert read["linkedFrom"]["status"] == "ACTIVE"
    # And each refresh is audited in the copy's institution, by the source's librarian
    entries = await net.audit("propagate_source_change")
    assert sorted((e["entity_id"], e["actor_name"], e["institution_id"]) for e in entries) == [
        (pk_of(west["id"]), "eastern.admin", await net.institution_id("WESTERN")),
        (pk_of(nekls["id"]), "eastern.admin", await net.institution_id("NEKLS")),
    ]


async def test_a_file_imported_by_the_source_institution_reaches_every_copy(
    net: Net, client: httpx.AsyncClient
) -> None:
    # Given two EASTERN patrons, one linked by WESTERN and by NEKLS, one by nobody
    source = await net.eastern_source(7, adminSystemId="EAST-7")
    await net.eastern_source(8, adminSystemId="EAST-8")
    west = await net.find_and_link("western.librarian", "TEST-EU0007")
    nekls = await net.find_and_link("lansing.librarian", "TEST-EU0007")
    # When EASTERN imports a file that changes both (the linked one's shared fields)
    rows = [
        {"admin_system_id": "EAST-7", "given_name": "Erica", "phone": "555-0199"},
        {"admin_system_id": "EAST-8", "given_name": "Erin"},
    ]
    job = await Importer(client).job(
        await net.token("eastern.admin"), to_csv(list(rows[0]), rows), institution="EASTERN"
    )
    assert counts(job) == ("SUCCEEDED", 2, 2, 0, 2, 0, 0)
    # Then both copies of the first show it, refreshed once each, by the importer
    for username, copy in (("western.librarian", west), ("lansing.librarian", nekls)):
        read = await net.read(username, copy["id"])
        assert read is not None
        assert data_of(read) == {**data_of(copy), "givenName": "Erica", "phone": "555-0199"}
        assert read["version"] == copy["version"] + 1
    entries = await net.audit("propagate_source_change")
    assert sorted((e["entity_id"], e["actor_name"]) for e in entries) == sorted(
        [(pk_of(west["id"]), "eastern.admin"), (pk_of(nekls["id"]), "eastern.admin")]
    )
    assert (await net.read("eastern.admin", source["id"]))["givenName"] == "Erica"  # type: ignore[index]


async def test_on_interaction_copies_wait_for_a_refresh_or_a_relink(net: Net) -> None:
    # Given ON_INTERACTION mode and an EASTERN patron linked by WESTERN and by NEKLS
    await on_interaction(net)
    source = await net.eastern_source(6)
    west = await net.find_and_link("western.librarian", "TEST-EU0006")
    nekls = await net.find_and_link("lansing.librarian", "TEST-EU0006")
    # When EASTERN's librarian renames the patron
    await net.update("eastern.admin", source, surname="Renamed")
    # Then neither copy changes
    assert await net.read("western.librarian", west["id"]) == west
    assert await net.read("lansing.librarian", nekls["id"]) == nekls
    assert await net.audit("propagate_source_change") == []
    # Until WESTERN refreshes its copy and NEKLS links the patron again
    refreshed = await net.refresh("western.librarian", west["id"])
    relinked = await net.link("lansing.librarian", nekls["linkedFrom"]["ref"])
    assert refreshed["surname"] == "Renamed"
    assert (relinked["created"], relinked["linkedAccount"]["surname"]) == (False, "Renamed")


@pytest.mark.parametrize("live", [True, False])
async def test_deleting_the_source_marks_copies_source_deleted(net: Net, live: bool) -> None:
    # Given an EASTERN patron linked by WESTERN and NEKLS
    if not live:
        await on_interaction(net)
    source = await net.eastern_source(7)
    ref = (await net.find("western.librarian", "TEST-EU0007"))["ref"]
    west = (await net.link("western.librarian", ref))["linkedAccount"]
    nekls = await net.find_and_link("lansing.librarian", "TEST-EU0007")
    # When EASTERN deletes the patron
    assert (await net.delete("eastern.admin", source["id"]))["errors"] == []
    # Then both copies say SOURCE_DELETED and keep their data (whatever the mode)
    for username, copy in (("western.librarian", west), ("lansing.librarian", nekls)):
        read = await net.read(username, copy["id"])
        assert read is not None
        assert read["linkedFrom"]["status"] == "SOURCE_DELETED"
        assert data_of(read) == data_of(copy)
        # And a refresh keeps it so
        refreshed = await net.refresh(username, copy["id"])
        assert refreshed["linkedFrom"]["status"] == "SOURCE_DELETED"
        assert data_of(refreshed) == data_of(copy)
    # And the old ref finds nothing to link
    assert (await net.link_payload("western.librarian", ref))["errors"][0]["code"] == (
        "SOURCE_NOT_FOUND"
    )


async def test_a_restricted_source_leaves_its_copy_untouched_and_unavailable(net: Net) -> None:
    # Given a WESTERN copy of an EASTERN undergraduate
    source = await net.eastern_source(8)
    copy = await net.find_and_link("western.librarian", "TEST-EU0008")
    # When EASTERN makes the patron a VISITOR (a restricted group) and renames them
    await net.update("eastern.admin", source, userGroup="VISITOR")
    await net.update("eastern.admin", source, givenName="Hidden")
    # Then the copy says SOURCE_UNAVAILABLE at once and keeps its data
    read = await net.read("western.librarian", copy["id"])
    assert read is not None
    assert read["linkedFrom"]["status"] == "SOURCE_UNAVAILABLE"
    assert data_of(read) == data_of(copy)
    # And refreshing or linking again copies nothing
    refreshed = await net.refresh("western.librarian", copy["id"])
    assert refreshed["linkedFrom"]["status"] == "SOURCE_UNAVAILABLE"
    assert data_of(refreshed) == data_of(copy)
    payload = await net.link_payload("western.librarian", copy["linkedFrom"]["ref"])
    assert [e["code"] for e in payload["errors"]] == ["SOURCE_RESTRICTED"]
    # When the patron is an undergraduate again
    await net.update("eastern.admin", source, userGroup="UNDERGRAD")
    # Then the copy is ACTIVE with the current data
    read = await net.read("western.librarian", copy["id"])
    assert read is not None
    assert (read["linkedFrom"]["status"], read["givenName"]) == ("ACTIVE", "Hidden")


@pytest.mark.parametrize("live", [True, False])
async def test_restricting_a_group_makes_its_copies_unavailable(net: Net, live: bool) -> None:
    # Given a WESTERN copy of an EASTERN graduate student
    if not live:
        await on_interaction(net)
    await net.eastern_source(9, userGroup="GRAD")
    copy = await net.find_and_link("western.librarian", "TEST-EU0009")
    # When EASTERN restricts graduate students
    await net.restrict("eastern.admin", "EASTERN", "GRAD")
    # Then the copy is unavailable at once (live) or at its next refresh, keeping its data
    read = await net.read("western.librarian", copy["id"])
    assert read is not None
    assert read["linkedFrom"]["status"] == ("SOURCE_UNAVAILABLE" if live else "ACTIVE")
    refreshed = await net.refresh("western.librarian", copy["id"])
    assert refreshed["linkedFrom"]["status"] == "SOURCE_UNAVAILABLE"
    assert data_of(refreshed) == data_of(copy)
    # When EASTERN lifts the restriction
    query = """mutation { removeRestrictedUserGroup(input: {institution: "EASTERN",
      userGroup: "GRAD"}) { institution { restrictedUserGroups { userGroup { code } } } errors { code } } }"""
    data = await net.gql.ok(query, token=await net.token("eastern.admin"))
    assert data["removeRestrictedUserGroup"] == {
        "institution": {"restrictedUserGroups": [{"userGroup": {"code": "VISITOR"}}]},
        "errors": [],
    }
    # Then the copy is ACTIVE again (at once, or at its next refresh)
    read = await net.read("western.librarian", copy["id"])
    assert read is not None
    assert read["linkedFrom"]["status"] == ("ACTIVE" if live else "SOURCE_UNAVAILABLE")
    refreshed = await net.refresh("western.librarian", copy["id"])
    assert refreshed["linkedFrom"]["status"] == "ACTIVE"


async def test_a_rules_resource_sharing_library_homes_its_linked_accounts(net: Net) -> None:
    # Given EASTERN homes linked accounts of WESTERN patrons at its law library
    await net.first_rule(
        "eastern.admin",
        "EASTERN",
        "Law",
        conditions=[
            {"parameter": "SOURCE_INSTITUTION", "operator": "EQUALS", "values": ["WESTERN"]}
        ],
        resourceSharingLibrary="EASTERN-LAW",
    )
    await net.western_source(1)
    # When EASTERN's admin (logged in at EASTERN-MAIN) links a WESTERN student
    copy = await net.find_and_link("eastern.admin", "TEST-WU0001")
    # Then its home library is the rule's, not the session's
    assert copy["homeLibrary"] == {"code": "EASTERN-LAW"}
    assert copy["userGroup"] == {"code": "WALKIN"}


@pytest.mark.parametrize(
    "change", [{"enabled": False}, {"expiryDate": day(-1)}], ids=["disabled", "expired"]
)
async def test_a_disabled_or_expired_source_leaves_its_copy_unavailable(
    net: Net, change: dict[str, Any]
) -> None:
    source = await net.eastern_source(10)
    copy = await net.find_and_link("western.librarian", "TEST-EU0010")
    await net.update("eastern.admin", source, surname="Changed", **change)
    refreshed = await net.refresh("western.librarian", copy["id"])
    assert refreshed["linkedFrom"]["status"] == "SOURCE_UNAVAILABLE"
    assert data_of(refreshed) == data_of(copy)


# ---------------------------------------------------------------- blocks


def blocks_of(patron: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return sorted((b["origin"], b["type"]["code"], b["note"]) for b in patron["blocks"])


FINES_COPY = ("COPIED", "CONSORTIAL", "Fines over the limit (EASTERN): Owes $20")
CONDUCT = ("LOCAL", "CONDUCT", "Shouted at the desk")


async def test_copied_blocks_are_replaced_on_refresh_and_local_blocks_stay(net: Net) -> None:
    # Given ON_INTERACTION mode and a WESTERN rule that copies EASTERN's network blocks
    await on_interaction(net)
    await net.first_rule(
        "western.admin", "WESTERN", "With blocks", conditions=eastern_only(), copyNetworkBlocks=True
    )
    source = await net.eastern_source(11)
    copy = await net.find_and_link("western.librarian", "TEST-EU0011")
    # When EASTERN blocks the patron for fines (a network block) and a lost card (not one),
    # and WESTERN adds a local block to its linked account
    await net.add_block("eastern.admin", source["id"], "FINES", "Owes $20")
    await net.add_block("eastern.admin", source["id"], "LOST")
    await net.add_block("western.librarian", copy["id"], "CONDUCT", "Shouted at the desk")
    read = await net.read("western.librarian", copy["id"])
    assert read is not None
    assert blocks_of(read) == [CONDUCT]
    # Then a refresh copies the network block as a CONSORTIAL block, and keeps the local one
    assert blocks_of(await net.refresh("western.librarian", copy["id"])) == [FINES_COPY, CONDUCT]
    # And a second refresh replaces the copied block, it does not add another
    assert blocks_of(await net.refresh("western.librarian", copy["id"])) == [FINES_COPY, CONDUCT]
    # And WESTERN cannot lift the copied block itself
    copied_id = (await net.block_ids("western.librarian", copy["id"]))["CONSORTIAL"]
    payload = await net.remove_block("western.librarian", copied_id)
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    # When EASTERN lifts the fines block and the copy is refreshed
    fines_id = (await net.block_ids("eastern.admin", source["id"]))["FINES"]
    assert (await net.remove_block("eastern.admin", fines_id))["errors"] == []
    refreshed = await net.refresh("western.librarian", copy["id"])
    # Then the copied block is gone and the local one stays
    assert blocks_of(refreshed) == [CONDUCT]


async def test_network_blocks_reach_copies_at_once(net: Net) -> None:
    # Given a WESTERN copy under a rule that copies blocks, with a local block
    await net.first_rule(
        "western.admin", "WESTERN", "With blocks", conditions=eastern_only(), copyNetworkBlocks=True
    )
    source = await net.eastern_source(12)
    copy = await net.find_and_link("western.librarian", "TEST-EU0012")
    await net.add_block("western.librarian", copy["id"], "CONDUCT", "Shouted at the desk")
    # When EASTERN adds a fines block, then lifts it
    await net.add_block("eastern.admin", source["id"], "FINES", "Owes $20")
    added = await net.read("western.librarian", copy["id"])
    fines_id = (await net.block_ids("eastern.admin", source["id"]))["FINES"]
    await net.remove_block("eastern.admin", fines_id)
    lifted = await net.read("western.librarian", copy["id"])
    # Then the copy follows each change without a refresh
    assert added is not None
    assert lifted is not None
    assert blocks_of(added) == [FINES_COPY, CONDUCT]
    assert blocks_of(lifted) == [CONDUCT]


async def test_blocks_at_link_time_and_rules_that_do_not_copy_them(net: Net) -> None:
    # Given an EASTERN patron already blocked for fines
    source = await net.eastern_source(13)
    await net.add_block("eastern.admin", source["id"], "FINES", "Owes $20")
    # When NEKLS (no rule copies blocks there) and WESTERN (a rule that does) link it
    nekls = await net.find_and_link("lansing.librarian", "TEST-EU0013")
    await net.first_rule(
        "western.admin", "WESTERN", "With blocks", conditions=eastern_only(), copyNetworkBlocks=True
    )
    west = await net.find_and_link("western.librarian", "TEST-EU0013")
    # Then only WESTERN's copy carries the block
    assert blocks_of(nekls) == []
    assert blocks_of(west) == [FINES_COPY]
    assert blocks_of(await net.refresh("lansing.librarian", nekls["id"])) == []


async def test_copied_blocks_go_when_the_rule_stops_copying_blocks(net: Net) -> None:
    # Given a WESTERN copy carrying a copied fines block and a local block
    rule = await net.first_rule(
        "western.admin", "WESTERN", "With blocks", conditions=eastern_only(), copyNetworkBlocks=True
    )
    source = await net.eastern_source(14)
    await net.add_block("eastern.admin", source["id"], "FINES", "Owes $20")
    copy = await net.find_and_link("western.librarian", "TEST-EU0014")
    await net.add_block("western.librarian", copy["id"], "CONDUCT", "Shouted at the desk")
    # When WESTERN's admin turns block copying off and the copy is refreshed
    payload = await net.update_rule_payload("western.admin", id=rule["id"], copyNetworkBlocks=False)
    assert payload["errors"] == []
    refreshed = await net.refresh("western.librarian", copy["id"])
    # Then the copied block is gone (nothing would ever lift it), the local one stays
    assert blocks_of(refreshed) == [CONDUCT]


async def test_linking_a_source_that_became_unavailable_marks_the_copy(net: Net) -> None:
    # Given ON_INTERACTION mode and a WESTERN copy of an EASTERN patron since disabled
    await on_interaction(net)
    source = await net.eastern_source(15)
    copy = await net.find_and_link("western.librarian", "TEST-EU0015")
    await net.update("eastern.admin", source, enabled=False, givenName="Gone")
    read = await net.read("western.librarian", copy["id"])
    assert read is not None
    assert read["linkedFrom"]["status"] == "ACTIVE"
    # When WESTERN links the patron again
    payload = await net.link_payload("western.librarian", copy["linkedFrom"]["ref"])
    # Then the link is refused, and (a re-link being a refresh) the copy says so, data kept
    assert [e["code"] for e in payload["errors"]] == ["SOURCE_RESTRICTED"]
    read = await net.read("western.librarian", copy["id"])
    assert read is not None
    assert read["linkedFrom"]["status"] == "SOURCE_UNAVAILABLE"
    assert data_of(read) == data_of(copy)


# ---------------------------------------------------------------- photos

PHOTO = "query($id: ID!) { node(id: $id) { ... on Patron { photo { contentType width height } } } }"
SET_PHOTO = """mutation($id: ID!, $file: Upload!) {
  setPatronPhoto(input: {patronId: $id, file: $file}) { patron { id } errors { code message } }
}"""
REMOVE_PHOTO = """mutation($id: ID!) {
  removePatronPhoto(input: {patronId: $id}) { patron { id } errors { code message } }
}"""


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


async def set_photo(net: Net, username: str, patron_id: str, data: bytes) -> None:
    operations = {"query": SET_PHOTO, "variables": {"id": patron_id, "file": None}}
    response = await net.gql.http.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": ("photo.png", data, "image/png")},
        headers={"authorization": f"Bearer {await net.token(username)}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["setPatronPhoto"]["errors"] == []


async def photo_of(net: Net, username: str, patron_id: str) -> Any:
    data = await net.gql.ok(PHOTO, {"id": patron_id}, await net.token(username))
    return data["node"]["photo"]


async def test_the_photo_travels_only_when_shared(net: Net) -> None:
    # Given an EASTERN patron with a photo, linked by WESTERN (photos are not shared by default)
    source = await net.eastern_source(16)
    await set_photo(net, "eastern.admin", source["id"], png((40, 30)))
    copy = await net.find_and_link("western.librarian", "TEST-EU0016")
    assert await photo_of(net, "western.librarian", copy["id"]) is None
    # When EASTERN shares photos
    await net.set_shared("eastern.admin", "EASTERN", PHOTO=True)
    # Then the copy has the photo at once, and follows a new one
    shown = {"contentType": "image/jpeg", "width": 40, "height": 30}
    assert await photo_of(net, "western.librarian", copy["id"]) == shown
    await set_photo(net, "eastern.admin", source["id"], png((64, 48)))
    assert await photo_of(net, "western.librarian", copy["id"]) == {
        **shown,
        "width": 64,
        "height": 48,
    }
    # When EASTERN removes the photo, or stops sharing photos, the copy has none
    data = await net.gql.ok(REMOVE_PHOTO, {"id": source["id"]}, await net.token("eastern.admin"))
    assert data["removePatronPhoto"]["errors"] == []
    assert await photo_of(net, "western.librarian", copy["id"]) is None
    await set_photo(net, "eastern.admin", source["id"], png((10, 10)))
    assert (await photo_of(net, "western.librarian", copy["id"]))["width"] == 10
    await net.set_shared("eastern.admin", "EASTERN", PHOTO=False)
    assert await photo_of(net, "western.librarian", copy["id"]) is None
    # And the source keeps its own
    assert await photo_of(net, "eastern.admin", source["id"]) == {
        **shown,
        "width": 10,
        "height": 10,
    }
